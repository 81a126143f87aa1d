"""The ledger on the real databases: append-only events, the current state, bulk reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.consent.interfaces import ConsentState, ConsentView, customer_key
from forms_service.consent.ledger import ConsentEntry, ConsentLedger, Source, Wording
from forms_service.core.errors import InvalidInput
from forms_service.storage.consent import ConsentEvent, ConsentStateRow, ConsentText
from forms_service.storage.service import make_engine, make_session_factory

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
WORDING = Wording("J'accepte de recevoir des informations par e-mail", "fr")


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url, immediate=True)
    yield make_session_factory(engine)
    engine.dispose()


def _entry(key: str, state: ConsentState, at: dt.datetime, **kw: object) -> ConsentEntry:
    values: dict[str, object] = {
        "customer": key,
        "purpose": "commercial",
        "channel": "email",
        "state": state,
        "at": at,
        "source": Source.FORM,
        "wording": WORDING,
    }
    values.update(kw)
    return ConsentEntry(**values)  # type: ignore[arg-type]


def test_every_opt_in_and_opt_out_is_kept_and_the_latest_is_the_state(
    sessions: sessionmaker[Session],
) -> None:
    ledger = ConsentLedger(clock=lambda: T0)
    key = customer_key("crm", "customer", "C0001")
    with sessions() as session, session.begin():
        ledger.record(session, [_entry(key, ConsentState.GRANTED, T0)])
    with sessions() as session, session.begin():
        ledger.record(
            session,
            [
                _entry(
                    key,
                    ConsentState.WITHDRAWN,
                    T0 + dt.timedelta(days=3),
                    source=Source.UNSUBSCRIBE,
                    wording=None,
                ),
                # An older history imported after: kept in the events, the state stays.
                _entry(
                    key, ConsentState.GRANTED, T0 - dt.timedelta(days=400), source=Source.IMPORT
                ),
            ],
        )
    with sessions() as session:
        history = ledger.history(session, key)
        assert [(r.state, r.source) for r in history] == [
            (ConsentState.WITHDRAWN, "unsubscribe"),
            (ConsentState.GRANTED, "form"),
            (ConsentState.GRANTED, "import"),
        ]
        assert history[1].text == WORDING.text and history[1].text_hash == WORDING.hash
        assert ledger.states(session, [key, "crm/customer/none"], "commercial", "email") == {
            key: ConsentState.WITHDRAWN
        }
        assert ledger.states(session, [key], "commercial", "sms") == {}
        # The wording is stored once, however many events show it.
        assert session.scalar(select(func.count()).select_from(ConsentText)) == 1


def test_unknown_purpose_or_channel_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session],
) -> None:
    ledger = ConsentLedger(clock=lambda: T0)
    for bad in ({"purpose": "service"}, {"purpose": "partners"}, {"channel": "fax"}):
        with pytest.raises(InvalidInput), sessions() as session, session.begin():
            ledger.record(
                session,
                [
                    _entry("k/1/ok", ConsentState.GRANTED, T0),
                    _entry("k/1/x", ConsentState.GRANTED, T0, **bad),
                ],
            )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0


def test_a_campaign_reads_thousands_of_states_in_batches(sessions: sessionmaker[Session]) -> None:
    ledger: ConsentView = ConsentLedger(clock=lambda: T0)
    keys = [customer_key("crm", "customer", f"C{n:05d}") for n in range(2500)]
    entries = [
        _entry(k, ConsentState.GRANTED if n % 3 else ConsentState.WITHDRAWN, T0, wording=None)
        for n, k in enumerate(keys)
    ]
    # The same key twice in one batch: the later event wins (one state row per key).
    entries.append(_entry(keys[1], ConsentState.WITHDRAWN, T0))
    with sessions() as session, session.begin():
        assert isinstance(ledger, ConsentLedger)
        ids = ledger.record(session, entries)
    assert len(ids) == 2501 and ids == sorted(ids)
    with sessions() as session:
        states = ledger.states(session, [*keys, "crm/customer/nobody"], "commercial", "email")
        assert len(states) == 2500
        withdrawn = {k for k, s in states.items() if s is ConsentState.WITHDRAWN}
        assert withdrawn == {k for n, k in enumerate(keys) if n % 3 == 0} | {keys[1]}
        assert session.scalar(select(func.count()).select_from(ConsentStateRow)) == 2500


def test_unknown_customers_are_kept_and_reported(sessions: sessionmaker[Session]) -> None:
    ledger = ConsentLedger(clock=lambda: T0)
    with sessions() as session, session.begin():
        ledger.record(
            session,
            [
                _entry("crm/customer/GONE1", ConsentState.WITHDRAWN, T0, unknown_customer=True),
                _entry("crm/customer/C0002", ConsentState.GRANTED, T0),
            ],
        )
    with sessions() as session:
        assert ledger.unknown_customers(session) == (1, ["crm/customer/GONE1"])
        assert ledger.states(session, ["crm/customer/GONE1"], "commercial", "email") == {
            "crm/customer/GONE1": ConsentState.WITHDRAWN
        }


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_writers_on_the_same_customers_at_once_keep_the_latest_state(
    sessions: sessionmaker[Session],
) -> None:
    import threading

    ledger = ConsentLedger(clock=lambda: T0)
    keys = [customer_key("crm", "customer", f"C{n:05d}") for n in range(3000)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def write(state: ConsentState, at: dt.datetime) -> None:
        try:
            start.wait()
            for first in range(0, len(keys), 500):
                with sessions() as session, session.begin():
                    ledger.record(
                        session,
                        [_entry(k, state, at, wording=None) for k in keys[first : first + 500]],
                    )
        except BaseException as exc:  # reported below
            failures.append(exc)

    later = T0 + dt.timedelta(minutes=1)
    threads = [
        threading.Thread(target=write, args=(ConsentState.GRANTED, T0)),
        threading.Thread(target=write, args=(ConsentState.WITHDRAWN, later)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with sessions() as session:
        states = ledger.states(session, keys, "commercial", "email")
        events = session.scalar(select(func.count()).select_from(ConsentEvent))
    # Whatever order the transactions committed in: every event kept, the later one wins.
    assert events == 6000
    assert set(states.values()) == {ConsentState.WITHDRAWN} and len(states) == 3000
