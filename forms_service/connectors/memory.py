"""An in-memory connector for fast unit tests and as the simplest reference implementation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from forms_service.connectors.interfaces import ApplyResult, FieldWrite, Selection, SelectionError


class InMemoryConnector:
    """Records held in dictionaries: {record_type: {key: {column: value}}}."""

    def __init__(self, name: str, records: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        self.name = name
        self.records = {t: {k: dict(r) for k, r in rs.items()} for t, rs in records.items()}
        self.available = True

    def record_types(self) -> Sequence[str]:
        """Record types held."""
        return tuple(self.records)

    def columns(self, record_type: str) -> Sequence[str]:
        """Columns of the first record of a type."""
        first = next(iter(self.records[record_type].values()), {})
        return tuple(first)

    def read(self, record_type: str, key: str) -> Mapping[str, Any] | None:
        """A copy of one record, None when absent."""
        record = self.records[record_type].get(key)
        return dict(record) if record is not None else None

    def read_many(self, record_type: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """Copies of the records among `keys` that exist."""
        held = self.records[record_type]
        return {key: dict(held[key]) for key in keys if key in held}

    def keys(self, record_type: str, selection: Selection) -> Iterator[str]:
        """Keys selected, in order (conditions: equality and prefix only)."""
        for key in sorted(self.records[record_type]):
            record = self.records[record_type][key]
            if selection.keys:
                if key in selection.keys:
                    yield key
            elif selection.conditions:
                if all(
                    self._matches(record, c.column, c.op, c.value) for c in selection.conditions
                ):
                    yield key
            elif selection.all:
                yield key

    @staticmethod
    def _matches(record: Mapping[str, Any], column: str, op: str, value: str) -> bool:
        if column not in record:
            raise SelectionError(f"unknown column {column!r}")
        actual = str(record[column])
        if op == "=":
            return actual == value
        if op == "^=":
            return actual.startswith(value)
        if op == "!=":
            return actual != value
        raise SelectionError(f"operator {op!r} is not supported here")

    def apply(self, record_type: str, key: str, writes: Mapping[str, FieldWrite]) -> ApplyResult:
        """Write all or nothing."""
        record = self.records[record_type].get(key)
        if record is None:
            return ApplyResult(applied=False, missing=True)
        mismatches = {c: record.get(c) for c, w in writes.items() if record.get(c) != w.expected}
        if mismatches:
            return ApplyResult(applied=False, mismatches=mismatches)
        for column, write in writes.items():
            record[column] = write.new
        return ApplyResult(applied=True)
