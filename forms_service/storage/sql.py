"""SQL the models' queries share beyond what SQLAlchemy writes alike on every database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class unindexed(FunctionElement[Any]):
    """`column` as a value whose index the query planner must not search.

    SQLite, without statistics, prefers an index on an equality (`status = 'queued'`) over
    the primary key of an IN list (`id IN (…)`), and so reads every queued row of a
    campaign to update ten of them. `+column`, SQLite's documented way to disqualify a
    term ("Disqualifying WHERE clause terms using unary-'+'"), leaves it the primary key; on
    other databases the column is written as is (their planners keep statistics).
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any]) -> None:
        super().__init__(column)
        self.type = column.type


def _column(element: unindexed) -> ColumnElement[Any]:
    (column,) = element.clauses
    return column


@compiles(unindexed)
def _plain(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(_column(element), **kw)


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(_column(element), **kw)
