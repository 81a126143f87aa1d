"""The covering letter: placeholders, the window address and errors that name the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from forms_service.definitions.service import load_definition
from forms_service.issuing.letter import LetterError, address_lines, fill, letter_of, parse_letter


def test_letter_placeholders_and_window_address() -> None:
    record = {
        "title": "Mme",
        "first_name": "Hélène",
        "last_name": "Lefèvre-Dupont de la Fontaine-Marchand",
        "address_line": "12 rue des Lilas",
        "address_extra": None,
        "postcode": "69003",
        "city": "Lyon",
    }
    template = parse_letter(None)
    lines = address_lines(template, record)
    assert lines[-1] == "69003 LYON"
    assert len(lines) == 3  # the empty complement is dropped
    assert all(len(line) <= 38 for line in lines)
    text = fill(
        "Bonjour {title} {last_name}, avant le {expires} ; {unknown}.",
        {
            **record,
            "expires": dt.date(2027, 1, 2),
        },
    )
    assert text.startswith("Bonjour Mme Lefèvre")
    assert "2 janvier 2027" in text
    assert text.endswith("; .")


def test_letter_errors_name_the_key() -> None:
    with pytest.raises(LetterError, match="sender"):
        parse_letter({"sender": "one line"})
    with pytest.raises(LetterError, match="unknown keys"):
        parse_letter({"footer": []})
    assert parse_letter({"body": {"fr": "x", "en": "y"}}).body_in("fr") == "x"


def test_a_letter_without_a_body_takes_the_messages_blocks_but_email_only_ones(
    tmp_path: Path,
) -> None:
    """The content is written once: the e-mail's paragraphs feed the letter."""
    shipped = Path(__file__).resolve().parents[3] / "form_definitions"
    raw = yaml.safe_load((shipped / "consent-preferences.yaml").read_text(encoding="utf-8"))
    del raw["letter"]["body"]
    path = tmp_path / "consent-preferences.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    definition, problems = load_definition(path)
    assert problems == [] and definition is not None
    letter = letter_of(definition)
    french = letter.body_in("fr")
    assert french.startswith("Bonjour {first_name} {last_name},\n\nVous décidez")
    assert "Horizon Santé" not in french  # the newsletter paragraph is `channels: [email]`
    assert "Choisir mes préférences" not in french  # the button is the e-mail's
    assert letter.body_in("en").startswith("Hello {first_name} {last_name},")
    filled = fill(
        french, {"first_name": "Ana", "last_name": "Roy", "deadline": dt.date(2027, 3, 1)}
    )
    assert "modifiables jusqu’au 1 mars 2027." in filled
    # A letter that gives its own body keeps it.
    own, _ = load_definition(shipped / "consent-preferences.yaml")
    assert own is not None
    assert letter_of(own).body_in("fr").startswith("{title} {last_name},")
