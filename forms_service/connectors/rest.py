"""A connector to a REST API holding records as JSON: GET to read, PATCH with If-Match to write.

Record type settings: `path` (collection path under the base URL, records at `path/<key>`),
`key` (the JSON member holding the key), optional `columns` (logical -> JSON member).
The collection answers GET with a JSON list of records (or {"items": [...]}). A record's
answer carries an ETag; PATCH sends it in If-Match and a 412 means someone wrote in between.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from forms_service.connectors.interfaces import (
    ApplyResult,
    Condition,
    FieldWrite,
    Selection,
    SelectionError,
    SourceUnavailable,
)
from forms_service.core.errors import ConfigurationError

#: Attempts of the read-compare-PATCH cycle when other writers keep changing the record.
_PATCH_ROUNDS = 3


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


class RestConnector:
    """Reads and writes records of a JSON REST API with optimistic concurrency (ETag)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        record_types: Mapping[str, Mapping[str, Any]],
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._config = record_types
        self.timeout = timeout
        self._http = http or requests.Session()
        self._http.headers.update({"Accept": "application/json", **(headers or {})})
        for record_type, config in record_types.items():
            if not config.get("path") or not config.get("key"):
                raise ConfigurationError(
                    f"connector {name!r}: record type {record_type!r} needs 'path' and 'key'"
                )

    # -- plumbing ------------------------------------------------------------------------

    def _type(self, record_type: str) -> Mapping[str, Any]:
        try:
            return self._config[record_type]
        except KeyError:
            raise ConfigurationError(
                f"connector {self.name!r} has no record type {record_type!r}"
            ) from None

    def _columns(self, record_type: str) -> Mapping[str, str]:
        columns = self._type(record_type).get("columns")
        if columns:
            return dict(columns)
        return {}

    def _url(self, record_type: str, key: str | None = None) -> str:
        path = str(self._type(record_type)["path"]).strip("/")
        url = f"{self.base_url}/{path}"
        return url if key is None else f"{url}/{quote(key, safe='')}"

    def _request(self, method: str, url: str, **options: Any) -> requests.Response:
        try:
            response = self._http.request(method, url, timeout=self.timeout, **options)
        except requests.RequestException as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc
        if response.status_code >= 500:
            raise SourceUnavailable(
                f"source {self.name!r} answered {response.status_code}; try again later"
            )
        return response

    def _logical(self, record_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        columns = self._columns(record_type)
        if not columns:
            return dict(body)
        return {logical: body.get(member) for logical, member in columns.items()}

    def _member(self, record_type: str, logical: str) -> str:
        columns = self._columns(record_type)
        if not columns:
            return logical
        try:
            return columns[logical]
        except KeyError:
            raise SelectionError(f"unknown column {logical!r}") from None

    def _fetch(self, record_type: str, key: str) -> tuple[dict[str, Any], str | None] | None:
        response = self._request("GET", self._url(record_type, key))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceUnavailable(f"source {self.name!r} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceUnavailable(f"source {self.name!r} did not answer JSON") from exc
        if not isinstance(body, dict):
            raise SourceUnavailable(f"source {self.name!r} did not answer a JSON object")
        return body, response.headers.get("ETag")

    # -- the protocol --------------------------------------------------------------------

    def record_types(self) -> Sequence[str]:
        """Configured record types."""
        return tuple(self._config)

    def columns(self, record_type: str) -> Sequence[str]:
        """Logical columns (configured, else those of the first record of the collection)."""
        columns = self._columns(record_type)
        if columns:
            return tuple(columns)
        for record in self._records(record_type):
            return tuple(record)
        return ()

    def read(self, record_type: str, key: str) -> Mapping[str, Any] | None:
        """One record by key (GET path/key), None on 404."""
        fetched = self._fetch(record_type, key)
        return None if fetched is None else self._logical(record_type, fetched[0])

    def read_many(self, record_type: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The records among `keys` that exist, one GET each.

        A REST API has no common batch read, and the collection GET would fetch every record.
        """
        found = {}
        for key in keys:
            record = self.read(record_type, key)
            if record is not None:
                found[key] = record
        return found

    def _records(self, record_type: str) -> list[dict[str, Any]]:
        response = self._request("GET", self._url(record_type))
        if response.status_code != 200:
            raise SourceUnavailable(f"source {self.name!r} answered {response.status_code}")
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        return [self._logical(record_type, item) for item in items if isinstance(item, dict)]

    def keys(self, record_type: str, selection: Selection) -> Iterator[str]:
        """Keys of the selected records, in key order (conditions: =, !=, ^=, <, <=, >, >=)."""
        key_member = str(self._type(record_type)["key"])
        key_column = next(
            (c for c, m in self._columns(record_type).items() if m == key_member), key_member
        )
        if not (selection.keys or selection.conditions or selection.all):
            return
        records = self._records(record_type)
        for condition in selection.conditions:
            if records and condition.column not in records[0]:
                raise SelectionError(f"unknown column {condition.column!r}")
        found = []
        for record in records:
            key = str(record.get(key_column))
            if selection.keys:
                if key in selection.keys:
                    found.append(key)
            elif all(_matches(record, c) for c in selection.conditions):
                found.append(key)
        yield from sorted(found)

    def apply(self, record_type: str, key: str, writes: Mapping[str, FieldWrite]) -> ApplyResult:
        """PATCH the new values with If-Match, only if every column holds its expected value.

        The record is read first: a column that no longer holds its expected value is a
        mismatch (nothing written). A 412 (someone wrote between the read and the PATCH)
        starts the cycle again.
        """
        for _ in range(_PATCH_ROUNDS):
            fetched = self._fetch(record_type, key)
            if fetched is None:
                return ApplyResult(applied=False, missing=True)
            body, etag = fetched
            current = self._logical(record_type, body)
            mismatches = {
                column: current.get(column)
                for column, write in writes.items()
                if current.get(column) != _json_value(write.expected)
            }
            if mismatches:
                return ApplyResult(applied=False, mismatches=mismatches)
            patch = {
                self._member(record_type, column): _json_value(write.new)
                for column, write in writes.items()
            }
            headers = {"If-Match": etag} if etag else {}
            response = self._request(
                "PATCH", self._url(record_type, key), json=patch, headers=headers
            )
            if response.status_code == 412:
                continue
            if response.status_code == 404:
                return ApplyResult(applied=False, missing=True)
            if response.status_code not in (200, 204):
                raise SourceUnavailable(
                    f"source {self.name!r} refused the write ({response.status_code})"
                )
            return ApplyResult(applied=True)
        raise SourceUnavailable(f"source {self.name!r} kept changing during the write")


def _matches(record: Mapping[str, Any], condition: Condition) -> bool:
    actual = record.get(condition.column)
    text = "" if actual is None else str(actual)
    value = condition.value
    match condition.op:
        case "=":
            return text == value
        case "!=":
            return text != value
        case "^=":
            return text.startswith(value)
        case "<":
            return text < value
        case "<=":
            return text <= value
        case ">":
            return text > value
        case ">=":
            return text >= value
    raise SelectionError(f"unknown operator {condition.op!r}")
