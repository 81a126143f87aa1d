"""Look-alike letters of other scripts go to a clerk, never auto-applied (issue 18, point 5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from forms_service.changes.model import FieldDiff, Outcome, Route
from forms_service.changes.policy import PolicySettings
from forms_service.changes.scripts import mixed_scripts, scripts_of
from forms_service.changes.settlement import field_rows
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.model import Policy
from forms_service.definitions.service import load_definitions

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "scripts"),
    [
        ("Dupont", ()),
        ("Élodie Lefèvre-Ménard", ()),  # accents and hyphens are Latin
        ("D\u0075pont", ()),
        ("Dup\u043ent", ("Cyrillic", "Latin")),  # Cyrillic о
        ("P\u0430ris", ("Cyrillic", "Latin")),  # Cyrillic а
        ("Ίκαρος Smith", ("Greek", "Latin")),
        ("\uff24upont", ("Fullwidth", "Latin")),  # fullwidth Ｄ
        ("\U0001d403upont", ("Latin", "Mathematical")),  # mathematical bold D
        ("Иванов", ()),  # one script, not Latin: fine
        ("12 rue de l'Église, 3ᵉ étage", ()),  # modifier letter ᵉ: no script of its own
        ("山田 たろう", ()),  # Han and Hiragana are written together
        ("", ()),
        (None, ()),
    ],
)
def test_mixed_scripts(text: str | None, scripts: tuple[str, ...]) -> None:
    assert mixed_scripts(text) == scripts


def test_digits_and_punctuation_have_no_script() -> None:
    assert scripts_of("12-14, #5 (+33) &") == frozenset()


def test_an_auto_change_with_look_alike_letters_goes_to_a_clerk_with_its_reason() -> None:
    """Probe: `Dupоnt` with a Cyrillic 'о' would have been applied unseen on an auto field."""
    contact = load_definitions(SHIPPED, connectors={"crm": DEMO_CRM_RECORD_TYPES})["contact-update"]
    city = dataclasses.replace(contact.field("city"), policy=Policy.AUTO)
    definition = dataclasses.replace(
        contact, fields=tuple(city if f.name == "city" else f for f in contact.fields)
    )
    diffs = [
        FieldDiff("city", "Lyon", "Lyon", "Vill\u0435urbanne", Outcome.CHANGE, "Lyon"),
        FieldDiff("address_line", "1 rue A", "1 rue A", "2 rue B", Outcome.CHANGE, "1 rue A"),
    ]
    rows = field_rows(definition, diffs, {}, PolicySettings(), NOW)
    looked_at = rows[0]
    assert looked_at.policy == Route.REVIEW.value  # not auto, though its field is
    assert looked_at.verdict == "valid"  # flagged, not refused: a clerk may accept it
    assert looked_at.evidence["review_reason"] == "mixed_scripts"
    assert looked_at.evidence["scripts"] == ["Cyrillic", "Latin"]
    assert "review_reason" not in rows[1].evidence
    clean = [FieldDiff("city", "Lyon", "Lyon", "Villeurbanne", Outcome.CHANGE, "Lyon")]
    assert field_rows(definition, clean, {}, PolicySettings(), NOW)[0].policy == Route.AUTO.value
