"""Choices on paper (issue 17, point 4): each option's own Yes and No box, empty = unchanged.

The document's real PDF, rendered by the service in the current layout, is rasterised, its
boxes crossed as a customer would, and read through the mailroom on SQLite and PostgreSQL
with the real reader; the change set must hold exactly what the customer changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from forms_service.connectors.sql import SqlConnector
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing import layout_v1
from forms_service.issuing.layout import LayoutVersions
from forms_service.issuing.printing import DocumentPrinter
from forms_service.runtime import Runtime
from forms_service.runtime.mailroom import build_mailroom
from forms_service.storage.model import ChangeSet, FieldChangeRow, FieldChangeStatus
from forms_service.storage.scans import ScanPage
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
