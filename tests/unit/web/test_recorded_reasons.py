"""A page's recorded reason on a mailroom screen: in its language with its figures, or as recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask

from forms_service.intake.mailroom.reasons import Reason
from forms_service.web.backoffice.locale import RecordedReason, recorded_reason
from forms_service.web.extensions import init_babel
from tests.catalogues import translated

#: Every reason with figures the mailroom records (files, identification, pages, returns).
REASONS = {
    "missing_page": Reason("the PDF has no page %(page)s", {"page": 3}),
    "missing_frame": Reason("the file has no page %(page)s", {"page": 2}),
    "page_too_large": Reason(
        "the page measures %(width)sx%(height)s pt: unusable", {"width": "14000", "height": "90"}
    ),
    "image_too_large": Reason(
        "the image is too large (%(width)sx%(height)s pixels): scan at 300 dpi or less (at "
        "most %(most)s million pixels)",
        {"width": 9000, "height": 8000, "most": 60},
    ),
    "image_too_many_pixels": Reason(
        "the image is too large (%(millions)s million pixels): scan at 300 dpi or less (at "
        "most %(most)s million pixels)",
        {"millions": "72", "most": 60},
    ),
    "image_too_large_unmeasured": Reason(
        "the image is too large: scan at 300 dpi or less (at most %(most)s million pixels)",
        {"most": 60},
    ),
    "corrupt_frame": Reason("page %(page)s of the image cannot be decoded", {"page": 4}),
    "revoked_document": Reason("document %(reference)s was withdrawn", {"reference": "K7Q-4PX"}),
    "retired_version": Reason(
        "document %(reference)s was printed with a form version no longer served",
        {"reference": "K7Q-4PX"},
    ),
    "unknown_layout": Reason(
        "document %(reference)s was printed with paper layout version %(layout)s, which this "
        "service does not know (known: %(known)s): its boxes cannot be located",
        {"reference": "K7Q-4PX", "layout": 7, "known": "1, 2"},
    ),
    "unknown_layout_assigned": Reason(
        "layout version %(layout)s is unknown here (known: %(known)s)",
        {"layout": "7", "known": "1"},
    ),
    "worker_lost": Reason(
        "reading this page was started %(attempts)s times and never finished (its worker "
        "stopped each time): assign it to try again, or reject it",
        {"attempts": 3},
    ),
    "missing_pages": Reason(
        "page %(page)s of %(total)s arrived without the document's other pages: assign it to "
        "submit what was received, or reject it",
        {"page": 1, "total": 2},
    ),
    "duplicate_page": Reason(
        "page %(page)s of document %(reference)s is already in this batch (page %(sequence)s)",
        {"page": 1, "reference": "K7Q-4PX", "sequence": 5},
    ),
    "page_of_another_batch": Reason(
        "page %(page)s of document %(reference)s was already received in another batch",
        {"page": 2, "reference": "K7Q-4PX"},
    ),
    "already_answered": Reason(
        "document %(reference)s: its answer was processed", {"reference": "K7Q-4PX"}
    ),
    "other_document": Reason(
        "this page's QR code names document %(reference)s, but the PDF return it came in "
        "answers another document (the link it was uploaded on, or its first page): it was "
        "not read into either answer; assign it only if it really belongs there",
        {"reference": "K7Q-4PX"},
    ),
}


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", DEFAULT_LOCALE="fr")
    init_babel(app)
    return app


def _shown(
    app: Flask, locale: str, reason: str, detail: Mapping[str, Any] | None
) -> RecordedReason:
    with app.test_request_context("/mailroom/", headers={"Accept-Language": locale}):
        return recorded_reason(reason, detail)


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_a_reason_with_figures_reads_in_the_screens_language_with_its_figures(
    app: Flask, kind: str
) -> None:
    reason = REASONS[kind]
    figures = {name: str(value) for name, value in reason.params.items()}
    french = translated(reason.message, "fr").format(**figures)
    assert french != reason.text and all(value in french for value in figures.values())
    assert _shown(app, "fr", reason.text, reason.detail()) == RecordedReason(french, "fr")
    assert _shown(app, "en", reason.text, reason.detail()) == RecordedReason(reason.text, "en")


def test_one_reason_in_french_word_for_word(app: Flask) -> None:
    reason = REASONS["duplicate_page"]
    assert _shown(app, "fr", reason.text, reason.detail()).text == (
        "la page 1 du document K7Q-4PX est déjà dans ce lot (page 5)"
    )


def test_a_channel_in_a_reason_is_named_in_the_screens_language(app: Flask) -> None:
    reason = Reason(
        "document %(reference)s: an answer (%(channel)s) is being processed",
        {"reference": "K7Q-4PX", "channel": "online"},
    )
    assert _shown(app, "fr", reason.text, reason.detail()).text == (
        "document K7Q-4PX : une réponse (Formulaire en ligne) est en cours de traitement"
    )
    assert _shown(app, "en", reason.text, reason.detail()).text == (
        "document K7Q-4PX: an answer (Online form) is being processed"
    )


def test_an_operators_words_are_kept_as_they_typed_them(app: Flask) -> None:
    reason = REASONS["page_of_another_batch"]
    detail = {**reason.detail(), "rejected": "sent twice"}
    typed = f"{reason.text} — rejected: sent twice"
    french = translated(reason.message, "fr").format(page="2", reference="K7Q-4PX")
    assert _shown(app, "fr", typed, detail) == RecordedReason(french, "fr", "sent twice")
    assert _shown(app, "en", typed, detail) == RecordedReason(reason.text, "en", "sent twice")


def test_a_page_recorded_before_details_reads_as_today(app: Flask) -> None:
    # Without a detail: translated when the text is a msgid, else as recorded, in English.
    blank = "the page is blank (nothing printed or written on it)"
    assert _shown(app, "fr", blank, None) == RecordedReason(translated(blank, "fr"), "fr")
    old = "the PDF has no page 3 — rejected: illisible"
    assert _shown(app, "fr", old, None) == RecordedReason(old, "en")
    assert _shown(app, "en", old, None) == RecordedReason(old, "en")


def test_figures_that_do_not_fit_the_message_show_the_recorded_text(app: Flask) -> None:
    detail = {"message": "the PDF has no page %(page)s", "params": {"pages": 3}}
    assert _shown(app, "fr", "the PDF has no page 3", detail) == RecordedReason(
        "the PDF has no page 3", "en"
    )
