"""The REST connector against a real HTTP server: unavailability, ETag races, configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from forms_service.connectors.interfaces import FieldWrite, SourceUnavailable
from forms_service.connectors.rest import RestConnector
from forms_service.connectors.service import build_connectors
from forms_service.core.errors import ConfigurationError
from tests.rest_source import RestSource

RECORD = {"id": "K1", "city": "Lyon", "postcode": "69003", "birth": "1980-02-03"}


class RacingSource(RestSource):
    """A source where another writer changes the record just before the first PATCH lands."""

    def __init__(self, race: dict[str, Any]) -> None:
        super().__init__("people", "id", {"K1": RECORD})
        self.race = race
        self.raced = False

    def _handle(self, request: Request) -> Response:
        if request.method == "PATCH" and not self.raced:
            self.raced = True
            self.change("K1", **self.race)
        return super()._handle(request)


def _connector(source: RestSource) -> RestConnector:
    return RestConnector(
        "people-api",
        source.url + "/",
        {
            "person": {
                "path": "/people/",
                "key": "id",
                "columns": {"key": "id", "town": "city", "postcode": "postcode", "birth": "birth"},
            }
        },
        timeout=5,
    )


@pytest.fixture
def source() -> Iterator[RestSource]:
    served = RestSource("people", "id", {"K1": RECORD})
    served.start()
    yield served
    served.stop()


def test_logical_columns_map_to_json_members(source: RestSource) -> None:
    rest = _connector(source)
    assert rest.columns("person") == ("key", "town", "postcode", "birth")
    assert rest.read("person", "K1") == {
        "key": "K1",
        "town": "Lyon",
        "postcode": "69003",
        "birth": "1980-02-03",
    }
    assert rest.read_many("person", ["K9", "K1"]) == {"K1": rest.read("person", "K1")}
    assert rest.apply("person", "K1", {"town": FieldWrite("Lyon", "Bron")}).applied
    assert source.records["K1"]["city"] == "Bron"


def test_dates_are_sent_as_iso_strings(source: RestSource) -> None:
    rest = _connector(source)
    write = FieldWrite(dt.date(1980, 2, 3), dt.date(1981, 4, 5))
    assert rest.apply("person", "K1", {"birth": write}).applied
    assert source.records["K1"]["birth"] == "1981-04-05"


def test_server_errors_and_refused_connections_are_unavailability(source: RestSource) -> None:
    rest = _connector(source)
    source.down = True
    with pytest.raises(SourceUnavailable, match="503"):
        rest.read("person", "K1")
    with pytest.raises(SourceUnavailable):
        rest.apply("person", "K1", {"town": FieldWrite("Lyon", "Bron")})
    source.down = False
    source.stop()
    with pytest.raises(SourceUnavailable, match="cannot be reached"):
        rest.read("person", "K1")
    source.start()
    assert rest.read("person", "K1") is not None
    assert source.patches == 0


def test_a_412_on_another_member_is_retried_and_applied() -> None:
    racing = RacingSource({"postcode": "69100"})
    racing.start()
    try:
        rest = _connector(racing)
        assert rest.apply("person", "K1", {"town": FieldWrite("Lyon", "Bron")}).applied
        assert racing.records["K1"] == {**RECORD, "city": "Bron", "postcode": "69100"}
        assert racing.patches == 1
    finally:
        racing.stop()


def test_a_412_on_the_same_member_is_a_mismatch() -> None:
    racing = RacingSource({"city": "Caluire"})
    racing.start()
    try:
        rest = _connector(racing)
        result = rest.apply("person", "K1", {"town": FieldWrite("Lyon", "Bron")})
        assert not result.applied and dict(result.mismatches) == {"town": "Caluire"}
        assert racing.records["K1"]["city"] == "Caluire" and racing.patches == 0
    finally:
        racing.stop()


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ConfigurationError, match="needs 'path' and 'key'"):
        RestConnector("x", "http://127.0.0.1:9", {"person": {"path": "people"}})
    built = build_connectors(
        {
            "api": {
                "type": "rest",
                "url": "http://127.0.0.1:9",
                "record_types": {"p": {"path": "p", "key": "id"}},
            }
        }
    )
    assert isinstance(built["api"], RestConnector)
    with pytest.raises(ConfigurationError, match="known: sql, rest"):
        build_connectors({"x": {"type": "ftp"}})
    with pytest.raises(ConfigurationError, match="no record type"):
        built["api"].read("nope", "K1")
