"""Every change set shows its real channel and origin: online, PDF return, PDF read by scan, paper.

Real answers on each channel: an online submit, a fillable PDF filled by pypdf, a PDF whose
fields are gone (a scanned page saved as PDF, read by the mailroom's real pipeline) and a
paper scan; jobs run eagerly. The back office and the API are driven over HTTP.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.intake.mailroom.service import Upload
from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, Document, PdfReturn, Submission
from tests.integration.reviewing import add_token, add_user, answer, english_client, sign_in
from tests.mailroom_scans import as_pdf, as_png, issue, scanned_page
from tests.ocr_pages import Answers
from tests.pdf_forms import fill_with_pypdf

Row = TypeVar("Row", ChangeSet, PdfReturn)

FORM = "contact-update"
CHANNEL_LABELS = {
    "online": "Online form",
    "pdf": "PDF return (fields read)",
    "pdf_scan": "PDF return read by scan",
    "paper": "Paper scan",
}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """These tests read the English screens (the French ones: test_backoffice_languages.py)."""
    return english_client(app)


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Scanned pages are read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def _token_of(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return runtime.issuing.token_for(document)


def _of_document(runtime: Runtime, model: type[Row], document_id: str) -> Row:
    """The one `model` row (a change set, a PDF return) of the document, detached."""
    with runtime.sessions() as session:
        found = session.execute(select(model).where(model.document_id == document_id)).scalar_one()
        session.expunge(found)
        return found


def _change_set_of(runtime: Runtime, document_id: str) -> ChangeSet:
    return _of_document(runtime, ChangeSet, document_id)


def _return_of(runtime: Runtime, document_id: str) -> PdfReturn:
    return _of_document(runtime, PdfReturn, document_id)


def _channel_of_submission(runtime: Runtime, submission_id: str) -> str:
    with runtime.sessions() as session:
        found = session.get(Submission, submission_id)
        assert found is not None
        return found.channel


def _one_of_each(runtime: Runtime) -> dict[str, str]:
    """A change set per channel: channel -> document id."""
    online = answer(runtime, FORM, {"city": "Lyon"}, key="C000001")
    fillable = issue(runtime, FORM, "C000002")
    filled = fill_with_pypdf(runtime.printer.pdf_for(fillable), {"city": "Nantes"})
    runtime.pdf_returns.receive(
        filled, link_token=_token_of(runtime, fillable), via="upload", actor="customer"
    )
    flattened = issue(runtime, FORM, "C000003")
    page = scanned_page(runtime, flattened, FORM, Answers(texts={"city": "CAEN"}))
    runtime.pdf_returns.receive(
        as_pdf([page]), link_token=_token_of(runtime, flattened), via="upload", actor="customer"
    )
    paper = issue(runtime, FORM, "C000004")
    letter = scanned_page(runtime, paper, FORM, Answers(texts={"city": "BREST"}))
    runtime.mailroom.receive([Upload("page.png", as_png(letter))], source="cli", actor="test")
    with runtime.sessions() as session:
        online_document = session.get_one(ChangeSet, online).document_id
    return {"online": online_document, "pdf": fillable, "pdf_scan": flattened, "paper": paper}


def _meta_channel(page: str) -> str:
    found = re.search(r'<dd data-origin="([a-z_]+)">([^<]*)</dd>', page)
    assert found is not None, "the change set shows no origin"
    return f"{found.group(1)}={found.group(2)}"


def test_each_change_set_shows_its_real_channel_and_origin(
    client: FlaskClient, runtime: Runtime
) -> None:
    documents = _one_of_each(runtime)
    sets = {channel: _change_set_of(runtime, doc) for channel, doc in documents.items()}
    # Stored as they came: the flattened PDF return is no longer called paper.
    assert {c: cs.channel for c, cs in sets.items()} == {c: c for c in sets}
    assert {c: _channel_of_submission(runtime, cs.submission_id) for c, cs in sets.items()} == {
        c: c for c in sets
    }
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303

    queue = client.get("/backoffice/?status=").text
    for channel, change_set in sets.items():
        row = re.search(rf'data-change-set="{change_set.id}">(.*?)</tr>', queue, re.S)
        assert row is not None, channel
        assert f'<td data-channel="{channel}">{CHANNEL_LABELS[channel]}</td>' in row.group(1)

    pages = {c: client.get(f"/backoffice/change-sets/{cs.id}").text for c, cs in sets.items()}
    assert {c: _meta_channel(p) for c, p in pages.items()} == {
        c: f"{c}={label}" for c, label in CHANNEL_LABELS.items()
    }
    # Online: no return, no scan.
    assert "data-evidence" not in pages["online"]
    # The PDF returns name their return; a clerk without the mailroom role sees its id only.
    for channel in ("pdf", "pdf_scan"):
        pdf_return = _return_of(runtime, documents[channel])
        assert f'<code data-evidence="pdf-return-id">{pdf_return.id}</code>' in pages[channel]
        assert "/mailroom/returns/" not in pages[channel]
    # The returned PDF itself is evidence a clerk may download (for both PDF returns).
    for channel in ("pdf", "pdf_scan"):
        link = f"/backoffice/change-sets/{sets[channel].id}/returned-pdf"
        assert f'href="{link}"' in pages[channel]
        download = client.get(link)
        assert download.status_code == 200
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["Cache-Control"] == "private, no-store"
        assert download.data == runtime.files.get(_return_of(runtime, documents[channel]).file_key)
    no_pdf = client.get(f"/backoffice/change-sets/{sets['paper'].id}/returned-pdf")
    assert no_pdf.status_code == 404
    # Scanned answers link their page images (clerks may see them), and name their batch.
    for channel in ("pdf_scan", "paper"):
        images = re.findall(
            r'href="(/mailroom/pages/[^"]+/image)" data-evidence="scan-page"', pages[channel]
        )
        assert len(images) == 1, channel
        image = client.get(images[0])
        assert image.status_code == 200 and image.data[:4] == b"\x89PNG"
        assert 'data-evidence="scan-batch-id"' in pages[channel]
        assert "/mailroom/batches/" not in pages[channel]
    assert 'data-evidence="scan-page"' not in pages["pdf"]


def test_a_clerk_of_the_mailroom_too_follows_the_links_to_the_return_and_the_batch(
    client: FlaskClient, runtime: Runtime
) -> None:
    documents = _one_of_each(runtime)
    add_user(runtime, "both", ["clerk", "mailroom"])
    assert sign_in(client, "both") == 303
    for channel, kind in (
        ("pdf", "pdf-return"),
        ("pdf_scan", "pdf-return"),
        ("pdf_scan", "scan-batch"),
        ("paper", "scan-batch"),
    ):
        change_set = _change_set_of(runtime, documents[channel])
        page = client.get(f"/backoffice/change-sets/{change_set.id}").text
        links = re.findall(rf'href="([^"]+)" data-evidence="{kind}"', page)
        assert len(links) == 1, (channel, kind)
        target = client.get(links[0])
        assert target.status_code == 200, (channel, kind)
        if kind == "pdf-return":
            assert _return_of(runtime, documents[channel]).id in target.text
        else:
            assert "data-page=" in target.text


def test_the_queue_filters_by_each_channel(client: FlaskClient, runtime: Runtime) -> None:
    documents = _one_of_each(runtime)
    ids = {c: _change_set_of(runtime, d).id for c, d in documents.items()}
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    queue = client.get("/backoffice/").text
    options = re.findall(
        r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>',
        queue.split('id="channel"')[1].split("</select>")[0],
    )
    assert dict(options) == CHANNEL_LABELS
    for channel, change_set_id in ids.items():
        page = client.get(f"/backoffice/?channel={channel}&status=").text
        assert set(re.findall(r'data-change-set="([^"]+)"', page)) == {change_set_id}, channel
        assert f'<option value="{channel}" selected>' in page
    unknown = client.get("/backoffice/?channel=fax&status=").text
    assert "Some filters were not understood" in unknown
    assert set(re.findall(r'data-change-set="([^"]+)"', unknown)) == set(ids.values())


def test_the_api_uses_the_same_channel_values_and_documents_them(
    client: FlaskClient, runtime: Runtime
) -> None:
    documents = _one_of_each(runtime)
    token = add_token(runtime, "reader", ["clerk"])
    headers = {"Authorization": f"Bearer {token}"}
    for channel, document_id in documents.items():
        listed = client.get(f"/api/v1/change-sets?channel={channel}&status=", headers=headers)
        if listed.status_code == 422:  # an empty status is no status: ask every one
            listed = client.get(f"/api/v1/change-sets?channel={channel}", headers=headers)
        assert listed.status_code == 200, listed.text
        items = listed.get_json()["items"]
        change_set = _change_set_of(runtime, document_id)
        if change_set.status.value in ("open", "conflict"):
            assert [(i["id"], i["channel"]) for i in items] == [(change_set.id, channel)]
        submissions = client.get(f"/api/v1/submissions?channel={channel}", headers=headers)
        assert submissions.status_code == 200, submissions.text
        assert [s["document_id"] for s in submissions.get_json()["items"]] == [document_id]
        detail = client.get(f"/api/v1/change-sets/{change_set.id}", headers=headers).get_json()
        assert detail["channel"] == channel
        origin = detail["origin"]
        if channel in ("pdf", "pdf_scan"):
            assert origin["pdf_return_id"] == _return_of(runtime, document_id).id
        else:
            assert origin["pdf_return_id"] is None
        assert (len(origin["page_ids"]), len(origin["batch_ids"])) == (
            (1, 1) if channel in ("pdf_scan", "paper") else (0, 0)
        )
    refused = client.get("/api/v1/change-sets?channel=fax", headers=headers)
    assert refused.status_code == 422
    assert "channel" in refused.text

    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    expected = list(CHANNEL_LABELS)
    for name in ("QueueEntry", "ChangeSet", "Submission"):
        channel = schemas[name]["properties"]["channel"]
        assert channel["enum"] == expected, name
        assert "pdf_scan" in channel["description"]
    for path in ("/api/v1/change-sets", "/api/v1/submissions"):
        (parameter,) = [
            p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "channel"
        ]
        assert parameter["schema"]["enum"] == expected, path
    assert "origin" in schemas["ChangeSet"]["required"]
