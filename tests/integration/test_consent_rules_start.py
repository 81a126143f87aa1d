"""Bad contact rules are refused at start and by `definitions check`, naming file and line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forms_service.app import create_app
from forms_service.cli.definitions import definitions_check
from forms_service.definitions.service import DefinitionError
from tests.conftest import DEFINITIONS

BAD = """\
time_zone: Europe/Paris
caps:
  - {id: promo, purposes: [commercial], channels: [fax], limit: 2, window_days: 7}
  - {id: never, purposes: [commercial], limit: 0, window_days: 7}
"""


@pytest.fixture
def bad_definitions(tmp_path: Path) -> Path:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "consent" / "contact_rules.yaml").write_text(BAD, encoding="utf-8")
    return folder


def test_definitions_check_lists_each_problem_with_its_line(bad_definitions: Path) -> None:
    result = CliRunner().invoke(definitions_check, [str(bad_definitions)])
    assert result.exit_code == 1
    assert (
        "error: consent/contact_rules.yaml, line 3: unknown channel 'fax' "
        "(known: email, sms, letter)"
    ) in result.output
    assert "error: consent/contact_rules.yaml, line 4: cap 'never': 'limit' must be 1" in (
        result.output
    )


def test_the_service_does_not_start_on_bad_rules(
    app_settings: dict[str, Any], bad_definitions: Path
) -> None:
    with pytest.raises(DefinitionError) as refused:
        create_app({**app_settings, "DEFINITIONS_DIR": str(bad_definitions)})
    assert "consent/contact_rules.yaml, line 3: unknown channel 'fax'" in str(refused.value)
