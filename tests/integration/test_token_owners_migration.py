"""Revision 0019 on existing rows: approvals get their persons, old tokens stay ownerless."""

from __future__ import annotations

from sqlalchemy import select

from forms_service.storage import migrate
from forms_service.storage.model import ApiToken, FieldChangeRow, User
from forms_service.storage.service import make_engine
from tests.integration.test_answer_origin_migration import NOW, _answer, _table


def test_approvals_get_their_persons_by_username_and_tokens_no_owner(
    empty_database_url: str,
) -> None:
    migrate.upgrade(empty_database_url, "0018_scan_reason_detail")
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        for table, values in _answer(1, "online", None):
            connection.execute(table.insert().values(**values))
        change_set = next(v["id"] for t, v in _answer(1, "online", None) if t.name == "change_sets")
        connection.execute(
            _table(User)
            .insert()
            .values(
                id=41, username="clerk1", password_hash="x", roles="clerk", active=True,
                failed_logins=0, created_at=NOW,
            )
        )  # fmt: skip
        connection.execute(
            _table(ApiToken)
            .insert()
            .values(name="bot", token_hash="0" * 64, roles="clerk", created_at=NOW)
        )
        for position, (field, first, second) in enumerate(
            (("iban", "clerk1", None), ("mandate", "api:bot", "clerk1"), ("city", None, None))
        ):
            connection.execute(
                _table(FieldChangeRow)
                .insert()
                .values(
                    change_set_id=change_set, position=position, field=field, current_raw={},
                    outcome="change", policy="four_eyes", confidence=1.0, evidence={},
                    status="awaiting_second", first_reviewer=first, second_reviewer=second,
                )
            )  # fmt: skip
    engine.dispose()

    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        persons = {
            field: (first, second)
            for field, first, second in connection.execute(
                select(
                    FieldChangeRow.field,
                    FieldChangeRow.first_reviewer_id,
                    FieldChangeRow.second_reviewer_id,
                )
            )
        }
        token = connection.execute(
            select(ApiToken.owner_id, ApiToken.expires_at, ApiToken.last_used_at)
        ).one()
    engine.dispose()
    assert persons == {"iban": (41, None), "mandate": (None, 41), "city": (None, None)}
    assert tuple(token) == (None, None, None)
    migrate.downgrade(empty_database_url, "0018_scan_reason_detail")
