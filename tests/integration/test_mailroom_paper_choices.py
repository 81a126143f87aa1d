"""Choices on paper (issue 17, point 4): each option's own Yes and No box, empty = unchanged.

The document's real PDF, rendered by the service in the current layout, is rasterised, its
boxes crossed as a customer would, and read through the mailroom on SQLite and PostgreSQL
with the real reader; the change set must hold exactly what the customer changed.
"""

from __future__ import annotations

import io
from typing import Any

import pdfplumber
import pytest
from PIL import Image
from sqlalchemy import select, update

from forms_service.connectors.sql import SqlConnector
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing import layout_v1
from forms_service.issuing.layout import LayoutVersions
from forms_service.issuing.letter import letter_of
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.pdf import DocumentContent, PdfRenderer
from forms_service.issuing.printing import DocumentPrinter
from forms_service.runtime import Runtime
from forms_service.runtime.mailroom import build_mailroom
from forms_service.storage.model import ChangeSet, FieldChangeRow, FieldChangeStatus
from forms_service.storage.scans import ScanPage
from ocr.geometry import OptionBox
from tests.integration.changes_support import crm_record
from tests.mailroom_scans import as_pdf, issue, printed_and_filled
from tests.readers.returning import submission_of

FORM = "consent-preferences"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def _deploy(runtime: Runtime, layouts: LayoutVersions) -> None:
    """What a release does: issuing, printing and the mailroom use its layout registry."""
    runtime.issuing.layouts = layouts
    runtime.printer = DocumentPrinter(runtime.issuing)
    runtime.mailroom = build_mailroom(runtime)


def _set_record(runtime: Runtime, key: str, **values: object) -> None:
    connector = runtime.connectors["crm"]
    assert isinstance(connector, SqlConnector)
    table, _ = connector._table("customer")
    with connector.engine.begin() as connection:
        connection.execute(update(table).where(table.c.customer_no == key).values(**values))


def _rows(runtime: Runtime, submission_id: str) -> dict[str, FieldChangeRow]:
    with runtime.sessions() as session:
        change_set = session.execute(
            select(ChangeSet).where(ChangeSet.submission_id == submission_id)
        ).scalar_one()
        rows = {row.field: row for row in change_set.fields}
        for row in rows.values():
            session.expunge(row)
        return rows


def _posted(runtime: Runtime, key: str, answers: set[tuple[str, str, str]]) -> str:
    document = issue(runtime, FORM, key)
    sheets = printed_and_filled(runtime, document, {}, answers=frozenset(answers))
    runtime.mailroom.receive([Upload("form.pdf", as_pdf(sheets))], source="cli", actor="test")
    return document


def test_an_option_left_empty_keeps_its_state(runtime: Runtime) -> None:
    # The regression: on the layout-1 page one square per option, and the ticked squares
    # replaced the whole set ("credit" alone: savings and insurance removed, auto-applied).
    _set_record(runtime, "C000020", interests="savings,insurance", preferred_channel="email")
    document = _posted(
        runtime, "C000020", {("interests", "insurance", "no"), ("interests", "credit", "yes")}
    )
    submission = submission_of(runtime, document)
    assert submission.values == {"interests": "savings,credit"}
    assert submission.base == {"interests": "savings,insurance"}
    assert submission.evidence["interests"]["warnings"] == []
    assert submission.evidence["interests"]["read"] == "insurance: no, credit: yes"
    # The clerk's crop is the whole choice (labels, states, both columns), not one square.
    crop = Image.open(io.BytesIO(runtime.files.get(submission.evidence["interests"]["crop"])))
    (square, *_) = (
        z
        for z in runtime.issuing.layouts.geometry(runtime.definitions[FORM]).page(1).zones
        if isinstance(z, OptionBox) and z.field == "interests"
    )
    assert square.evidence is not None
    assert crop.size == pytest.approx(
        (square.evidence.width * 300 / 72, square.evidence.height * 300 / 72), abs=2
    )
    row = _rows(runtime, submission.id)["interests"]
    assert (row.base, row.proposed) == ("savings,insurance", "savings,credit")
    # Every mark is clear and the ink detector sure: an auto-apply field goes through.
    assert row.policy == "auto"
    assert row.status in (FieldChangeStatus.QUEUED, FieldChangeStatus.APPLIED)
    assert crm_record(runtime, "C000020")["interests"] == "savings,credit"


