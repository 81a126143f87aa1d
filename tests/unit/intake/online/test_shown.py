"""The signed shown-values snapshot: what a form page posts back is what it was shown."""

from __future__ import annotations

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


def test_the_page_payload_is_the_one_pages_before_the_use_case_carried() -> None:
    # Pages opened before a deploy post their snapshot back after it: same salt, same keys.
    legacy = URLSafeSerializer(KEY, salt="online-form-base").dumps(
        {"d": SHOWN.document_id, "v": dict(SHOWN.values), "o": OPENED.isoformat(), "l": False}
    )
    assert ShownValuesSeal(KEY).sign(SHOWN) == legacy
    assert ShownValuesSeal(KEY).open(legacy, SHOWN.document_id) == SHOWN


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
