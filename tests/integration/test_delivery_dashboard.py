"""The closed-loop dashboard: every figure reconciled with the raw rows, and its page.

A campaign of real documents (issued through the service, answered online through it), whose
history events and timestamps are set to known moments: the funnel per channel, the rates
and the times must be exactly what the rows say, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, func, select, update

from forms_service.connectors.interfaces import Selection
from forms_service.delivery import dashboard
from forms_service.runtime import Runtime
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    FieldChangeRow,
    Submission,
)
from tests.integration.reviewing import add_user, answer, english_client, sign_in

FORM = "contact-update"
CAMPAIGN = "spring"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return english_client(app)


def _set(runtime: Runtime, model: Any, where: Any, **values: Any) -> None:
    table = model.__table__
    assert isinstance(table, Table)
    with runtime.sessions() as session, session.begin():
        session.execute(update(table).where(where(table)).values(**values))


def _answered(runtime: Runtime, key: str, changes: dict[str, object]) -> tuple[str, str]:
    """Answer online (a document of the `test` campaign moved into ours): (document, cs)."""
    change_set_id = answer(runtime, FORM, changes, key)
    with runtime.sessions() as session:
        cs = session.get(ChangeSet, change_set_id)
        assert cs is not None
        document_id = cs.document_id
    _set(runtime, Document, lambda t: t.c.id == document_id, campaign=CAMPAIGN)
    return document_id, change_set_id


def _events(
    runtime: Runtime, document_id: str, *events: tuple[EventKind, str | None, dt.datetime]
) -> None:
    with runtime.sessions() as session, session.begin():
        for kind, channel, at in events:
            record_event(session, document_id, kind, at=at, channel=channel)


def _campaign(runtime: Runtime) -> dict[str, str]:
    """Ten documents in every situation the dashboard tells apart: name -> document id."""
    docs: dict[str, str] = {}
    # e-mail, answered 1 day after the send, applied automatically 2 hours later.
    docs["email_auto"], cs_auto = _answered(runtime, "C000001", {"city": "Lyon"})
    # e-mail, answered 3 days after, applied after a clerk's decision 1 day later.
    docs["email_clerk"], cs_clerk = _answered(runtime, "C000002", {"city": "Lille"})
    # e-mail bounced, fell back to SMS, answered 2 days after the first send, not yet decided.
    docs["bounced"], _ = _answered(runtime, "C000003", {"city": "Metz"})
    # A letter printed, answered on paper (here: online) with nothing to change.
    docs["letter"], cs_letter = _answered(runtime, "C000006", {})
    # SMS delivered, opened, not answered; SMS sent, no report, not opened; a letter
    # printed, not answered; one document the service sent nothing for.
    keys = {
        "sms_opened": "C000004",
        "sms_sent": "C000005",
        "letter_silent": "C000007",
        "unsent": "C000008",
    }
    issued = list(runtime.issuing.issue(FORM, Selection(keys=tuple(keys.values())), CAMPAIGN))
    by_key = {item.key: item.document_id for item in issued}
    for name, key in keys.items():
        docs[name] = by_key[key]
    _events(runtime, docs["email_auto"], (EventKind.SENT, "email", T0))
    _events(runtime, docs["email_clerk"], (EventKind.SENT, "email", T0))
    _events(
        runtime,
        docs["bounced"],
        (EventKind.SENT, "email", T0),
        (EventKind.BOUNCED, "email", T0 + HOUR),
        (EventKind.FALLBACK, "sms", T0 + 2 * HOUR),
        (EventKind.SENT, "sms", T0 + 2 * HOUR),
        (EventKind.DELIVERED, "sms", T0 + 3 * HOUR),
    )
    _events(
        runtime,
        docs["sms_opened"],
        (EventKind.SENT, "sms", T0),
        (EventKind.DELIVERED, "sms", T0 + HOUR),
        (EventKind.OPENED, "online", T0 + 5 * HOUR),
    )
    _events(runtime, docs["sms_sent"], (EventKind.SENT, "sms", T0))
    _events(runtime, docs["letter"], (EventKind.PRINTED, "letter", T0))
    _events(runtime, docs["letter_silent"], (EventKind.PRINTED, "letter", T0))
    # The answered documents' moments: received, and closed as applied.
    moments = {
        "email_auto": (T0 + DAY, T0 + DAY + 2 * HOUR, cs_auto),
        "email_clerk": (T0 + 3 * DAY, T0 + 4 * DAY, cs_clerk),
    }
    for name, (received, closed, cs_id) in moments.items():
        _set(
            runtime, Submission, lambda t, d=docs[name]: t.c.document_id == d, received_at=received
        )
        _set(
            runtime,
            ChangeSet,
            lambda t, c=cs_id: t.c.id == c,
            status=ChangeSetStatus.APPLIED.value,
            closed_at=closed,
        )
        _set(runtime, Document, lambda t, d=docs[name]: t.c.id == d, opened_at=received - HOUR)
    _set(runtime, FieldChangeRow, lambda t: t.c.change_set_id == cs_clerk, first_reviewer="clerk")
    _set(runtime, FieldChangeRow, lambda t: t.c.change_set_id == cs_auto, first_reviewer=None)
    _set(
        runtime,
        Submission,
        lambda t: t.c.document_id == docs["bounced"],
        received_at=T0 + 2 * DAY,
    )
    _set(runtime, Document, lambda t: t.c.id == docs["bounced"], opened_at=T0 + 2 * DAY - HOUR)
    _set(runtime, Submission, lambda t: t.c.document_id == docs["letter"], received_at=T0 + 6 * DAY)
    _set(
        runtime,
        ChangeSet,
        lambda t: t.c.id == cs_letter,
        status=ChangeSetStatus.NO_CHANGE.value,
        closed_at=T0 + 6 * DAY,
    )
    return docs


def test_the_funnel_per_channel_is_what_the_rows_say(runtime: Runtime) -> None:
    _campaign(runtime)
    with runtime.sessions() as session:
        rows = {row.channel: row for row in dashboard.funnel(session, campaign=CAMPAIGN)}
        # Reconciled with the raw rows: every document once, every answer once.
        documents = session.execute(
            select(func.count()).where(Document.campaign == CAMPAIGN)
        ).scalar_one()
        answered = session.execute(
            select(func.count(func.distinct(Submission.document_id)))
            .join(Document, Document.id == Submission.document_id)
            .where(Document.campaign == CAMPAIGN)
        ).scalar_one()
    assert sum(row.issued for row in rows.values()) == documents == 8
    assert sum(row.answered for row in rows.values()) == answered == 4
    assert set(rows) == {"email", "sms", "letter", "none"}

    email, sms, letter, none = rows["email"], rows["sms"], rows["letter"], rows["none"]
    # e-mail: two documents (the bounced one counts under SMS, which brought its answer).
    assert (email.issued, email.sent, email.delivered, email.opened) == (2, 2, 2, 2)
    assert (email.answered, email.applied, email.straight_through) == (2, 2, 1)
    assert email.response_rate == 1.0 and email.straight_through_rate == 0.5
    # Answers after 1 and 3 days: p50 2 days, p90 2.8 days (interpolated).
    assert email.answer_p50 == 2 * DAY.total_seconds()
    assert email.answer_p90 == pytest.approx(2.8 * DAY.total_seconds())
    assert email.apply_p50 == (2 * HOUR + DAY).total_seconds() / 2
    # SMS: the bounced-then-SMS answer, one opened, one only sent.
    assert (sms.issued, sms.sent, sms.delivered, sms.opened, sms.answered) == (3, 3, 2, 2, 1)
    assert (sms.applied, sms.bounced, sms.fallbacks) == (0, 1, 1)
    # Time to answer counts from the first send (the e-mail), two days before.
    assert sms.answer_p50 == 2 * DAY.total_seconds()
    assert sms.apply_p50 is None and sms.straight_through_rate is None
    # Letters: both printed (delivered), one answered with nothing to change: straight through.
    assert (letter.issued, letter.sent, letter.delivered, letter.answered) == (2, 2, 2, 1)
    assert (letter.applied, letter.straight_through) == (1, 1)
    assert letter.answer_p50 == 6 * DAY.total_seconds()
    assert (none.issued, none.sent, none.delivered, none.answered) == (1, 0, 0, 0)

    total = dashboard.totals(rows.values())
    assert (total.issued, total.answered, total.applied, total.straight_through) == (8, 4, 3, 2)
    assert total.response_rate == 0.5
    with runtime.sessions() as session:
        (summary,) = [c for c in dashboard.campaigns(session) if c.campaign == CAMPAIGN]
    assert (summary.issued, summary.answered, summary.forms) == (8, 4, (FORM,))


def test_the_campaign_page_shows_charts_and_figures_to_supervisors(
    runtime: Runtime, client: FlaskClient
) -> None:
    _campaign(runtime)
    add_user(runtime, "manager", ["supervisor"])
    add_user(runtime, "clerk1", ["clerk"])
    assert sign_in(client, "manager") == 303
    listing = client.get("/backoffice/campaigns")
    assert listing.status_code == 200
    assert f'data-campaign-issued="{CAMPAIGN}">8<' in listing.text
    page = client.get(f"/backoffice/campaigns/{CAMPAIGN}")
    assert page.status_code == 200
    html = page.text
    # One funnel per channel and for all of them, then rates and times: SVG with names.
    assert html.count('<svg viewBox="0 0') == 5 + 3
    assert 'role="img"' in html and "Funnel, e-mail" in html and "Funnel, all channels" in html
    row = re.search(r'<tr data-channel="sms">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = dict(re.findall(r'data-stage="(\w+)">([^<]*)<', row.group(1)))
    assert cells == {
        "issued": "3",
        "sent": "3",
        "delivered": "2",
        "opened": "2",
        "answered": "1",
        "applied": "0",
    }
    assert re.search(r'data-figure="bounced">1<', row.group(1))
    assert 'data-overall="response_rate">50%<' in html
    # Bars are scaled to the documents issued: the e-mail funnel's "answered" is full width.
    assert re.search(
        r'data-label="answered">\s*<text[^>]*>answered</text>\s*<rect[^>]*width="330', html
    )
    assert client.get("/backoffice/campaigns/nope").status_code == 404
    assert client.get("/backoffice/campaigns/" + "x" * 65).status_code == 404

    other = english_client(client.application)
    assert sign_in(other, "clerk1") == 303
    assert other.get(f"/backoffice/campaigns/{CAMPAIGN}").status_code == 403
