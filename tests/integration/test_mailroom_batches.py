"""A mailroom batch is not a customer upload (issue 17): its own size limit, stored from disk.

A morning's scans (a 48-page batch of 28 MB, say) were refused by the customers' 20 MB
MAX_CONTENT_LENGTH with a page that did not say why. The mailroom's screen, API and CLI take
batches up to MAILROOM_MAX_BATCH_BYTES (500 MB by default), and refuse a batch over it with
the mailroom's own page (or problem, or CLI error) naming its size and the limit, storing
nothing. Real multi-page TIFFs of real issued pages, uncompressed as scanners write them;
pages are only queued here (reading them is test_mailroom.py's business).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from forms_service.cli import cli
from forms_service.connectors.interfaces import Selection
from forms_service.intake.mailroom.service import MAX_BATCH_BYTES, BatchTooLarge, megabytes
from forms_service.runtime import Runtime
from forms_service.storage.scans import ScanBatch, ScanFile
from tests.conftest import hidden_fields
from tests.integration.reviewing import add_token, add_user, csrf_of, english_client, sign_in
from tests.mailroom_scans import issue, scanned_page

FORM = "contact-update"
MB = 1024 * 1024


@pytest.fixture
def client(app: Any) -> FlaskClient:
    """The mailroom's screens in English (the French page is checked once below)."""
    return english_client(app)


def _tiff(runtime: Runtime, pages: int) -> bytes:
    """A multi-page uncompressed TIFF of real form pages at 200 dpi (3.9 MB a page)."""
    document = issue(runtime, FORM, "C000001")
    image = Image.fromarray(scanned_page(runtime, document, FORM))
    out = io.BytesIO()
    image.save(
        out, "TIFF", compression="raw", save_all=True, append_images=[image] * (pages - 1),
        dpi=(200, 200),
    )  # fmt: skip
    return out.getvalue()


def _batches(runtime: Runtime) -> list[tuple[int, int]]:
    """(pages, stored bytes) of every batch."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(ScanBatch.pages_total, func.sum(ScanFile.size))
            .join(ScanFile, ScanFile.batch_id == ScanBatch.id)
            .group_by(ScanBatch.id, ScanBatch.pages_total)
        ).all()
    return [(int(pages), int(size)) for pages, size in rows]


def _post(
    client: FlaskClient,
    url: str,
    content: bytes,
    *,
    field: str = "files",
    filename: str = "morning.tiff",
    headers: dict[str, str] | None = None,
    **form: str,
) -> Any:
    """POST a multipart body built in memory (the test client would spool a large one to a
    temporary file it never closes)."""
    values = MultiDict([*form.items(), (field, FileStorage(io.BytesIO(content), filename))])
    boundary, body = encode_multipart(values)
    return client.post(
        url,
        data=body,
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _send(client: FlaskClient, content: bytes) -> Any:
    token = csrf_of(client.get("/mailroom/").text)
    return _post(client, "/mailroom/batches", content, csrf_token=token)


def _send_api(client: FlaskClient, token: str, content: bytes) -> Any:
    return _post(client, "/api/v1/scans", content, headers={"Authorization": f"Bearer {token}"})


def test_a_batch_over_the_customers_limit_goes_through_screen_api_and_cli(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    batch = _tiff(runtime, 7)
    customers = client.application.config["MAX_CONTENT_LENGTH"]
    assert customers == 20 * MB < len(batch) < runtime.mailroom.max_batch_bytes
    assert runtime.mailroom.max_batch_bytes == MAX_BATCH_BYTES >= 500 * 1000 * 1000

    add_user(runtime, "mary", ["mailroom"])
    sign_in(client, "mary")
    sent = _send(client, batch)
    assert sent.status_code == 303, sent.text[:300]
    assert _batches(runtime) == [(7, len(batch))]

    token = add_token(runtime, "scanner", ["mailroom"])
    api = _send_api(client, token, batch)
    assert api.status_code == 202, api.text[:300]
    assert api.get_json()["pages_total"] == 7

    path = tmp_path / "morning.tiff"
    path.write_bytes(batch)
    result = client.application.test_cli_runner().invoke(cli, ["mailroom", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 file(s), 7 page(s) queued" in result.output
    assert _batches(runtime) == [(7, len(batch))] * 3
    # The same content is stored once, whole (the file store is content-addressed).
    with runtime.sessions() as session:
        keys = set(session.execute(select(ScanFile.content_key)).scalars())
    (key,) = keys
    assert runtime.files.get(key) == batch


def test_a_batch_over_the_mailroom_limit_gets_the_mailroom_page_with_its_figures(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    batch = _tiff(runtime, 7)  # 27 MB (26 MiB: the service counts MB of 1024 KB)
    size = megabytes(len(batch))
    assert size == "26"
    runtime.mailroom.max_batch_bytes = 2 * MB
    add_user(runtime, "mary", ["mailroom"])
    sign_in(client, "mary")

    refused = _send(client, batch)
    assert refused.status_code == 413
    assert 'data-code="batch_too_large"' in refused.text
    assert "the batch is 26 MB, over the mailroom&#39;s limit of 2.0 MB: split it" in refused.text
    assert "mailroom" in refused.text and "This link does not work" not in refused.text
    # Just over the limit (the request within its envelope): the mailroom refuses it itself,
    # on the upload screen, with the same figures.
    runtime.mailroom.max_batch_bytes = len(batch) - MB // 2
    near = _send(client, batch)
    assert near.status_code == 413
    assert f"over the mailroom&#39;s limit of {megabytes(len(batch) - MB // 2)} MB" in near.text

    token = add_token(runtime, "scanner", ["mailroom"])
    runtime.mailroom.max_batch_bytes = 2 * MB
    api = _send_api(client, token, batch)
    assert api.status_code == 413
    problem = api.get_json()
    assert (problem["code"], problem["field"]) == ("batch_too_large", "files")
    assert problem["reason"] == "the batch is 26 MB, over the mailroom's limit of 2.0 MB: split it"

    path = tmp_path / "morning.tiff"
    path.write_bytes(batch)
    result = client.application.test_cli_runner().invoke(cli, ["mailroom", "import", str(path)])
    assert isinstance(result.exception, BatchTooLarge)
    assert result.exception.reason == api.get_json()["reason"]
    # The mailroom's page in the screen's language.
    french = client.application.test_client()
    sign_in(french, "mary")
    french.post("/backoffice/language", data={"lang": "fr", "csrf_token": csrf_of(
        french.get("/mailroom/").text)})  # fmt: skip
    runtime.mailroom.max_batch_bytes = 2 * MB
    refused_fr = _send(french, batch)
    assert refused_fr.status_code == 413
    assert "le lot fait 26 Mo, au-delà de la limite du service courrier (2.0 Mo)" in (
        refused_fr.text
    )
    assert _batches(runtime) == []  # nothing stored by any of them


def test_a_customers_upload_keeps_the_customers_limit(
    client: FlaskClient, runtime: Runtime
) -> None:
    batch = _tiff(runtime, 7)
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000002",)), "t")
    path = issued.link.removeprefix("http://localhost")
    page = client.get(f"{path}/upload")
    refused = _post(
        client,
        f"{path}/upload",
        b"%PDF-1.7\n" + batch,
        field="file",
        filename="formulaire.pdf",
        csrf_token=hidden_fields(page.text)["csrf_token"],
    )
    assert refused.status_code == 413
    assert "batch_too_large" not in refused.text
