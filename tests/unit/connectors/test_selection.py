"""Selections (`--keys`, `--where`, `--all`): parsing, and what the connectors select with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert

from forms_service.connectors.interfaces import Condition, Connector, Selection, SelectionError
from forms_service.connectors.memory import InMemoryConnector
from forms_service.connectors.sql import SqlConnector
from forms_service.storage.service import make_engine

ROWS = [
    {"no": "C1", "city": "Lyon", "postcode": "69003", "name": "Dupont and Co"},
    {"no": "C2", "city": "Lyon", "postcode": "69100", "name": "Martin"},
    {"no": "C3", "city": "Paris", "postcode": "75011", "name": "Durand"},
    {"no": "C4", "city": "Saint-Étienne", "postcode": "42000", "name": "100% Bio"},
    {"no": "C5", "city": "Lyon_2", "postcode": "69002", "name": "O'Brien"},
]


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        ("city=Lyon", [("city", "=", "Lyon")]),
        ("  city = Lyon  ", [("city", "=", "Lyon")]),
        ("city=Lyon and postcode^=69", [("city", "=", "Lyon"), ("postcode", "^=", "69")]),
        ("city=Lyon AND postcode!=69003", [("city", "=", "Lyon"), ("postcode", "!=", "69003")]),
        (
            "postcode>=69000 and postcode<70000",
            [("postcode", ">=", "69000"), ("postcode", "<", "70000")],
        ),
        ("postcode<=1 and postcode>0", [("postcode", "<=", "1"), ("postcode", ">", "0")]),
        ("city='Saint-Étienne'", [("city", "=", "Saint-Étienne")]),
        (
            'name="Dupont and Co"',
            [("name", "=", "Dupont and Co")],
        ),  # regression: split inside quotes
        (
            "name='Dupont and Co' and city=Lyon",
            [("name", "=", "Dupont and Co"), ("city", "=", "Lyon")],
        ),
        ("city=Lyon andorra=1", [("city", "=", "Lyon andorra=1")]),
        ("name=a=b", [("name", "=", "a=b")]),
    ],
)
def test_where_expressions_are_parsed(text: str, conditions: list[tuple[str, str, str]]) -> None:
    parsed = Selection.parse_where(text)
    assert parsed.conditions == tuple(Condition(*c) for c in conditions)
    assert parsed.keys == () and not parsed.all


@pytest.mark.parametrize(
    "text",
    [
        "",
        "city",
        "city=",
        "=Lyon",
        "city=Lyon and and x=1",
        "city ~ Lyon",
        "1city=Lyon",
        "city=Lyon or city=Paris and x",
    ],
)
def test_unreadable_where_expressions_say_how_to_write_them(text: str) -> None:
    with pytest.raises(SelectionError, match="write column=value, joined by 'and'") as caught:
        Selection.parse_where(text)
    assert caught.value.status == 422


@pytest.fixture
def sql_connector(tmp_path: Path) -> Iterator[SqlConnector]:
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    engine = make_engine(url)
    metadata = MetaData()
    table = Table(
        "people",
        metadata,
        Column("no", String(8), primary_key=True),
        Column("city", String(32)),
        Column("postcode", String(8)),
        Column("name", String(32)),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), ROWS)
    engine.dispose()
    connector = SqlConnector(
        "src",
        url,
        {
            "person": {
                "table": "people",
                "key": "no",
                "columns": {"no": "no", "town": "city", "postcode": "postcode", "name": "name"},
            }
        },
    )
    yield connector
    connector.engine.dispose()


@pytest.fixture
def memory_connector() -> InMemoryConnector:
    records = {
        r["no"]: {"no": r["no"], "town": r["city"], "postcode": r["postcode"], "name": r["name"]}
        for r in ROWS
    }
    return InMemoryConnector("mem", {"person": records})


@pytest.fixture(params=["sql", "memory"])
def connector(request: pytest.FixtureRequest) -> Connector:
    found: Connector = request.getfixturevalue(f"{request.param}_connector")
    return found


def keys(connector: Connector, selection: Selection) -> list[str]:
    return list(connector.keys("person", selection))


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(keys=("C3", "C1", "C9")), ["C1", "C3"]),  # key order, unknown keys skipped
        (Selection(all=True), ["C1", "C2", "C3", "C4", "C5"]),
        (Selection(), []),  # an empty selection selects nothing, never everything
        (Selection.parse_where("town=Lyon"), ["C1", "C2"]),
        (Selection.parse_where("town=Lyon and postcode^=691"), ["C2"]),
        (Selection.parse_where("town!=Lyon"), ["C3", "C4", "C5"]),
        (Selection.parse_where("name='Dupont and Co'"), ["C1"]),
        (Selection.parse_where("town='Saint-Étienne'"), ["C4"]),
        (Selection.parse_where("no=C5"), ["C5"]),
    ],
)
def test_connectors_select_the_same_keys(
    connector: Connector, selection: Selection, expected: list[str]
) -> None:
    assert keys(connector, selection) == expected


def test_prefix_selection_treats_like_wildcards_as_text(sql_connector: SqlConnector) -> None:
    # `^=` is "starts with": % and _ in the value are literal characters, not SQL wildcards.
    assert keys(sql_connector, Selection.parse_where("name^=100%")) == ["C4"]
    assert keys(sql_connector, Selection.parse_where("name^=%")) == []
    assert keys(sql_connector, Selection.parse_where("town^=Lyon_")) == ["C5"]
    assert keys(sql_connector, Selection.parse_where("name^=O'")) == ["C5"]


def test_sql_comparisons_and_the_key_alias(sql_connector: SqlConnector) -> None:
    between = Selection.parse_where("postcode>=69000 and postcode<69100")
    assert keys(sql_connector, between) == ["C1", "C5"]
    assert keys(sql_connector, Selection.parse_where("key<=C2")) == ["C1", "C2"]


def test_an_unknown_column_is_a_selection_error(connector: Connector) -> None:
    with pytest.raises(SelectionError, match="unknown column 'city'"):
        keys(connector, Selection.parse_where("city=Lyon"))  # physical name, not the logical one


def test_records_are_read_by_logical_column(connector: Connector) -> None:
    record: dict[str, Any] | None = dict(connector.read("person", "C3") or {})
    assert record == {"no": "C3", "town": "Paris", "postcode": "75011", "name": "Durand"}
    assert connector.read("person", "C9") is None


def test_records_are_read_a_batch_at_a_time_like_one_by_one(connector: Connector) -> None:
    wanted = ["C3", "C9", "C1", "C5"]
    found = connector.read_many("person", wanted)
    assert list(found) == ["C3", "C1", "C5"]  # in the order asked, absent keys left out
    assert found == {key: connector.read("person", key) for key in ("C3", "C1", "C5")}
    assert connector.read_many("person", []) == {}


def test_sql_batch_reads_cut_long_key_lists_into_several_queries(
    sql_connector: SqlConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("forms_service.connectors.sql.READ_MANY_CHUNK", 2)
    found = sql_connector.read_many("person", ["C5", "C4", "C3", "C2", "C1", "C0"])
    assert list(found) == ["C5", "C4", "C3", "C2", "C1"]
    assert found["C4"] == {
        "no": "C4",
        "town": "Saint-Étienne",
        "postcode": "42000",
        "name": "100% Bio",
    }
