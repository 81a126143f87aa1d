"""Done when (issue 14): a campaign over the demo CRM is deferred and suppressed exactly as the
contact rules say, in the dry run and after sending, reconciled with a count made by hand.

The customers' past is made by real campaigns sent weeks before (so the caps count across
campaigns); the ledger is an in-memory view (the CRM's opt-in columns answer when it knows
nothing); the clock is a Tuesday morning in Paris.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.consent.gate import Gate
from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.consent.rules import parse_contact_rules
from forms_service.delivery import dashboard
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.history import document_history
from forms_service.delivery.interfaces import Channel, Purpose
from forms_service.delivery.letters import LetterPrints
from forms_service.delivery.reminders import DeliverySweep
from forms_service.runtime import Runtime
from forms_service.storage.messages import Message, MessageStatus
from forms_service.storage.model import Document
from forms_service.storage.pressure import ContactPressure
from tests.integration.delivery_support import REACHABLE, Delivery, edit_crm
from tests.integration.reviewing import add_user, english_client, sign_in

PARIS = dt.timezone(dt.timedelta(hours=1))  # December
#: Tuesday 8 December 2026, 10:00 in Paris.
TUESDAY = dt.datetime(2026, 12, 8, 10, 0, tzinfo=PARIS).astimezone(dt.UTC)
RULES = """\
time_zone: Europe/Paris
holidays: FR
caps:
  - {id: commercial-3-per-30d, purposes: [commercial], limit: 3, window_days: 30}
  - {id: commercial-sms-1-per-week, purposes: [commercial], channels: [sms], limit: 1,
     window_days: 7, over: suppress}
calendars:
  - id: commercial-sms-hours
    purposes: [commercial]
    channels: [sms]
    days: [mon, tue, wed, thu, fri, sat]
    hours: ["08:00-20:00"]
capacity:
  - {channel: sms, per_hour: 4}
