"""The migration scripts: one head, and each revision standing on its own (no live imports)."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.script import ScriptDirectory

from forms_service.storage import migrate

VERSIONS = migrate.MIGRATIONS / "versions"


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


def test_there_is_exactly_one_head() -> None:
    heads = _script().get_heads()
    assert len(heads) == 1, (
        f"migrations have {len(heads)} heads {sorted(heads)}: a new revision goes on the head "
        "(`down_revision` = the current head), or merge them with `alembic merge heads`"
    )


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_revisions_import_nothing_of_the_service() -> None:
    """A revision runs the schema of its day: a live module that changes would change it."""
    revisions = sorted(VERSIONS.glob("*.py"))
    assert revisions
    for path in revisions:
        live = {
            module
            for module in _imported_modules(path)
            if module.split(".")[0] in {"forms_service", "ocr", "tests"}
        }
        assert not live, f"{path.name} imports {sorted(live)}: copy what it needs into it"
