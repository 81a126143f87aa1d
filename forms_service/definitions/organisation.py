"""The organisation customers deal with: its name, logo, colour, notices and contact.

Every customer page (the forms, the identity question, the receipts and every error page)
shows the organisation, never the product: its name and logo in the header, and in the
footer the contact channel with its opening hours, the legal notice (mentions légales) and
the data-protection notice. The integrator writes them once, in French and English, in
`<definitions>/organisation/organisation.yaml` (the logo beside it); they are checked at start
like the definitions, and `forms-service definitions check` lists every problem.

The primary colour is checked for contrast (WCAG 2.2, 1.4.3 and 1.4.11): white text on it and
it as text on white need 4.5:1, so that buttons and links stay readable whatever is chosen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forms_service.core.i18n import LOCALES
from forms_service.definitions.service import DefinitionError, DefinitionProblem

#: The folder, inside the definitions' directory, that holds the organisation's file and logo.
FOLDER = "organisation"
FILE = "organisation.yaml"
#: Logo files customers' browsers get: their media type by suffix.
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
LOGO_MAX_BYTES = 200_000
#: WCAG AA contrast for normal text.
MIN_CONTRAST = 4.5
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_KEYS = {"name", "logo", "logo_alt", "colour", "contact", "legal_notice", "privacy"}


def _error(path: Path, problems: list[str]) -> DefinitionError:
    """The problems of the organisation's file, reported like those of the definitions."""
    return DefinitionError([DefinitionProblem(str(path), None, problem) for problem in problems])


@dataclass(frozen=True)
class Section:
    """One titled paragraph of a notice, in every language."""

    title: Mapping[str, str]
    text: Mapping[str, str]


@dataclass(frozen=True)
class Organisation:
    """What every customer page says of who writes to the customer."""

    name: Mapping[str, str]
    colour: str = "#0b5cad"
    logo: Path | None = None
    logo_alt: Mapping[str, str] = field(default_factory=dict)
    phone: str = ""
    email: str = ""
    address: tuple[str, ...] = ()
    hours: Mapping[str, str] = field(default_factory=dict)
    legal_notice: tuple[Section, ...] = ()
    privacy: tuple[Section, ...] = ()

    def name_in(self, locale: str) -> str:
        return self.name.get(locale) or next(iter(self.name.values()))

    def hours_in(self, locale: str) -> str:
        return self.hours.get(locale, "")

    def logo_alt_in(self, locale: str) -> str:
        return self.logo_alt.get(locale) or self.name_in(locale)

    @property
    def logo_type(self) -> str | None:
        return LOGO_TYPES.get(self.logo.suffix.lower()) if self.logo else None

    @property
    def colour_dark(self) -> str:
        """The primary colour darkened by a quarter: hover and pressed states."""
        red, green, blue = _rgb(self.colour)
        return "#{:02x}{:02x}{:02x}".format(*(int(c * 0.75) for c in (red, green, blue)))


#: What a customer page shows when no organisation file exists: a neutral name, no notices.
#: Production refuses to start without a file (see `load_organisation(required=True)`).
NEUTRAL = Organisation(name={"fr": "Service clients", "en": "Customer service"})