"""
KEYS = [f"C{n:06d}" for n in range(1, 13)]
WINTER = CampaignOptions(channels=(Channel.SMS, Channel.EMAIL), purpose=Purpose.COMMERCIAL)


class Ledger:
    """An in-memory consent view: (customer, purpose, channel) -> state."""

    def __init__(self, states: Mapping[tuple[str, str, str], ConsentState]) -> None:
        self.known = dict(states)

    def states(
        self, session: Session, customers: Collection[str], purpose: str, channel: str
    ) -> Mapping[str, ConsentState]:
        """The known states of the customers."""
        return {
            c: self.known[(c, purpose, channel)]
            for c in customers
            if (c, purpose, channel) in self.known
        }


def _customer(key: str) -> str:
    return customer_key("crm", "customer", key)


@pytest.fixture
def delivery(runtime: Runtime, crm_url: str) -> Delivery:
    for key in KEYS:
        edit_crm(crm_url, key, **{**REACHABLE, "preferred_channel": "sms"})
    edit_crm(crm_url, "C000007", consent_sms=False, consent_email=False)
    edit_crm(crm_url, "C000009", phone=None, email=None)
    edit_crm(crm_url, "C000010", consent_sms=False)
    built = Delivery(runtime)
    ledger = Ledger(
        {
            (_customer("C000008"), "commercial", "sms"): ConsentState.WITHDRAWN,
            (_customer("C000010"), "commercial", "sms"): ConsentState.GRANTED,
        }
    )
    built.service.gate = Gate(parse_contact_rules(textwrap.dedent(RULES), "rules.yaml"), ledger)
    return built


def _past_campaign(
    delivery: Delivery,
    name: str,
    keys: list[str],
    channel: Channel,
    purpose: Purpose,
    at: dt.datetime,
) -> None:
    delivery.clock.now = at
    delivery.issue(keys, campaign=name)
    delivery.service.send_campaign(
        name, CampaignOptions(channels=(channel,), force=True, purpose=purpose)
    )
    assert set(delivery.run_jobs()) == {"sent"}


def _by_key(runtime: Runtime, campaign: str) -> dict[str, Message]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Document.record_key, Message)
            .join(Message, Message.document_id == Document.id)
            .where(Document.campaign == campaign)
        ).all()
        session.expunge_all()
    return {key: message for key, message in rows}


@pytest.mark.parametrize("batch", [1000, 3], ids=["one-batch", "batches-of-3"])
def test_a_campaign_is_deferred_and_suppressed_exactly_as_the_rules_say(
    delivery: Delivery,
    runtime: Runtime,
    app: Flask,
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In batches of 3, the capacity booked by one batch holds back the next (dry run too).
    monkeypatch.setattr("forms_service.delivery.service.SEND_BATCH", batch)
    monkeypatch.setattr("forms_service.delivery.service.DRY_RUN_BATCH", batch)
    day = dt.timedelta(days=1)
    # C4: three commercial e-mails in the last 30 days (three campaigns).
    _past_campaign(
        delivery, "p1", ["C000004"], Channel.EMAIL, Purpose.COMMERCIAL, TUESDAY - 25 * day
    )
    _past_campaign(
        delivery, "p2", ["C000004"], Channel.EMAIL, Purpose.COMMERCIAL, TUESDAY - 12 * day
    )
    # C5: a commercial SMS yesterday (Monday 10:00); C4 its third e-mail.
    _past_campaign(delivery, "p3", ["C000004"], Channel.EMAIL, Purpose.COMMERCIAL, TUESDAY - day)
    _past_campaign(delivery, "p4", ["C000005"], Channel.SMS, Purpose.COMMERCIAL, TUESDAY - day)
    # C6: three service e-mails this week: they do not count against commercial caps.
    for n in range(3):
        _past_campaign(
            delivery, f"s{n}", ["C000006"], Channel.EMAIL, Purpose.SERVICE, TUESDAY - (3 - n) * day
        )
    delivery.clock.now = TUESDAY
    delivery.issue(KEYS, campaign="winter")

    # The count by hand, customer by customer (all prefer SMS; the campaign: SMS, then e-mail):
    #   C1 C2 C3 C6 C11 C12: SMS now, but 4 an hour: 4 now, 2 the next hour (capacity);
    #   C10: the CRM says no SMS, the ledger says yes: SMS (so 7 SMS for the capacity: 4 + 3);
    #   C4: commercial 3/30d reached: deferred until its oldest (25 days ago) leaves the window,
    #       Sunday 13 December 10:00, a Sunday: no commercial SMS, so Monday 14 at 08:00;
    #   C5: the weekly commercial SMS was yesterday: suppressed (that rule suppresses);
    #   C7: no consent for SMS nor e-mail (CRM): suppressed by consent;
    #   C8: the ledger withdrew SMS: by e-mail, now;
    #   C9: no phone, no e-mail: unreachable.
    expected_sms = {
        "selected": 11,
        "sendable_now": 4,
        "capacity": 3,
        "deferred": 1,
        "suppressed_cap": 1,
        "suppressed_consent": 1,
        "unreachable": 1,
    }
    expected_email = {**dict.fromkeys(expected_sms, 0), "selected": 1, "sendable_now": 1}
    monday = dt.datetime(2026, 12, 14, 8, 0, tzinfo=PARIS).astimezone(dt.UTC)
    next_hour = TUESDAY + dt.timedelta(hours=1)

    dry = delivery.service.send_campaign("winter", WINTER, dry_run=True).as_dict()
    assert dry["gate"] == {"sms": expected_sms, "email": expected_email}
    assert dry["deferred_until"] == {
        "sms": {"first": next_hour.isoformat(), "last": monday.isoformat()}
    }
    assert dry["decisions"] == {
        "capacity: capacity-sms": 3,
        "frequency_capped: commercial-3-per-30d": 1,
        "frequency_capped: commercial-sms-1-per-week": 1,
    }
    assert _by_key(runtime, "winter") == {}

    plan = delivery.service.send_campaign("winter", WINTER).as_dict()
    assert plan["gate"] == dry["gate"] and plan["decisions"] == dry["decisions"]
    outcomes = delivery.run_jobs()
    assert outcomes.count("sent") == 5  # 4 SMS and C8's e-mail
    rows = _by_key(runtime, "winter")
    assert rows["C000008"].channel == "email" and rows["C000008"].status is MessageStatus.SENT
    assert rows["C000010"].channel == "sms"
    assert rows["C000005"].status is MessageStatus.SUPPRESSED
    assert rows["C000005"].reason == "frequency_capped"
    assert rows["C000004"].status is MessageStatus.QUEUED
    assert rows["C000004"].next_attempt_at == monday
    assert rows["C000007"].status is MessageStatus.UNREACHABLE  # not opted in: both channels
    assert "C000009" in {k for k, m in rows.items() if m.status is MessageStatus.UNREACHABLE}
    held = sorted(k for k, m in rows.items() if m.reason == "capacity")
    assert len(held) == 3 and all(rows[k].next_attempt_at == next_hour for k in held)

    # The history says which rule and which numbers.
    with runtime.sessions() as session:
        history = document_history(session, rows["C000004"].document_id)
        deferred = [e for e in history if e.kind == "deferred"]
        assert deferred[0].detail["text"] == "commercial 3/30d reached"
        assert deferred[0].detail["count"] == 3 and deferred[0].detail["limit"] == 3
        assert deferred[0].detail["until"] == monday.isoformat()
        funnel = dashboard.totals(dashboard.funnel(session, campaign="winter"))
        assert (funnel.deferred, funnel.suppressed) == (4, 1)
        assert funnel.held == {
            "capacity: capacity-sms": 3,
            "frequency_capped: commercial-3-per-30d": 1,
            "frequency_capped: commercial-sms-1-per-week": 1,
        }

    # The campaign's dashboard page counts them too.
    client = english_client(app)
    add_user(runtime, "manager", ["supervisor"])
    assert sign_in(client, "manager") == 303
    page = client.get("/backoffice/campaigns/winter").text
    assert '<strong data-overall="deferred">4</strong>' in page
    assert '<span data-overall="suppressed">1</span>' in page
    assert 'data-held="frequency_capped: commercial-3-per-30d">' in page

    # The next hour: the sweep hands the three held by capacity to jobs; the gate lets them go.
    delivery.clock.now = next_hour
    DeliverySweep(delivery.service).due_retries()
    assert delivery.run_jobs() == ["sent"] * 3
    # Sunday 13, noon: C4's oldest e-mail has left the window, but it is a Sunday.
    delivery.clock.now = dt.datetime(2026, 12, 13, 12, 0, tzinfo=PARIS).astimezone(dt.UTC)
    DeliverySweep(delivery.service).due_retries()
    assert delivery.run_jobs() == []
    delivery.clock.now = monday.astimezone(dt.UTC)
    DeliverySweep(delivery.service).due_retries()
    assert delivery.run_jobs() == ["sent"]

    # Reconciled: what went out is what the plan said, each counted once for the caps.
    rows = _by_key(runtime, "winter")
    sent = {k for k, m in rows.items() if m.status is MessageStatus.SENT}
    assert len(sent) == 4 + 3 + 1 + 1
    assert len(delivery.sms.sent) == 1 + 8  # p4's SMS, then the winter ones
    with runtime.sessions() as session:
        counted = set(
            session.scalars(
                select(ContactPressure.message_id).where(
                    ContactPressure.message_id.in_([rows[k].id for k in rows])
                )
            )
        )
    assert counted == {rows[k].id for k in sent}


def test_a_message_claimed_again_after_a_retry_is_counted_once(
    delivery: Delivery, runtime: Runtime
) -> None:
    from forms_service.delivery.interfaces import TemporaryFailure

    delivery.clock.now = TUESDAY
    delivery.issue(["C000001"], campaign="winter")
    delivery.service.send_campaign("winter", WINTER)
    delivery.sms.refuse["+33612345678"] = TemporaryFailure("gateway down")
    assert delivery.run_jobs() == ["retry"]
    del delivery.sms.refuse["+33612345678"]
    delivery.clock.advance(minutes=5)
    DeliverySweep(delivery.service).due_retries()
    # The weekly SMS cap (1) does not see the first attempt as another message.
    assert delivery.run_jobs() == ["sent"]
    with runtime.sessions() as session:
        assert len(list(session.scalars(select(ContactPressure)))) == 1


class _Killed(BaseException):
    """The worker dies in the middle of the hand-over (after the claim, before the record)."""


def test_a_crash_between_the_decision_and_the_send_loses_nothing_and_counts_once(
    delivery: Delivery, runtime: Runtime
) -> None:
    delivery.clock.now = TUESDAY
    delivery.issue(["C000001"], campaign="winter")
    delivery.service.send_campaign("winter", WINTER)
    delivery.sms.refuse["+33612345678"] = _Killed()  # type: ignore[assignment]
    with pytest.raises(_Killed):
        delivery.run_jobs()
    (row,) = _by_key(runtime, "winter").values()
    assert row.status is MessageStatus.SENDING  # claimed, decided, counted: not lost
    with runtime.sessions() as session:
        assert [p.message_id for p in session.scalars(select(ContactPressure))] == [row.id]
    # The sweep finds it cut short: unknown, never resent blindly; the provider's log says it
    # never left: queued again, sent, still counted once.
    delivery.jobs.jobs.clear()
    del delivery.sms.refuse["+33612345678"]
    delivery.clock.advance(minutes=20)
    assert DeliverySweep(delivery.service).stalled() == 1
    delivery.service.resolve_unknown(row.id, sent=False, actor="test")
    assert delivery.run_jobs() == ["sent"]
    with runtime.sessions() as session:
        assert [p.message_id for p in session.scalars(select(ContactPressure))] == [row.id]
    assert len(delivery.sms.sent) == 1


def test_a_consent_withdrawn_after_the_plan_stops_the_message_at_the_claim(
    delivery: Delivery, runtime: Runtime
) -> None:
    delivery.clock.now = TUESDAY
    delivery.issue(["C000001"], campaign="winter")
    delivery.service.send_campaign("winter", WINTER)
    ledger = delivery.service.gate.consent_view
    assert isinstance(ledger, Ledger)
    ledger.known[(_customer("C000001"), "commercial", "sms")] = ConsentState.WITHDRAWN
    assert delivery.run_jobs() == ["suppressed"]
    (row,) = _by_key(runtime, "winter").values()
    assert (row.status, row.reason) == (MessageStatus.SUPPRESSED, "consent_withdrawn")
    assert delivery.sms.sent == []
    with runtime.sessions() as session:
        (event,) = [e for e in document_history(session, row.document_id) if e.kind == "suppressed"]
    assert event.detail["reason"] == "consent_withdrawn"


def _print(delivery: Delivery, directory: Path) -> int:
    """A print run of the campaign's letters through the gate: how many were printed."""
    runtime = delivery.runtime
    prints = LetterPrints(
        runtime.sessions,
        runtime.printer,
        directory,
        clock=delivery.clock,
        delivery=delivery.service,
    )
    return prints.print_queued("post").printed


