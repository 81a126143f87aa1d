"""Value types: raw source values through JSON, queue filters, back-off, what errors log."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy.exc import IntegrityError

from forms_service.changes.model import QueueFilter, Reviewer, decode_raw, encode_raw, error_kind
from forms_service.changes.outbox import RetryPolicy
from forms_service.connectors.interfaces import SourceUnavailable


@pytest.mark.parametrize(
    "value",
    [
        None,
        "12 rue des Lilas",
        True,
        42,
        1.5,
        dt.date(1980, 2, 29),
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        decimal.Decimal("12.30"),
    ],
)
def test_raw_values_survive_json(value: object) -> None:
    encoded = encode_raw(value)
    assert decode_raw(encoded) == value
    assert type(decode_raw(encoded)) is type(value)


def test_back_off_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(
        max_attempts=5, first_delay=dt.timedelta(seconds=30), max_delay=dt.timedelta(minutes=3)
    )
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 180, 180]
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


def test_queue_filter_checks_its_page() -> None:
    with pytest.raises(ValueError, match="limit"):
        QueueFilter(limit=0)
    with pytest.raises(ValueError, match="offset"):
        QueueFilter(offset=-1)


def test_errors_are_logged_without_values() -> None:
    database = IntegrityError("INSERT …", {"iban": "FR7630006000011234567890189"}, Exception())
    assert error_kind(database) == "IntegrityError"
    assert error_kind(SourceUnavailable("source 'crm' cannot be reached")) == (
        "SourceUnavailable: source 'crm' cannot be reached"
    )


def test_a_json_source_holding_the_new_date_counts_as_written() -> None:
    from forms_service.changes.outbox import _same

    assert _same("1981-04-05", dt.date(1981, 4, 5))
    assert _same(True, True) and not _same("true", True)
    assert not _same("1981-04-06", dt.date(1981, 4, 5))


def test_a_reviewer_is_the_same_person_by_user_id_whatever_the_name() -> None:
    web = Reviewer("clerk1", 7)
    token = Reviewer("clerk1", 7, via="api:clerk1-bot")
    assert token.is_(web.name, web.user_id)
    assert Reviewer("renamed", 7).is_("clerk1", 7)
    assert not Reviewer("clerk1", 8).is_("clerk1", 7)  # persons known: names do not count
    # A decision recorded without a person (before persons were, or a script): by name.
    assert Reviewer("alice", 7).is_("alice", None)
    assert not Reviewer("bob", 7).is_("alice", None)
    assert Reviewer.of("alice") == Reviewer("alice")
    assert Reviewer.of(web) is web
