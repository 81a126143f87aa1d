"""No code outside the field-type registry compares type names (issue 12, "one place per type").

Every per-type decision is an attribute or a method of the type (forms_service/definitions/
fieldtypes/); a comparison such as `type_name == "date"`, `kind in ("phone", "iban")` or a
template's `d.type_name == 'checkbox'` elsewhere is a decision a new type would miss. The
one exception is the frozen layout v1's own table of what it printed per type, by location.
"""

from __future__ import annotations

import re
from pathlib import Path

from forms_service.definitions.fieldtypes import FIELD_TYPES

ROOT = Path(__file__).resolve().parents[3]
SCANNED = (ROOT / "forms_service", ROOT / "ocr")
REGISTRY = ROOT / "forms_service" / "definitions" / "fieldtypes"
#: The frozen layout keeps its historical per-type choices in this table (and only there).
FROZEN_TABLE = (ROOT / "forms_service" / "issuing" / "layout_v1.py", "_FROZEN_COMBS: ")


def _patterns() -> list[re.Pattern[str]]:
    names = "|".join(sorted(map(re.escape, FIELD_TYPES), key=len, reverse=True))
    quoted = rf"""["']({names})["']"""
    return [
        re.compile(rf"(==|!=)\s*{quoted}"),  # x == "date"
        re.compile(rf"{quoted}\s*(==|!=)"),  # "date" == x
        re.compile(rf"\bin\s*[\(\[\{{][^\)\]\}}]*{quoted}"),  # x in ("phone", "iban")
        re.compile(r"type_name\s*(==|!=)"),  # any comparison of a type name
        re.compile(r"type_name\s+(not\s+)?in\s*[\(\[\{]"),  # ... or membership in a literal
        re.compile(rf"FIELD_TYPES\[\s*{quoted}\s*\]"),  # one type picked by its name
    ]


def _frozen_lines(path: Path, lines: list[str]) -> range:
    """The line numbers of the frozen table (from its opening line to its closing brace)."""
    if path != FROZEN_TABLE[0]:
        return range(0)
    start = next(i for i, line in enumerate(lines) if line.startswith(FROZEN_TABLE[1]))
    end = next(i for i in range(start, len(lines)) if lines[i] == "}")
    return range(start, end + 1)


def comparisons(paths: list[Path]) -> list[str]:
    """`path:line: text` of every type-name comparison in `paths` outside the registry."""
    patterns = _patterns()
    found = []
    for path in paths:
        if REGISTRY in path.parents:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        frozen = _frozen_lines(path, lines)
        for number, line in enumerate(lines):
            if number in frozen:
                continue
            if any(p.search(line) for p in patterns):
                shown = path.relative_to(ROOT) if ROOT in path.parents else path
                found.append(f"{shown}:{number + 1}: {line.strip()}")
    return found


def _sources() -> list[Path]:
    return sorted(
        path
        for directory in SCANNED
        for pattern in ("*.py", "*.html")
        for path in directory.rglob(pattern)
    )


def test_no_type_name_comparison_outside_the_registry() -> None:
    assert comparisons(_sources()) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'if field.type_name == "date":\n'
        "    pass\n"
        'if kind in ("phone", "iban"):\n'
        "    pass\n"
        "{% if d.type_name == 'checkbox' %}\n"
        'if "choice" != name:\n'
        '    columns = {"email": "email"}\n'
        'iban = FIELD_TYPES["iban"]\n',
        encoding="utf-8",
    )
    assert len(comparisons([sample])) == 5


def test_the_frozen_table_is_where_it_is_said_to_be() -> None:
    path, opening = FROZEN_TABLE
    lines = path.read_text(encoding="utf-8").splitlines()
    table = _frozen_lines(path, lines)
    assert len(table) > 2 and lines[table.start].startswith(opening)