def test_letters_beyond_the_print_shop_s_day_wait_and_a_withdrawn_consent_stops_one(
    delivery: Delivery, runtime: Runtime, tmp_path: Path
) -> None:
    rules = "time_zone: Europe/Paris\ncapacity:\n  - {channel: letter, per_day: 2}\n"
    ledger = delivery.service.gate.consent_view
    delivery.service.gate = Gate(parse_contact_rules(rules, "rules.yaml"), ledger)
    delivery.clock.now = TUESDAY
    keys = ["C000001", "C000002", "C000003", "C000004"]
    delivery.issue(keys, campaign="post")
    letters = CampaignOptions(channels=(Channel.LETTER,), force=True, purpose=Purpose.COMMERCIAL)
    plan = delivery.service.send_campaign("post", letters)
    assert plan.gate["letter"]["sendable_now"] == 2 and plan.gate["letter"]["capacity"] == 2
    assert isinstance(ledger, Ledger)
    rows = _by_key(runtime, "post")
    now_keys = sorted(k for k, m in rows.items() if m.next_attempt_at is None)
    ledger.known[(_customer(now_keys[0]), "commercial", "letter")] = ConsentState.WITHDRAWN
    assert _print(delivery, tmp_path) == 1  # the other one of today's two
    rows = _by_key(runtime, "post")
    assert rows[now_keys[0]].status is MessageStatus.SUPPRESSED
    assert rows[now_keys[0]].reason == "consent_withdrawn"
    # The next day (midnight in Paris), the two held back by capacity are printed.
    delivery.clock.now = dt.datetime(2026, 12, 9, 0, 0, tzinfo=PARIS).astimezone(dt.UTC)
    assert _print(delivery, tmp_path) == 2
    assert Counter(m.status for m in _by_key(runtime, "post").values()) == {
        MessageStatus.SENT: 3,
        MessageStatus.SUPPRESSED: 1,
    }
