"""The covering letter: placeholders, the window address and errors that name the key."""

from __future__ import annotations

import datetime as dt

import pytest

from forms_service.issuing.letter import LetterError, address_lines, fill, parse_letter


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
