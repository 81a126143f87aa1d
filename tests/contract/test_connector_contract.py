"""One contract, every connector: in memory, SQL on SQLite and PostgreSQL, REST over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert

from forms_service.connectors.interfaces import Connector, FieldWrite, Selection
from forms_service.connectors.memory import InMemoryConnector
from forms_service.connectors.rest import RestConnector
from forms_service.connectors.sql import SqlConnector
from forms_service.storage.service import make_engine
from tests.rest_source import RestSource

COLUMNS = ("customer_no", "city", "postcode", "email", "phone")
RECORDS: dict[str, dict[str, Any]] = {
    "C1": {
        "customer_no": "C1",
        "city": "Lyon",
        "postcode": "69003",
        "email": "a@example.fr",
        "phone": None,
    },
    "C2": {
        "customer_no": "C2",
        "city": "Paris",
        "postcode": "75011",
        "email": "b@example.fr",
        "phone": "06 12 34 56 78",
    },
    "C3": {
        "customer_no": "C3",
        "city": "Lyon",
        "postcode": "69001",
        "email": None,
        "phone": None,
    },
}
TABLE = "contract_customers"
SQL_TYPES = {"customer": {"table": TABLE, "key": "customer_no", "columns": {c: c for c in COLUMNS}}}


def _sql_connector(url: str) -> SqlConnector:
    metadata = MetaData()
    table = Table(
        TABLE, metadata, *(Column(c, String(64), primary_key=c == "customer_no") for c in COLUMNS)
    )
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), list(RECORDS.values()))
    engine.dispose()
    return SqlConnector("crm", url, SQL_TYPES)


@pytest.fixture(
    params=[
        "memory",
        "sql-sqlite",
        pytest.param("sql-postgresql", marks=pytest.mark.postgres),
        "rest",
    ]
)
def connector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connector]:
    """Each connector holding RECORDS as record type `customer`."""
    if request.param == "memory":
        yield InMemoryConnector("crm", {"customer": RECORDS})
    elif request.param == "sql-sqlite":
        sql = _sql_connector(f"sqlite:///{tmp_path / 'source.sqlite'}")
        yield sql
        sql.engine.dispose()
    elif request.param == "sql-postgresql":
        sql = _sql_connector(request.getfixturevalue("postgres_database"))
        yield sql
        sql.engine.dispose()
    else:
        source = RestSource("customers", "customer_no", RECORDS)
        source.start()
        yield RestConnector(
            "crm",
            source.url,
            {
                "customer": {
                    "path": "customers",
                    "key": "customer_no",
                    "columns": {c: c for c in COLUMNS},
                }
            },
            timeout=5,
        )
        source.stop()


def test_record_types_and_columns(connector: Connector) -> None:
    assert "customer" in connector.record_types()
    assert set(COLUMNS) <= set(connector.columns("customer"))


def test_read_an_existing_and_a_missing_record(connector: Connector) -> None:
    record = connector.read("customer", "C2")
    assert record is not None
    assert {c: record[c] for c in COLUMNS} == RECORDS["C2"]
    assert connector.read("customer", "C9") is None


def test_keys_by_keys_by_conditions_and_all(connector: Connector) -> None:
    assert list(connector.keys("customer", Selection(all=True))) == ["C1", "C2", "C3"]
    assert list(connector.keys("customer", Selection(keys=("C3", "C1", "C9")))) == ["C1", "C3"]
    assert list(connector.keys("customer", Selection.parse_where("city=Lyon"))) == ["C1", "C3"]
    where = Selection.parse_where("city=Lyon and postcode^=69001")
    assert list(connector.keys("customer", where)) == ["C3"]
    assert list(connector.keys("customer", Selection.parse_where("city!=Lyon"))) == ["C2"]
    assert list(connector.keys("customer", Selection())) == []


def test_apply_writes_every_column_when_each_holds_its_expected_value(
    connector: Connector,
) -> None:
    result = connector.apply(
        "customer",
        "C1",
        {
            "city": FieldWrite(expected="Lyon", new="Villeurbanne"),
            "postcode": FieldWrite(expected="69003", new="69100"),
            "phone": FieldWrite(expected=None, new="+33612345678"),
        },
    )
    assert result.applied and not result.mismatches and not result.missing
    record = connector.read("customer", "C1")
    assert record is not None
    assert (record["city"], record["postcode"], record["phone"]) == (
        "Villeurbanne",
        "69100",
        "+33612345678",
    )
    assert record["email"] == "a@example.fr"  # untouched


def test_apply_writes_nothing_when_one_column_moved(connector: Connector) -> None:
    result = connector.apply(
        "customer",
        "C2",
        {
            "city": FieldWrite(expected="Paris", new="Lyon"),
            "email": FieldWrite(expected="old@example.fr", new="c@example.fr"),
        },
    )
    assert not result.applied and not result.missing
    assert dict(result.mismatches) == {"email": "b@example.fr"}
    record = connector.read("customer", "C2")
    assert record is not None
    assert {c: record[c] for c in COLUMNS} == RECORDS["C2"]


def test_apply_to_a_missing_record_says_so(connector: Connector) -> None:
    result = connector.apply("customer", "C9", {"city": FieldWrite(expected="Lyon", new="Nice")})
    assert not result.applied and result.missing


def test_a_second_delivery_sees_the_new_value_and_writes_nothing(connector: Connector) -> None:
    writes = {"city": FieldWrite(expected="Lyon", new="Nice")}
    assert connector.apply("customer", "C3", writes).applied
    again = connector.apply("customer", "C3", writes)
    assert not again.applied
    assert dict(again.mismatches) == {"city": "Nice"}
    record = connector.read("customer", "C3")
    assert record is not None and record["city"] == "Nice"
