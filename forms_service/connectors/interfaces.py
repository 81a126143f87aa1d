"""The connector protocol every source system adapter implements."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from forms_service.core.errors import FormsError


class SourceUnavailable(FormsError):
    """The source system cannot be reached now; try again later."""

    status = 503
    code = "source_unavailable"


class SelectionError(FormsError):
    """A selection expression that cannot be understood."""

    status = 422
    code = "bad_selection"


@dataclass(frozen=True)
class Condition:
    """`column op value` in a selection."""

    column: str
    op: str
    value: str


@dataclass(frozen=True)
class Selection:
    """Which records to issue to: explicit keys, conditions joined by AND, or all."""

    keys: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    all: bool = False

    _CONDITION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|=|<|>|\^=)\s*(.*?)\s*")
    OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "^=")

    @classmethod
    def parse_where(cls, text: str) -> Selection:
        """Parse `city=Lyon and postcode^=69`; `^=` means "starts with".

        Values may be quoted with single or double quotes. Raises SelectionError.
        """
        conditions = []
        # Split on "and" outside quotes only, so that name='Dupont and Co' stays one value.
        outside_quotes = r"""(?=(?:[^'"]|'[^']*'|"[^"]*")*$)"""
        for part in re.split(r"\s+and\s+" + outside_quotes, text.strip(), flags=re.IGNORECASE):
            match = cls._CONDITION.fullmatch(part)
            if not match or not match.group(3):
                raise SelectionError(
                    f"cannot read condition {part!r}: write column=value, joined by 'and' "
                    f"(operators {' '.join(cls.OPERATORS)})"
                )
            value = match.group(3)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            conditions.append(Condition(match.group(1), match.group(2), value))
        return cls(conditions=tuple(conditions))


@dataclass(frozen=True)
class FieldWrite:
    """One column to change: the value read from the source, and the new one."""

    expected: Any
    new: Any


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: everything, or nothing with the columns that no longer match."""

    applied: bool
    mismatches: Mapping[str, Any] = field(default_factory=dict)
    missing: bool = False


class Connector(Protocol):
    """An adapter to one source system (a SQL database, a REST API)."""

    name: str

    def record_types(self) -> Sequence[str]:
        """The record types this connector serves."""

    def columns(self, record_type: str) -> Sequence[str]:
        """The logical columns of a record type."""

    def read(self, record_type: str, key: str) -> Mapping[str, Any] | None:
        """The record with `key` (logical column -> source value), None when absent."""

    def read_many(self, record_type: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The records among `keys` that exist, by key (each as `read` gives it).

        A campaign reads its records a batch at a time: one query instead of one per record.
        """

    def keys(self, record_type: str, selection: Selection) -> Iterator[str]:
        """Keys of the selected records, streamed in key order."""

    def apply(self, record_type: str, key: str, writes: Mapping[str, FieldWrite]) -> ApplyResult:
        """Write all `writes` if every column still holds its expected value, else nothing."""
