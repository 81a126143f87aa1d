"""KannelProvider against a real Kannel: fakesmsc receives the SMS, DLRs come back through Kannel.

Also the faults of issue 13 point 9 on the gateway side: Kannel down is a TemporaryFailure, and
a bearerbox stopped and restarted in the middle of a batch loses no message and sends none
twice (its store keeps what it accepted; what it refused meanwhile is sent again by the
caller, as the job layer does), reconciled against what fakesmsc received.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import Counter

import pytest

from forms_service.delivery.interfaces import (
    OutgoingSms,
    PermanentFailure,
    Purpose,
    ReportStatus,
    SmsRendition,
    TemporaryFailure,
)
from forms_service.delivery.local_kannel import LocalKannel, ReceivedSms
from forms_service.delivery.providers.kannel import KannelProvider, KannelSettings
from forms_service.delivery.reports import parse_kannel_dlr
from tests.delivery_servers import free_port
from tests.integration.delivery.conftest import DlrReceiver

SECRET = b"dlr-secret-for-the-kannel-tests-0123456789"


def _provider(kannel: LocalKannel, dlr_url: str, **changes: object) -> KannelProvider:
    settings = KannelSettings(
        sendsms_url=kannel.sendsms_url,
        username=kannel.username,
        password=kannel.password,
        dlr_url=dlr_url,
        dlr_secret=SECRET,
        timeout=5,
    )
    return KannelProvider(KannelSettings(**{**settings.__dict__, **changes}))


def _sms(message_id: str, text: str, to: str = "06 12 34 56 78") -> OutgoingSms:
    return OutgoingSms(
        message_id=message_id,
        to=to,
        rendition=SmsRendition(text=text, sender="MUTUELLE", purpose=Purpose.SERVICE, locale="fr"),
    )


def _wait_received(kannel: LocalKannel, text: str, timeout: float = 15.0) -> ReceivedSms:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [sms for sms in kannel.received() if sms.text == text]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"fakesmsc did not receive {text!r}: {kannel.received()[-5:]}")


def test_an_sms_reaches_the_smsc_and_its_dlrs_come_back(
    kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    receiver, dlr_url = dlr_receiver
    provider = _provider(kannel, dlr_url)
    text = "Mutuelle Exemple : confirmez vos coordonnées avant le 31/12 https://f.example/r/Ab3"
    result = provider.send(_sms("k1", text))
    assert result.provider_ref == "k1"

    received = _wait_received(kannel, text)
    assert (received.sender, received.receiver, received.coding) == (
        "MUTUELLE",
        "+33612345678",
        "text",
    )
    submitted = parse_kannel_dlr(receiver.wait_for("k1", "8"), SECRET)
    delivered = parse_kannel_dlr(receiver.wait_for("k1", "1"), SECRET)
    assert (submitted.message_id, submitted.status) == ("k1", ReportStatus.ACCEPTED)
    assert (delivered.message_id, delivered.status) == ("k1", ReportStatus.DELIVERED)
    provider.close()


def test_a_text_outside_gsm_goes_as_ucs2(
    kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    provider = _provider(kannel, dlr_url=dlr_receiver[1])
    text = "Ελλάδα – Łódź : confirmez ✓"
    provider.send(_sms("k2", text, to="+44 7400 123456"))
    received = _wait_received(kannel, text)
    assert (received.coding, received.receiver) == ("ucs-2", "+447400123456")
    provider.close()


def test_one_connection_carries_many_requests(
    kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    provider = _provider(kannel, dlr_url=dlr_receiver[1])
    for n in range(10):
        provider.send(_sms(f"k3-{n}", f"message k3-{n}"))
    for n in range(10):
        _wait_received(kannel, f"message k3-{n}")
    provider.close()


def test_an_invalid_number_fails_permanently_before_kannel_is_asked(
    kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    # Pointed at a closed port: an invalid number must fail before any request.
    provider = _provider(kannel, dlr_receiver[1], sendsms_url=f"http://127.0.0.1:{free_port()}/")
    for number in ("", "12", "06 12 34", "+33 1", "not a number", "+999 123456789"):
        with pytest.raises(PermanentFailure, match="invalid_number"):
            provider.send(_sms("k4", "x", to=number))


def test_kannel_down_or_wrong_credentials_are_temporary(
    kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    down = _provider(kannel, dlr_receiver[1], sendsms_url=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(TemporaryFailure, match="kannel_unreachable"):
        down.send(_sms("k5", "x"))
    wrong = _provider(kannel, dlr_receiver[1], password="wrong")
    with pytest.raises(TemporaryFailure) as refused:
        wrong.send(_sms("k5", "x"))
    assert refused.value.params["status"] == 403
    wrong.close()


def test_messages_accepted_while_the_smsc_is_away_survive_a_bearerbox_restart(
    own_kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    receiver, dlr_url = dlr_receiver
    own_kannel.start(smsc=False)  # the SMSC is away: bearerbox keeps what it accepts
    provider = _provider(own_kannel, dlr_url)
    ids = [f"k6-{n}" for n in range(5)]
    for message_id in ids:
        provider.send(_sms(message_id, f"stored {message_id}"))
    assert "store size 5" in own_kannel.status()
    own_kannel.stop_bearerbox(signal.SIGKILL)  # a crash, not an orderly stop
    own_kannel.start_bearerbox()
    own_kannel.start_smsc()
    for message_id in ids:
        receiver.wait_for(message_id, "1")
    texts = Counter(sms.text for sms in own_kannel.received())
    assert texts == Counter(f"stored {m}" for m in ids)
    provider.close()


def test_a_bearerbox_restart_mid_batch_sends_every_message_once(
    own_kannel: LocalKannel, dlr_receiver: tuple[DlrReceiver, str]
) -> None:
    """sent = delivered + failed + pending, reconciled with fakesmsc's own log."""
    receiver, dlr_url = dlr_receiver
    own_kannel.start()
    # Closed whatever happens: a socket left open fails a later test with a ResourceWarning.
    with contextlib.closing(_provider(own_kannel, dlr_url, timeout=2)) as provider:
        ids = [f"k7-{n:02d}" for n in range(30)]
        temporary_failures = 0
        restarter: threading.Thread | None = None
        for position, message_id in enumerate(ids):
            if position == 10:
                own_kannel.stop_bearerbox()
                restarter = threading.Thread(target=_restart_later, args=(own_kannel,))
                restarter.start()
            deadline = time.monotonic() + 60
            while True:  # what the job layer does: retry a temporary failure later
                try:
                    provider.send(_sms(message_id, f"batch {message_id}"))
                    break
                except TemporaryFailure:
                    temporary_failures += 1
                    assert time.monotonic() < deadline, "Kannel did not come back"
                    time.sleep(0.2)
        assert restarter is not None
        restarter.join()
        assert temporary_failures > 0  # the gateway really was down for some of them
        for message_id in ids[10:]:  # sent after the restart: each one delivered and reported
            receiver.wait_for(message_id, "1")
        texts = Counter(sms.text for sms in own_kannel.received())
        assert texts == Counter(f"batch {m}" for m in ids)  # every one, none twice
        delivered = Counter(
            call["m"] for call in receiver.calls if call.get("type") == "1" and call["m"] in ids
        )
        assert all(count == 1 for count in delivered.values())  # no report twice
        # Sent before the stop: delivered, or pending when the stop came before the SMSC's
        # reports (bearerbox keeps its DLRs in memory): then in fakesmsc's log all the same (the
        # texts above). sent = delivered + pending, none lost, none twice.
        pending = [m for m in ids if m not in delivered]
        assert set(pending) <= set(ids[:10]), pending
        assert len(delivered) + len(pending) == len(ids)


def _restart_later(kannel: LocalKannel) -> None:
    time.sleep(1.5)
    kannel.start_bearerbox()
    kannel.start_smsc()
