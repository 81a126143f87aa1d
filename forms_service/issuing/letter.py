"""The covering letter of a document: the `letter:` key of a definition and its placeholders.

```yaml
letter:
  sender: [Mutuelle Exemple, Service clients, 10 rue de la Paix, 75002 Paris]
  place: Paris
  recipient: ["{title} {first_name} {last_name}", "{address_line}", "{postcode} {city}"]
  return_address: [Mutuelle Exemple, Libre réponse 12345, 75099 Paris Cedex 02]
  subject: {fr: Vos coordonnées, en: Your details}
  body: {fr: "Bonjour {title} {last_name}, …", en: "Dear {title} {last_name}, …"}
```

Placeholders name source columns of the record, plus `{link}`, `{reference}`, `{expires}`
and `{form}`, and those of the message (`{deadline}`, `{short_link}`, `{organisation}`); an
unknown or empty one prints nothing (a template never fails a campaign).

A letter without a `body` takes the text blocks of the definition's message (`message:`)
that are not for e-mail only (`channels: [email]`): the content is written once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forms_service.core.i18n import LOCALES, pick
from forms_service.definitions.model import FormDefinition

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_DEFAULT_RECIPIENT = (
    "{title} {first_name} {last_name}",
    "{address_line}",
    "{address_extra}",
    "{postcode} {city}",
)
_DEFAULT_BODY = {
    "fr": (
        "Madame, Monsieur,\n\nPour que nos informations restent exactes, merci de vérifier les "
        "données ci-jointes et de corriger ce qui a changé : en ligne à l'adresse ci-dessous, "
        "dans ce PDF, ou sur le formulaire papier à nous retourner.\n\n"
        "Nous vous prions d'agréer nos salutations distinguées."
    ),
    "en": (
        "Dear customer,\n\nTo keep our records right, please check the enclosed details and "
        "correct what has changed: online at the address below, in this PDF, or on the paper "
        "form returned to us.\n\nYours faithfully."
    ),
}


class LetterError(ValueError):
    """A `letter:` key that cannot be used; the message names the problem."""


@dataclass(frozen=True)
class LetterTemplate:
    """What page 1 prints, before placeholders are filled."""

    sender: tuple[str, ...] = ()
    place: str = ""
    recipient: tuple[str, ...] = _DEFAULT_RECIPIENT
    return_address: tuple[str, ...] = ()
    subject: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_BODY))

    def subject_in(self, definition: FormDefinition, locale: str) -> str:
        """The subject line (the form's title when the letter gives none)."""
        return pick(self.subject, locale) if self.subject else definition.title_in(locale)

    def body_in(self, locale: str) -> str:
        """The body template in `locale`."""
        return pick(self.body, locale)


def parse_letter(raw: object) -> LetterTemplate:
    """Build a template from the YAML value of `letter:` (None gives the default letter).

    Raises:
        LetterError: naming the key that is wrong.
    """
    if raw is None:
        return LetterTemplate()
    if not isinstance(raw, dict):
        raise LetterError("'letter' must be a mapping (sender, recipient, subject, body…)")
    known = {"sender", "place", "recipient", "return_address", "subject", "body"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise LetterError(f"letter: unknown keys {unknown} (allowed: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key in ("sender", "recipient", "return_address"):
        if key in raw:
            lines = raw[key]
            if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                raise LetterError(f"letter: '{key}' must be a list of lines")
            values[key] = tuple(lines)
    if "place" in raw:
        if not isinstance(raw["place"], str):
            raise LetterError("letter: 'place' must be a town name")
        values["place"] = raw["place"]
    for key in ("subject", "body"):
        if key in raw:
            texts = raw[key]
            if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
                raise LetterError(f"letter: '{key}' must map each language to a text")
            values[key] = {str(k): v for k, v in texts.items()}
    return LetterTemplate(**values)


def letter_of(definition: FormDefinition) -> LetterTemplate:
    """The letter of a definition, read from its YAML file (the default letter when none).

    Raises:
        LetterError: the file's `letter:` key is wrong.
    """
    if not definition.path:
        return LetterTemplate()
    raw = yaml.safe_load(Path(definition.path).read_text(encoding="utf-8"))
    raw_letter = raw.get("letter") if isinstance(raw, dict) else None
    letter = parse_letter(raw_letter)
    blocks = definition.message.letter_blocks() if definition.message else ()
    if blocks and not (isinstance(raw_letter, dict) and "body" in raw_letter):
        body = {
            locale: "\n\n".join(block.text_in(locale) for block in blocks) for locale in LOCALES
        }
        letter = dataclasses.replace(letter, body=body)
    return letter


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Replace `{name}` placeholders; unknown or empty ones print nothing, spaces collapse."""

    def value_of(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None or value is False:
            return ""
        if isinstance(value, dt.date):
            return french_date(value)
        return str(value)

    lines = [
        re.sub(r"[ \t]+", " ", _PLACEHOLDER.sub(value_of, line)).strip()
        for line in template.split("\n")
    ]
    return "\n".join(lines)


def address_lines(template: LetterTemplate, record: Mapping[str, Any]) -> list[str]:
    """The recipient's address, at most 6 lines of at most 38 characters (La Poste's rule).

    Empty lines are dropped and the last line (postcode and town) is in capitals.
    """
    lines = [fill(line, record) for line in template.recipient]
    lines = [line[:38] for line in lines if line]
    if lines:
        lines[-1] = lines[-1].upper()
    return lines[:6]


def french_date(day: dt.date) -> str:
    """`3 novembre 2026`."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
