"""The back office's and the mailroom's catalogue: complete in both languages, and enough."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from forms_service.i18n import LOCALES, office_text
from forms_service.office_messages import OFFICE

TEMPLATES = Path(__file__).resolve().parents[3] / "forms_service" / "web" / "templates"


def _parameters(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_parameters() -> None:
    assert set(LOCALES) == {"fr", "en"}
    for key, entry in OFFICE.items():
        assert set(entry) == set(LOCALES), key
        assert all(entry[locale].strip() for locale in LOCALES), key
        assert _parameters(entry["fr"]) == _parameters(entry["en"]), key


@pytest.mark.parametrize(
    "path",
    sorted([*TEMPLATES.glob("backoffice/*.html"), *TEMPLATES.glob("mailroom/*.html")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_message_a_template_names_is_in_the_catalogue(path: Path) -> None:
    named = re.findall(r"\bt\('([^']+)'", path.read_text(encoding="utf-8"))
    assert [key for key in named if key not in OFFICE] == []


def test_an_unknown_language_reads_french_and_an_unknown_key_fails_loudly() -> None:
    key = next(iter(OFFICE))
    assert office_text(key, "de") == OFFICE[key]["fr"]
    with pytest.raises(KeyError):
        office_text("no.such.message", "fr")