#: The sections a data-protection notice must have (GDPR articles 13 and 14), in order.
PRIVACY_SECTIONS = ("controller", "purposes", "legal_basis", "retention", "rights", "dpo")
#: The sections of a French legal notice (LCEN article 6): publisher, director, host.
LEGAL_SECTIONS = ("publisher", "publication_director", "host")


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def load_organisation(definitions_dir: Path, *, required: bool = False) -> Organisation:
    """Read and check `<definitions_dir>/organisation/organisation.yaml`.

    Without the file: `NEUTRAL`, unless `required` (production), which is an error.

    Raises:
        DefinitionError: listing every problem.
    """
    path = definitions_dir / FOLDER / FILE
    if not path.is_file():
        if required:
            raise _error(
                path, ["missing: customers' pages need the organisation's name and notices"]
            )
        return NEUTRAL
    problems: list[str] = []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _error(path, [f"cannot be read as YAML: {exc}".replace("\n", " ")]) from exc
    if not isinstance(raw, dict):
        raise _error(path, ["must be a mapping (name, contact, notices…)"])
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        problems.append(f"unknown keys {unknown}")
    name = _texts(raw.get("name"), "name", problems, required=True)
    colour = raw.get("colour", NEUTRAL.colour)
    if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
        problems.append(f"'colour' must be #rrggbb, not {colour!r}")
        colour = NEUTRAL.colour
    elif (ratio := contrast(colour, "#ffffff")) < MIN_CONTRAST:
        problems.append(
            f"'colour' {colour} has a contrast of {ratio:.2f}:1 with white; buttons and links "
            f"need at least {MIN_CONTRAST}:1: choose a darker colour"
        )
    logo = _logo(raw.get("logo"), path.parent, problems)
    contact = raw.get("contact") or {}
    if not isinstance(contact, dict):
        problems.append("'contact' must be a mapping (phone, email, address, hours)")
        contact = {}
    unknown = sorted(set(contact) - {"phone", "email", "address", "hours"})
    if unknown:
        problems.append(f"'contact' has unknown keys {unknown}")
    if not (contact.get("phone") or contact.get("email") or contact.get("address")):
        problems.append("'contact' needs a phone, an e-mail or a postal address")
    address = contact.get("address") or []
    if not isinstance(address, list) or not all(isinstance(line, str) for line in address):
        problems.append("'contact.address' must be a list of lines")
        address = []
    organisation = Organisation(
        name=name,
        colour=colour,
        logo=logo,
        logo_alt=_texts(raw.get("logo_alt"), "logo_alt", problems, required=False),
        phone=_plain(contact.get("phone"), "contact.phone", problems),
        email=_plain(contact.get("email"), "contact.email", problems),
        address=tuple(address),
        hours=_texts(contact.get("hours"), "contact.hours", problems, required=True),
        legal_notice=_sections(raw.get("legal_notice"), "legal_notice", LEGAL_SECTIONS, problems),
        privacy=_sections(raw.get("privacy"), "privacy", PRIVACY_SECTIONS, problems),
    )
    if problems:
        raise _error(path, problems)
    return organisation


def _plain(raw: object, what: str, problems: list[str]) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str | int):
        problems.append(f"'{what}' must be a text")
        return ""
    return str(raw)


def _texts(raw: object, what: str, problems: list[str], *, required: bool) -> dict[str, str]:
    """A text in every language; a plain string is the same text in all of them."""
    if raw is None:
        if required:
            problems.append(f"'{what}' is missing: give it in {' and '.join(LOCALES)}")
        return {}
    if isinstance(raw, str) and raw.strip():
        return dict.fromkeys(LOCALES, raw)
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
        problems.append(f"'{what}' must map each language ({', '.join(LOCALES)}) to a text")
        return {}
    missing = [locale for locale in LOCALES if locale not in raw]
    if missing:
        problems.append(f"'{what}' has no {', '.join(missing)} text")
    return {str(k): str(v) for k, v in raw.items() if k in LOCALES}


def _sections(
    raw: object, what: str, wanted: tuple[str, ...], problems: list[str]
) -> tuple[Section, ...]:
    if not isinstance(raw, dict):
        problems.append(f"'{what}' is missing: it needs {', '.join(wanted)}")
        return ()
    sections = []
    for key in wanted:
        item: Any = raw.get(key)
        if not isinstance(item, dict):
            problems.append(f"'{what}.{key}' is missing (a title and a text, in each language)")
            continue
        title = _texts(item.get("title"), f"{what}.{key}.title", problems, required=True)
        text = _texts(item.get("text"), f"{what}.{key}.text", problems, required=True)
        sections.append(Section(title=title, text=text))
    extra = [key for key in raw if key not in wanted]
    for key in extra:
        item = raw[key]
        if not isinstance(item, dict):
            problems.append(f"'{what}.{key}' must be a title and a text")
            continue
        sections.append(
            Section(
                title=_texts(item.get("title"), f"{what}.{key}.title", problems, required=True),
                text=_texts(item.get("text"), f"{what}.{key}.text", problems, required=True),
            )
        )
    return tuple(sections)


def _logo(raw: object, folder: Path, problems: list[str]) -> Path | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or "/" in raw or "\\" in raw or raw.startswith("."):
        problems.append("'logo' must be a file name beside organisation.yaml")
        return None
    path = (folder / raw).resolve()
    if path.suffix.lower() not in LOGO_TYPES:
        problems.append(f"'logo' must be an SVG or PNG file, not {raw!r}")
        return None
    if not path.is_file():
        problems.append(f"'logo' {raw!r} does not exist beside organisation.yaml")
        return None
    size = path.stat().st_size
    if size > LOGO_MAX_BYTES:
        problems.append(f"'logo' is {size} bytes; at most {LOGO_MAX_BYTES}")
        return None
    if path.suffix.lower() == ".svg" and re.search(
        rb"<script|javascript:|\son\w+\s*=|<foreignObject", path.read_bytes(), re.IGNORECASE
    ):
        problems.append("'logo' SVG must not hold scripts, event handlers or foreign objects")
        return None
    return path
