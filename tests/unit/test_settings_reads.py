"""The service reads its settings as typed attributes, never by name with a default of its own."""

from __future__ import annotations

import re
from pathlib import Path

from forms_service.config import Settings

PACKAGE = Path(__file__).resolve().parents[2] / "forms_service"
#: `settings.get("X", default)`, `settings["X"]`, `config["X"]`, `config.get("X")`.
_BY_NAME = re.compile(r"""(settings|config)(\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")


def test_no_setting_is_read_by_name_outside_the_settings_module() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "config.py" and path.parent == PACKAGE:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in _BY_NAME.finditer(line):
                if match.group(1) == "settings" or match.group(3).lower() in Settings.model_fields:
                    found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "read `settings.<name>` instead:\n" + "\n".join(found)
