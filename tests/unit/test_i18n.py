"""The gettext catalogues: complete in both languages, clean for msgfmt, current with the code.

A text added to the code or a template and not translated fails here: extraction finds it
and one catalogue lacks it (run `make messages`, then translate it), or it is empty, fuzzy,
or its parameters differ from the msgid's (msgfmt --check).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from forms_service.core.i18n import (
    DEFAULT_LOCALE,
    FIELD_MESSAGES,
    LOCALES,
    catalogue,
    field_message,
    gettext,
)
from tests.catalogues import Key, po_path, read_catalogue

ROOT = Path(__file__).resolve().parents[2]
#: The same markers as the Makefile's EXTRACT_KEYWORDS, on top of Babel's defaults.
KEYWORDS = {
    "lazy_gettext": None,
    "lazy_pgettext": ((1, "c"), 2),
    "lazy_ngettext": (1, 2),
    "NP_": ((1, "c"), 2),
}


def _extracted() -> set[Key]:
    """What `make messages` extracts from the code and the templates."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)  # type: ignore[no-untyped-call]
    found: set[Key] = set()
    for _, _, message, _, context in extract_from_dir(
        ROOT, method_map, options_map, keywords={**DEFAULT_KEYWORDS, **KEYWORDS}
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def _held(locale: str) -> set[Key]:
    return {
        (m.context, m.id if isinstance(m.id, str) else m.id[0])
        for m in read_catalogue(locale)
        if m.id
    }


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale: str) -> None:
    untranslated = []
    for message in read_catalogue(locale):
        if not message.id:
            assert not message.fuzzy, "the catalogue's header is marked fuzzy"
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(str(s).strip() for s in strings):
            untranslated.append(message.id)
    assert untranslated == []


@pytest.mark.parametrize("locale", LOCALES)
def test_msgfmt_check_is_clean(locale: str) -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt missing: install Debian's gettext (scripts/install-system-packages.sh)"
    checked = subprocess.run(
        [msgfmt, "--check", "--output-file=/dev/null", str(po_path(locale))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (checked.returncode, checked.stderr) == (0, "")


def test_the_catalogues_hold_exactly_what_the_code_says() -> None:
    extracted = _extracted()
    assert len(extracted) > 300
    for locale in LOCALES:
        held = _held(locale)
        assert sorted(extracted - held, key=str) == [], f"{locale}: run make messages"
        assert sorted(held - extracted, key=str) == [], f"{locale}: obsolete, run make messages"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_the_current_one(locale: str) -> None:
    # A .po edited without `make` would otherwise be tested while the stale .mo is shown.
    compiled = catalogue(locale)
    for message in read_catalogue(locale):
        if not message.id or not isinstance(message.id, str):
            continue
        if message.context:
            shown = compiled.upgettext(message.context, message.id)
        else:
            shown = compiled.ugettext(message.id)
        assert shown == message.string, f"{locale}: {message.id!r}: the .mo is stale, run make"


def test_each_field_check_has_a_message_in_each_language() -> None:
    for key in FIELD_MESSAGES:
        params = {"max": 1, "min": 1, "country": "XX", "countries": "XX", "example": "1"}
        texts = {field_message(key, locale, **params) for locale in LOCALES}
        assert len(texts) == len(LOCALES), key
    assert field_message("too_long", "fr", max=12) == "12 caractères au maximum."
    assert field_message("too_long", "en", max=12) == "At most 12 characters."


def test_an_unknown_language_reads_french_and_an_unknown_key_is_returned() -> None:
    assert gettext("This field is required.", "de") == gettext(
        "This field is required.", DEFAULT_LOCALE
    )
    assert field_message("no.such.check", "fr") == "no.such.check"
