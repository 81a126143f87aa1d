"""The sealed shown-values snapshot: what a form page posts back is what it was shown."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from itsdangerous import URLSafeSerializer

from forms_service.intake.online.model import ShownValues, TamperedShownValues
from forms_service.intake.online.shown import ShownValuesSeal

KEY = "k" * 40
OPENED = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
SHOWN = ShownValues("D" * 22, {"city": "Lyon", "phone": None}, OPENED, live=False)


def test_a_signed_snapshot_opens_as_it_was_shown() -> None:
    seal = ShownValuesSeal(KEY)
    assert seal.open(seal.sign(SHOWN), SHOWN.document_id) == SHOWN


def test_pages_signed_before_the_seal_still_open() -> None:
    # Pages opened before a deploy post their snapshot back after it: same salt, same keys.
    legacy = URLSafeSerializer(KEY, salt="online-form-base").dumps(
        {"d": SHOWN.document_id, "v": dict(SHOWN.values), "o": OPENED.isoformat(), "l": False}
    )
    assert ShownValuesSeal(KEY).open(legacy, SHOWN.document_id) == SHOWN


def test_the_sealed_snapshot_reveals_nothing_of_the_values() -> None:
    iban = "FR7630006000011234567890189"
    shown = ShownValues("D" * 22, {"iban": iban, "city": "Lyon"}, OPENED, live=True)
    sealed = ShownValuesSeal(KEY).sign(shown)
    assert sealed.startswith("s1.")
    decoded = base64.urlsafe_b64decode(sealed[3:] + "==")
    for secret in (iban, "Lyon", "D" * 22):
        assert secret.encode() not in sealed.encode() and secret.encode() not in decoded
    # A single character changed anywhere is refused (authenticated encryption).
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(TamperedShownValues):
        ShownValuesSeal(KEY).open(flipped, shown.document_id)


@pytest.mark.parametrize(
    "signed",
    [
        "",
        "not-a-signature",
        ShownValuesSeal("x" * 40).sign(SHOWN),  # another service's key
        URLSafeSerializer(KEY, salt="another-salt").dumps({"d": "D" * 22}),
    ],
)
def test_a_snapshot_not_signed_here_is_refused(signed: str) -> None:
    with pytest.raises(TamperedShownValues):
        ShownValuesSeal(KEY).open(signed, SHOWN.document_id)


def test_a_snapshot_signed_for_another_document_is_refused() -> None:
    seal = ShownValuesSeal(KEY)
    with pytest.raises(TamperedShownValues):
        seal.open(seal.sign(SHOWN), "E" * 22)
