"""Print the README's configuration tables from the settings, or rewrite them in the README.

    python scripts/settings_table.py                   # print both tables
    python scripts/settings_table.py --write README.md  # what `make settings-table` runs

tests/unit/test_settings_table.py fails when the README's tables differ from these.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's service

from forms_service.config import PREFIX, Settings

TABLES = ("settings", "production settings")


def settings_table(kind: str = "settings") -> str:
    """The README table of every setting (`settings`) or of the production ones, in Markdown."""
    production = kind == "production settings"
    rows = ["| setting | production value |" if production else "| setting | default | meaning |"]
    rows.append("|---|---|" if production else "|---|---|---|")
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        variable = f"`{PREFIX}{name.upper()}`"
        if production:
            if extra.get("production"):
                rows.append(f"| {variable} | {extra['production']} |")
            continue
        default = extra.get("shown") or _shown(field.default)
        rows.append(f"| {variable} | {default} | {field.description} |")
    return "\n".join(rows) + "\n"


def _shown(value: Any) -> str:
    if isinstance(value, str | Path):
        return f"`{value}`" if str(value) else "empty"
    return f"`{json.dumps(value)}`"


def _marker(kind: str, end: bool = False) -> str:
    return f"<!-- {'/' if end else ''}{kind} (make settings-table) -->"


def readme_with_tables(text: str) -> str:
    """`text` (the README) with each table between its markers rendered anew."""
    for kind in TABLES:
        start, end = _marker(kind), _marker(kind, end=True)
        before, found, rest = text.partition(start + "\n")
        _old, found_end, after = rest.partition(end)
        if not (found and found_end):
            raise ValueError(f"the README has no {start} … {end} markers")
        text = f"{before}{start}\n{settings_table(kind)}{end}{after}"
    return text


def main(argv: list[str]) -> int:
    """Print the tables, or with `--write README.md` rewrite them in that file."""
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        path.write_text(readme_with_tables(path.read_text()))
        return 0
    for kind in TABLES:
        sys.stdout.write(settings_table(kind) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
