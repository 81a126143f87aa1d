"""The round trips each public request makes to PostgreSQL stay few (what the load work cut).

A round trip is a statement, a BEGIN that psycopg sends before the first statement of a
transaction, or a COMMIT/ROLLBACK of a transaction that sent something. Counts before the work
(docs/load.md): form page opened again 9, first opening 18, submit 37, confirmation 8.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from psycopg import pq
from sqlalchemy import Engine, event

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.conftest import hidden_fields
from tests.prod_stack import moving_to_nantes

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


class Trips:
    """Round trips to the service database, and checkouts from its pool."""

    def __init__(self, engine: Engine) -> None:
        self.sent: list[str] = []
        self.checkouts = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._ending("COMMIT"))
        event.listen(engine, "rollback", self._ending("ROLLBACK"))
        event.listen(engine, "checkout", self._checkout)

    def _statement(self, connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        dbapi = connection.connection.dbapi_connection
        if not dbapi.autocommit and dbapi.info.transaction_status == pq.TransactionStatus.IDLE:
            self.sent.append("BEGIN")
        self.sent.append(sql.split(None, 1)[0])

    def _ending(self, word: str) -> Any:
        def end(connection: Any) -> None:
            status = connection.connection.dbapi_connection.info.transaction_status
            if status != pq.TransactionStatus.IDLE:
                self.sent.append(word)

        return end

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    def of(self, call: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[str], int]:
        """The response of `call`, the round trips it made and the connections it took."""
        self.sent, self.checkouts = [], 0
        response = call(*args, **kwargs)
        return response, self.sent, self.checkouts


@pytest.fixture
def trips(runtime: Runtime) -> Iterator[Trips]:
    """Counting on the runtime's own engine."""
    yield Trips(runtime.engine)


def _link(runtime: Runtime, form_id: str, key: str) -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "trips")
    return issued.link.removeprefix("http://localhost")


def test_a_form_page_opened_again_is_one_statement_on_one_connection(
    client: FlaskClient, runtime: Runtime, trips: Trips
) -> None:
    path = _link(runtime, "consent-preferences", "C000003")
    first, sent, taken = trips.of(client.get, path)
    assert first.status_code == 200
    # The link and its answers in one read; the first opening is one transaction (its status,
    # audit and history events); then the answer in progress, if any, is read (issue 15).
    assert sent[0] == "SELECT" and sent.count("BEGIN") == 1 and sent[-2] == "COMMIT", sent
    assert sent[-1] == "SELECT" and len(sent) <= 8 and taken <= 3, sent
    again, sent, taken = trips.of(client.get, path)
    assert again.status_code == 200
    assert sent == ["SELECT", "SELECT"] and taken <= 2


def test_an_answer_costs_a_bounded_number_of_round_trips(
    client: FlaskClient, runtime: Runtime, trips: Trips
) -> None:
    path = _link(runtime, "contact-update", "C000004")
    record = runtime.connectors["crm"].read("customer", "C000004")
    assert record is not None
    page, sent, _ = trips.of(client.get, path)
    assert page.status_code == 200 and sent == ["SELECT"]
    answer = {
        "csrf_token": hidden_fields(page.text)["csrf_token"],
        "birth_date": record["birth_date"].strftime("%d/%m/%Y"),
    }
    passed, sent, _ = trips.of(client.post, f"{path}/challenge", data=answer)
    # Right answers with no failure to reset: the link's read, and the history's
    # "identity answered" in one small transaction (issue 13).
    assert passed.status_code == 303 and sent == ["SELECT", "BEGIN", "INSERT", "COMMIT"], sent
    form = client.get(path)
    data = moving_to_nantes(hidden_fields(form.text), record)
    done, sent, taken = trips.of(client.post, path, data=data)
    assert done.status_code == 303
    # The answer, its change set and their audit events in one transaction.
    assert sent.count("BEGIN") == 1 and sent.count("COMMIT") == 1, sent
    # The document locked and its status set by one UPDATE ... RETURNING (a SELECT ... FOR
    # UPDATE and a later UPDATE before): one statement fewer.
    assert sent.count("UPDATE") == 1 and len(sent) <= 12 and taken <= 2, (sent, taken)
    confirmation, sent, _ = trips.of(client.get, done.headers["Location"])
    assert confirmation.status_code == 200 and "Nantes" in confirmation.text
    # The link and its answer, then the answer's change set (the receipt's "what happens
    # next", issue 15), and whether it can still be corrected (one statement, issue 15's
    # amendments): reads only, no transaction.
    assert set(sent) == {"SELECT"} and len(sent) <= 6, sent