def test_one_yes_selects_a_single_choice_and_nothing_marked_is_unchanged(
    runtime: Runtime,
) -> None:
    _set_record(runtime, "C000021", interests="retirement", preferred_channel="email")
    document = _posted(runtime, "C000021", {("preferred_channel", "post", "yes")})
    submission = submission_of(runtime, document)
    # interests: no box marked, so not an answer at all.
    assert submission.values == {"preferred_channel": "post"}
    row = _rows(runtime, submission.id)["preferred_channel"]
    assert (row.base, row.proposed, row.policy) == ("email", "post", "auto")


def test_contradictory_marks_go_to_a_clerk(runtime: Runtime) -> None:
    _set_record(runtime, "C000022", interests="savings", preferred_channel="email")
    document = _posted(
        runtime,
        "C000022",
        {
            ("preferred_channel", "sms", "yes"),
            ("preferred_channel", "post", "yes"),
            ("interests", "credit", "yes"),
            ("interests", "credit", "no"),
        },
    )
    submission = submission_of(runtime, document)
    assert submission.evidence["preferred_channel"]["warnings"] == ["several_options_chosen"]
    assert submission.evidence["interests"]["warnings"] == ["both_boxes_marked"]
    rows = _rows(runtime, submission.id)
    for name in ("preferred_channel", "interests"):
        assert rows[name].policy == "review", name
        assert rows[name].status is FieldChangeStatus.PENDING, name
    assert crm_record(runtime, "C000022")["preferred_channel"] == "email"


def test_a_layout_1_page_keeps_its_reading_after_layout_2(runtime: Runtime) -> None:
    # Posted before the release: its squares are read as that page said (the ticked
    # options are the answer), with layout 1's boxes, whatever the current layout is.
    shipped = runtime.issuing.layouts
    assert shipped.current == 2
    _deploy(runtime, LayoutVersions({1: layout_v1.layout}, current=1))
    _set_record(runtime, "C000023", interests="savings,insurance", preferred_channel="email")
    document = issue(runtime, FORM, "C000023")
    sheets = printed_and_filled(
        runtime, document, {}, ticks=frozenset({("interests", "credit"), ("consent_sms", "true")})
    )
    _deploy(runtime, shipped)
    received = runtime.mailroom.receive(
        [Upload("form.pdf", as_pdf(sheets))], source="cli", actor="test"
    )
    with runtime.sessions() as session:
        layouts = [
            page.layout_version
            for page in session.execute(
                select(ScanPage).where(ScanPage.batch_id == received.id)
            ).scalars()
            if page.form_page
        ]
    assert layouts == [1]
    submission = submission_of(runtime, document)
    assert submission.values == {"interests": "credit", "consent_sms": "true"}


def _lines(pdf: bytes, page: int) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = document.pages[page].extract_text() or ""
    return [" ".join(line.split()) for line in text.splitlines()]


def test_the_page_prints_each_options_state_and_its_yes_and_no(runtime: Runtime) -> None:
    _set_record(runtime, "C000024", interests="savings,credit", preferred_channel="sms")
    document = issue(runtime, FORM, "C000024")
    lines = _lines(runtime.printer.pdf_for(document), 1)
    assert "Ne remplissez que ce qui a changé : une case vide veut dire « inchangé »." in lines
    for line in (
        "Cochez Oui devant votre nouveau choix (un seul) ; rien de coché : inchangé.",
        "E-mail actuellement : non Oui Non",
        "SMS actuellement : oui Oui Non",
        "Cochez Oui ou Non seulement là où quelque chose change ; une ligne laissée vide reste "
        "inchangée.",
        "Épargne actuellement : oui Oui Non",
        "Assurance actuellement : non Oui Non",
        "Crédit actuellement : oui Oui Non",
    ):
        assert line in lines
    # The version-1 line "Actuellement : …" is not printed for choices any more.
    assert not any(line.startswith("Actuellement : Épargne") for line in lines)


def test_the_english_page_says_the_same(runtime: Runtime) -> None:
    definition = runtime.definitions[FORM]
    renderer = PdfRenderer(PageCodes(runtime.signer.keys), locale="en")
    content = DocumentContent(
        "AbCdEfGhIjKlMnOpQrStUv",
        "7Q4-K2M-98X",
        "token",
        "http://localhost/f/token",
        {"interests": "retirement", "preferred_channel": "post"},
    )
    lines = _lines(renderer.render(definition, letter_of(definition), content), 1)
    for line in (
        "Mark Yes for your new choice (one only); nothing marked: no change.",
        "Post currently: yes Yes No",
        "Text message currently: no Yes No",
        "Mark Yes or No only where something changes; a row left empty stays as it is.",
        "Retirement currently: yes Yes No",
        "Savings currently: no Yes No",
    ):
        assert line in lines
