"""Field types shipped by another installed package: found through their entry point."""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.definitions.fieldtypes import (
    ENTRY_POINT_GROUP,
    FIELD_TYPES,
    register_installed_field_types,
    unregister_field_type,
)
from forms_service.definitions.service import DefinitionError, load_definitions
from tests.unit.definitions.test_definitions import CONNECTORS, VALID, write

#: A whole plug-in module: nothing of it is known to the service but its entry point.
PLUGIN = '''
"""A SIREN number (9 digits), as another package would ship it."""

from __future__ import annotations

import re

from forms_service.definitions.fieldtypes import FieldType, FieldValueError, WidgetKind


class SirenType(FieldType):
    name = "siren"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"

    def normalise(self, text, rules, choices):
        digits = re.sub(r"\\s", "", text)
        if not re.fullmatch(r"[0-9]{9}", digits):
            raise FieldValueError("pattern")
        return digits

    def comb_cells(self, rules):
        return 9


NOT_A_TYPE = object()
'''


def install(site: Path, entry_points: str) -> None:
    """A distribution installed in `site` as pip would leave it: module, METADATA, entry points."""
    (site / "acme_siren.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "acme_siren-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-siren\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    unregister_field_type("siren")
    sys.modules.pop("acme_siren", None)


def siren_form() -> dict[str, object]:
    form = copy.deepcopy(VALID)
    form["fields"] = [
        {
            "name": "siren",
            "type": "siren",
            "label": {"fr": "SIREN", "en": "SIREN"},
            "maps_to": "city",
            "policy": "review",
        }
    ]
    return form


def test_a_type_named_by_an_installed_package_is_loaded_with_the_definitions(
    site: Path, tmp_path: Path
) -> None:
    install(site, "siren = acme_siren:SirenType")
    assert "siren" not in FIELD_TYPES
    forms = tmp_path / "forms"
    forms.mkdir()
    write(forms, "siren", siren_form())
    loaded = load_definitions(forms, connectors=CONNECTORS)
    field = loaded["address-check"].field("siren")
    assert field.parse("732 829 320") == "732829320"
    assert field.type.comb_cells(field.rules) == 9
    assert register_installed_field_types() == []  # loading again is harmless


def test_a_broken_entry_point_is_a_definition_problem_naming_it(site: Path, tmp_path: Path) -> None:
    install(site, "siren = acme_siren:NOT_A_TYPE\nmissing = acme_nowhere:Type")
    forms = tmp_path / "forms"
    forms.mkdir()
    write(forms, "siren", siren_form())
    with pytest.raises(DefinitionError) as raised:
        load_definitions(forms, connectors=CONNECTORS)
    text = str(raised.value)
    assert "entry point 'siren' (acme_siren:NOT_A_TYPE): names no FieldType subclass" in text
    assert (
        "entry point 'missing' (acme_nowhere:Type): cannot be loaded: ModuleNotFoundError" in text
    )
