"""Free text and e-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    edit_distance,
)
from forms_service.definitions.fieldtypes.letters import shipped_letters


class TextType(FieldType):
    """Free text: whitespace collapsed, accents kept, compared without case."""

    name = "text"
    #: Paper forms ask for capitals: a narrow set spares stray ':' and '|' from box edges.
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ0123456789 -'/,."
    html_attributes = {"autocomplete": "on"}
    acroform_kinds = frozenset({"text"})
    letters = "text"

    def comparison_key(self, value: str | None) -> str | None:
        return None if value is None else value.casefold()


#: The e-mail providers most French customers use: a domain read on paper that is not one
#: of them is flagged (a company's own domain is valid, but worth a look), and one a letter
#: or two from one of them is suggested as it.
KNOWN_EMAIL_DOMAINS = (
    "gmail.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net", "hotmail.fr",
    "hotmail.com", "yahoo.fr", "yahoo.com", "outlook.fr", "outlook.com", "live.fr", "icloud.com",
    "neuf.fr", "bbox.fr", "aol.com", "gmx.fr", "protonmail.com", "proton.me", "numericable.fr",
    "club-internet.fr", "aliceadsl.fr", "msn.com", "me.com", "cegetel.net", "noos.fr",
)  # fmt: skip
#: Edits (letters changed, added or dropped) at most between a domain read and a known one.
DOMAIN_EDITS = 2


class EmailType(FieldType):
    """An e-mail address, lower-cased."""

    name = "email"
    widget = WidgetKind.TEXT
    ocr_charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_+"
    html_attributes = {"type": "email", "inputmode": "email", "autocomplete": "email"}
    paper_checked = True
    lower_case = True
    letters = "email"
    failed_check = "email_domain_unknown"
    name_hint = re.compile(r"e-?mail|courriel", re.I)
    _SYNTAX = re.compile(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
        r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    )

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = text.replace(" ", "").lower()
        if len(value) > 254 or not self._SYNTAX.fullmatch(value):
            raise FieldValueError("email")
        return value

    def plausible(self, value: str, rules: Rules, choices: Sequence[Choice]) -> bool:
        """An address at one of the KNOWN_EMAIL_DOMAINS."""
        return value.rpartition("@")[2] in KNOWN_EMAIL_DOMAINS

    def letters_log_probability(self, text: str) -> float:
        """How likely the local part's letters are in a person's address (letters.py)."""
        local, at, _domain = text.rpartition("@")
        return shipped_letters("email").log_probability(local if at else text)

    def repairs(self, text: str) -> tuple[str, ...]:
        """The address with its domain replaced by the nearest known ones (DOMAIN_EDITS)."""
        local, at, domain = text.replace(" ", "").lower().rpartition("@")
        if not at or not local or domain in KNOWN_EMAIL_DOMAINS:
            return ()
        near = sorted(
            (distance, known)
            for known in KNOWN_EMAIL_DOMAINS
            if (distance := edit_distance(domain, known)) <= DOMAIN_EDITS
        )
        best = [known for distance, known in near if distance == near[0][0]] if near else []
        return tuple(f"{local}@{known}" for known in best)
