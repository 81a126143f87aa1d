"""A SEPA direct-debit mandate: what the form must show before the customer agrees.

The SEPA rulebook (EPC, Core scheme) says what a mandate carries: the creditor's name and
identifier (ICS in France), a unique mandate reference (RUM), whether it is recurrent or
one-off, the standard text of the debtor's rights (a refund within 8 weeks), the date and
the place of signature. A definition names them in `sepa_mandate:`, and the field the
customer ticks to agree; the online form shows the whole mandate before that box.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: A creditor identifier: country, 2 check digits, a 3-character business code, then the
#: national identifier (France: 6 characters).
_ICS = re.compile(r"([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})")
#: Characters a mandate reference may use (EPC: the SEPA Latin subset, at most 35).
_REFERENCE = re.compile(r"[A-Za-z0-9+?/:().,' -]{1,20}")
_KEYS = {"field", "creditor_name", "creditor_id", "type", "reference_prefix"}
TYPES = ("recurrent", "one-off")


@dataclass(frozen=True)
class SepaMandate:
    """The mandate a form's agreement box signs."""

    field: str
    creditor_name: str
    creditor_id: str
    type: str
    reference_prefix: str

    def reference(self, document_reference: str) -> str:
        """The unique mandate reference (RUM) of one document: at most 35 characters."""
        return f"{self.reference_prefix}{document_reference}"[:35]


def creditor_id_is_valid(value: str) -> bool:
    """The ISO 7064 mod 97-10 check of a creditor identifier (the business code left out)."""
    match = _ICS.fullmatch(value)
    if not match:
        return False
    country, check, _business, national = match.groups()
    digits = "".join(str(int(c, 36)) for c in national + country + check)
    return int(digits) % 97 == 1


def parse_mandate(
    raw: object, add: Callable[[str], None], field_names: set[str]
) -> SepaMandate | None:
    """Read `sepa_mandate:`; every problem goes to `add`."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        add("'sepa_mandate' must be a mapping (field, creditor_name, creditor_id, type…)")
        return None
    values: dict[str, Any] = dict(raw)
    for key in sorted(set(values) - _KEYS):
        add(f"'sepa_mandate' has an unknown key {key!r} (allowed: {', '.join(sorted(_KEYS))})")
    problems_before = []
    field = values.get("field")
    if field not in field_names:
        problems_before.append(f"'sepa_mandate.field' must name the agreement field, not {field!r}")
    name = values.get("creditor_name")
    if not isinstance(name, str) or not name.strip():
        problems_before.append("'sepa_mandate.creditor_name' is missing")
    creditor = values.get("creditor_id")
    if not isinstance(creditor, str) or not creditor_id_is_valid(creditor):
        problems_before.append(
            f"'sepa_mandate.creditor_id' {creditor!r} is not a valid creditor identifier (ICS)"
        )
    kind = values.get("type", "recurrent")
    if kind not in TYPES:
        problems_before.append(f"'sepa_mandate.type' must be one of {', '.join(TYPES)}")
    prefix = values.get("reference_prefix", "")
    if not isinstance(prefix, str) or (prefix and not _REFERENCE.fullmatch(prefix)):
        problems_before.append("'sepa_mandate.reference_prefix' must be up to 20 letters or digits")
    for problem in problems_before:
        add(problem)
    if problems_before:
        return None
    return SepaMandate(str(field), str(name), str(creditor), str(kind), str(prefix))
