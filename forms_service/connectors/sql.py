"""A connector to any SQL database SQLAlchemy can reach, with optimistic writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import NoSuchTableError, OperationalError

from forms_service.connectors.interfaces import (
    ApplyResult,
    FieldWrite,
    Selection,
    SelectionError,
    SourceUnavailable,
)
from forms_service.core.errors import ConfigurationError
from forms_service.storage.service import autocommit, make_engine

#: Keys per query of read_many: far below every database's limit on bound parameters.
READ_MANY_CHUNK = 500


@dataclass(frozen=True)
class RecordMapping:
    """A record type: its table, key column, and logical -> physical column names."""

    table: str
    key: str
    columns: Mapping[str, str]


class SqlConnector:
    """Reads and writes records of SQL tables (SQLAlchemy Core, any database URL)."""

    def __init__(self, name: str, url: str, record_types: Mapping[str, Mapping[str, Any]]) -> None:
        self.name = name
        self._url = url
        self._engine: Engine | None = None
        self._config = record_types
        self._tables: dict[str, tuple[Table, RecordMapping]] = {}
        self._reads: dict[str, Select[Any]] = {}

    @property
    def engine(self) -> Engine:
        """The engine, created on first use."""
        if self._engine is None:
            self._engine = make_engine(self._url)
        return self._engine

    def record_types(self) -> Sequence[str]:
        """Configured record types."""
        return tuple(self._config)

    def _table(self, record_type: str) -> tuple[Table, RecordMapping]:
        if record_type in self._tables:
            return self._tables[record_type]
        try:
            config = self._config[record_type]
        except KeyError:
            raise ConfigurationError(
                f"connector {self.name!r} has no record type {record_type!r}"
            ) from None
        try:
            table = Table(config["table"], MetaData(), autoload_with=self.engine)
        except NoSuchTableError:
            raise ConfigurationError(
                f"connector {self.name!r}: table {config['table']!r} does not exist"
            ) from None
        except OperationalError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc
        columns = dict(config.get("columns") or {c.name: c.name for c in table.columns})
        mapping = RecordMapping(table=config["table"], key=config["key"], columns=columns)
        for logical, physical in [("key", mapping.key), *columns.items()]:
            if physical not in table.columns:
                raise ConfigurationError(
                    f"connector {self.name!r}: column {physical!r} ({logical}) is not in "
                    f"table {mapping.table!r}"
                )
        self._tables[record_type] = (table, mapping)
        return table, mapping

    def columns(self, record_type: str) -> Sequence[str]:
        """Logical columns of a record type."""
        return tuple(self._table(record_type)[1].columns)

    def _column(self, table: Table, mapping: RecordMapping, logical: str) -> Column[Any]:
        if logical == mapping.key or logical in ("key",):
            return table.c[mapping.key]
        try:
            return table.c[mapping.columns[logical]]
        except KeyError:
            raise SelectionError(f"unknown column {logical!r}") from None

    def read(self, record_type: str, key: str) -> Mapping[str, Any] | None:
        """One record by key, None when absent."""
        query = self._reads.get(record_type)
        if query is None:  # built once: the statement is the same for every key
            table, mapping = self._table(record_type)
            query = self._reads[record_type] = select(
                *(table.c[p].label(name) for name, p in mapping.columns.items())
            ).where(table.c[mapping.key] == bindparam("key", type_=table.c[mapping.key].type))
        try:
            # One statement: no transaction around it (no BEGIN and ROLLBACK round trips).
            with autocommit(self.engine).connect() as connection:
                row = connection.execute(query, {"key": key}).mappings().first()
        except OperationalError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc
        return dict(row) if row is not None else None

    def read_many(self, record_type: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The records among `keys` that exist: one query per READ_MANY_CHUNK keys."""
        table, mapping = self._table(record_type)
        key_column = table.c[mapping.key]
        names = list(mapping.columns)
        columns = [table.c[mapping.columns[name]] for name in names]
        wanted = set(keys)
        found: dict[str, Mapping[str, Any]] = {}
        try:
            with self.engine.connect() as connection:
                for start in range(0, len(keys), READ_MANY_CHUNK):
                    chunk = list(keys[start : start + READ_MANY_CHUNK])
                    query = select(key_column, *columns).where(key_column.in_(chunk))
                    for row in connection.execute(query):
                        key = str(row[0])
                        if key in wanted:  # a key compared by the database's collation
                            found[key] = dict(zip(names, row[1:], strict=True))
        except OperationalError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc
        return {key: found[key] for key in keys if key in found}

    def keys(self, record_type: str, selection: Selection) -> Iterator[str]:
        """Stream the keys of the selected records, in key order, without loading them all."""
        table, mapping = self._table(record_type)
        key_column = table.c[mapping.key]
        query = select(key_column).order_by(key_column)
        if selection.keys:
            query = query.where(key_column.in_(selection.keys))
        elif selection.conditions:
            query = query.where(
                and_(*(self._condition(table, mapping, c) for c in selection.conditions))
            )
        elif not selection.all:
            return
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=500).execute(
                    query
                )
                for (value,) in result:
                    yield str(value)
        except OperationalError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc

    def _condition(
        self, table: Table, mapping: RecordMapping, condition: Any
    ) -> ColumnElement[bool]:
        column = self._column(table, mapping, condition.column)
        value = condition.value
        result: ColumnElement[bool]
        match condition.op:
            case "=":
                result = column == value
            case "!=":
                result = column != value
            case "<":
                result = column < value
            case "<=":
                result = column <= value
            case ">":
                result = column > value
            case ">=":
                result = column >= value
            case "^=":
                escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                result = column.like(escaped + "%", escape="\\")
            case _:
                raise SelectionError(f"unknown operator {condition.op!r}")
        return result

    def apply(self, record_type: str, key: str, writes: Mapping[str, FieldWrite]) -> ApplyResult:
        """Write every column, only where each still holds its expected value."""
        table, mapping = self._table(record_type)
        guards = [table.c[mapping.key] == key]
        for logical, write in writes.items():
            column = self._column(table, mapping, logical)
            guards.append(column.is_(None) if write.expected is None else column == write.expected)
        statement = (
            update(table)
            .where(and_(*guards))
            .values({mapping.columns[name]: w.new for name, w in writes.items()})
        )
        try:
            with self.engine.begin() as connection:
                if connection.execute(statement).rowcount == 1:
                    return ApplyResult(applied=True)
        except OperationalError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached") from exc
        current = self.read(record_type, key)
        if current is None:
            return ApplyResult(applied=False, missing=True)
        mismatches = {
            logical: current.get(logical)
            for logical, write in writes.items()
            if current.get(logical) != write.expected
        }
        return ApplyResult(applied=False, mismatches=mismatches)
