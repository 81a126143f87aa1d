"""The README's configuration tables are the settings object's, and nothing else is documented."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

from forms_service.config import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
readme_with_tables = runpy.run_path(str(ROOT / "scripts" / "settings_table.py"))[
    "readme_with_tables"
]
#: Where FORMS_* variables are set or explained for operators.
MENTIONS = ("README.md", "docker/compose.yaml", "docker/Dockerfile", "scripts/prod-local.sh")
NOT_SETTINGS = {"FORMS_CONFIG", "FORMS_TEST_POSTGRES_URL", "FORMS_TEST_REDIS_URL", "FORMS_TEST_"}


def test_the_readme_tables_are_rendered_from_the_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == readme_with_tables(readme), "run `make settings-table`"


def test_every_setting_is_documented_with_its_default_and_meaning() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no meaning"
        assert f"| `{PREFIX}{name.upper()}` |" in readme


def test_no_variable_is_mentioned_that_is_not_a_setting() -> None:
    for relative in MENTIONS:
        mentioned = set(re.findall(r"\bFORMS_[A-Z0-9_]+", (ROOT / relative).read_text()))
        unknown = {
            name
            for name in mentioned - NOT_SETTINGS
            if name.removeprefix(PREFIX).lower() not in Settings.model_fields
        }
        assert not unknown, f"{relative} mentions {sorted(unknown)}"
