"""Issue 16 in the mailroom: a real page read with the handprint model, its suggestions stored.

The document's own PDF is printed, filled in a handwriting font the model never saw, scanned
and received; the stored readings carry what the review screen shows (suggestions.py):
the OCR's own reading, the suggestion's probability, each character's alternatives and the
cross-checks that failed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from forms_service.intake.mailroom.service import Upload
from forms_service.runtime import Runtime
from forms_service.storage.scans import ScanPage
from tests.mailroom_scans import as_pdf, issue, printed_and_filled
from tests.ocr_pages import HELD_OUT_FONTS, require_font
from tests.readers.returning import submission_of

FORM = "contact-update"
FONT = HELD_OUT_FONTS["klee"]


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def _zones(runtime: Runtime, batch_id: str) -> dict[str, dict[str, Any]]:
    with runtime.sessions() as session:
        pages = session.execute(select(ScanPage).where(ScanPage.batch_id == batch_id)).scalars()
        return {
            str(zone["field"]): zone
            for page in pages
            for zone in (page.readings or {}).get("zones", [])
            if zone.get("value") is not None and zone.get("choice") is None
        }


def test_stored_comb_readings_carry_their_suggestion_and_alternatives(runtime: Runtime) -> None:
    require_font(FONT)
    document = issue(runtime, FORM, "C000012")
    written = {"postcode": "33000", "city": "BORDEAUX", "phone": "0612345678"}
    sheets = printed_and_filled(runtime, document, written, font=FONT)
    received = runtime.mailroom.receive(
        [Upload("form.pdf", as_pdf(sheets[1:]))], source="cli", actor="test"
    )
    zones = _zones(runtime, received.id)
    for field in ("postcode", "phone"):
        zone = zones[field]
        assert {"ocr_value", "suggestion_probability", "characters", "cross_checks"} <= set(zone)
        assert [c["c"] for c in zone["characters"]] == list(zone["value"])
        for character in zone["characters"]:
            assert 0.0 <= character["p"] <= 1.0
            assert all(len(pair) == 2 for pair in character["alt"])
        assert 0.0 < zone["suggestion_probability"] <= 1.0
        assert isinstance(zone["cross_checks"], list)
    # The cells read, searched with the postcode list and the city read beside it.
    assert zones["postcode"]["value"] == "33000"
    # The suggestion is what the clerk sees proposed; a handwritten phone number still waits
    # for a clerk (nothing checks it), whatever the model's probability.
    submission = submission_of(runtime, document)
    assert submission.values["phone"] == "+33" + str(zones["phone"]["value"])[1:]
    assert "unverifiable" in submission.evidence["phone"]["warnings"]
