"""The organisation's file: what customers' pages need, checked at start like definitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from forms_service.definitions.organisation import NEUTRAL, contrast, load_organisation
from forms_service.definitions.service import DefinitionError

SHIPPED = Path(__file__).parents[3] / "form_definitions" / "organisation"


def _folder(tmp_path: Path, **changes: object) -> Path:
    """A definitions folder with the shipped organisation, `changes` applied (None deletes)."""
    folder = tmp_path / "organisation"
    shutil.copytree(SHIPPED, folder)
    raw = yaml.safe_load((folder / "organisation.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    (folder / "organisation.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return tmp_path


def _problems(directory: Path) -> str:
    with pytest.raises(DefinitionError) as caught:
        load_organisation(directory)
    return str(caught.value)


def test_the_shipped_organisation_loads_in_both_languages() -> None:
    organisation = load_organisation(SHIPPED.parent)
    assert organisation.name_in("fr") == organisation.name_in("en") == "Mutuelle Horizon"
    assert organisation.logo is not None and organisation.logo.is_absolute()
    assert organisation.hours_in("en").startswith("Monday to Friday")
    assert [s.title["fr"] for s in organisation.privacy][:2] == [
        "Qui traite vos données",
        "Pourquoi",
    ]


def test_without_a_file_pages_get_a_neutral_name_but_production_refuses(tmp_path: Path) -> None:
    assert load_organisation(tmp_path) is NEUTRAL
    with pytest.raises(DefinitionError, match="missing: customers' pages need"):
        load_organisation(tmp_path, required=True)


def test_a_colour_without_enough_contrast_is_refused_with_its_ratio(tmp_path: Path) -> None:
    problems = _problems(_folder(tmp_path, colour="#ffbf47"))
    assert "'colour' #ffbf47 has a contrast of 1.6" in problems and "4.5:1" in problems
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_every_missing_part_of_the_notices_is_named(tmp_path: Path) -> None:
    privacy = yaml.safe_load((SHIPPED / "organisation.yaml").read_text(encoding="utf-8"))["privacy"]
    del privacy["dpo"]
    privacy["rights"]["text"] = {"fr": "Vos droits"}
    problems = _problems(_folder(tmp_path, privacy=privacy, contact={"hours": "9-18"}))
    assert "'privacy.dpo' is missing" in problems
    assert "'privacy.rights.text' has no en text" in problems
    assert "'contact' needs a phone, an e-mail or a postal address" in problems


def test_a_logo_with_a_script_or_outside_its_folder_is_refused(tmp_path: Path) -> None:
    directory = _folder(tmp_path)
    (directory / "organisation" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>', encoding="utf-8"
    )
    assert "must not hold scripts" in _problems(directory)
    assert "file name beside" in _problems(_folder(tmp_path / "b", logo="../secret.svg"))
    assert "SVG or PNG" in _problems(_folder(tmp_path / "c", logo="logo.gif"))
