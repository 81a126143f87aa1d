"""Issue 15, point 3: a RIB attached beside the new IBAN, checked, kept private, shown to both
reviewers; and a file attached to an answer in progress still attached when it is resumed.
"""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, Submission
from tests.conftest import hidden_fields
from tests.integration.reviewing import add_user, sign_in
from tests.integration.test_online_form import _answer_challenge, _birth_date, _issue, _record

NEW_IBAN = "FR7630006000011234567890189"
ROOT = Path(__file__).resolve().parents[1]


def _rib_pdf() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 720, "RELEVE D'IDENTITE BANCAIRE  FR76 3000 6000 0112 3456 7890 189")
    canvas.save()
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 120), "white").save(out, format="PNG")
    return out.getvalue()


def _open_bank_form(client: FlaskClient, runtime: Runtime) -> tuple[str, str]:
    path = _issue(runtime, "bank-details")
    record = _record(runtime)
    answer = _answer_challenge(
        client, path, {"birth_date": _birth_date(runtime), "postcode": record["postcode"]}
    )
    assert answer.status_code == 303
    return path, client.get(path).text


def _answer(page: str, **extra: Any) -> dict[str, Any]:
    fields = hidden_fields(page)
    return {
        "csrf_token": fields["csrf_token"],
        "base": fields["base"],
        "account_holder": "Jean Dupont",
        "iban": NEW_IBAN,
        "mandate": "y",
        **extra,
    }


def _file(content: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), name


def test_a_rib_is_taken_beside_the_iban_and_both_reviewers_see_it(
    client: FlaskClient, runtime: Runtime
) -> None:
    path, page = _open_bank_form(client, runtime)
    assert 'enctype="multipart/form-data"' in page and 'name="attachment"' in page
    assert (
        page.index('name="iban"') < page.index('name="attachment"') < page.index('name="mandate"')
    )
    rib = _rib_pdf()
    sent = client.post(
        path,
        data=_answer(page, attachment=_file(rib, "rib.pdf")),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, sent.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        change_set = session.execute(select(ChangeSet)).scalar_one()
    proof = submission.evidence["iban"]
    assert proof["attachment_type"] == "application/pdf" and proof["size"] == len(rib)
    # In the private file store: the content, readable by the service's user only.
    assert runtime.files.get(proof["attachment"]) == rib
    stored = runtime.files._path(proof["attachment"])
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # Both reviewers of the four-eyes IBAN see it beside the change, and download it.
    for clerk in ("clerk1", "clerk2"):
        add_user(runtime, clerk, ["clerk"])
        office = client.application.test_client()
        assert sign_in(office, clerk) == 303
        screen = office.get(f"/backoffice/change-sets/{change_set.id}").text
        assert 'data-evidence="attachment"' in screen
        download = office.get(f"/backoffice/change-sets/{change_set.id}/fields/iban/attachment")
        assert download.status_code == 200 and download.data == rib
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"].startswith("attachment;")
    # A customer cannot reach it.
    anonymous = client.application.test_client()
    refused = anonymous.get(f"/backoffice/change-sets/{change_set.id}/fields/iban/attachment")
    assert refused.status_code in (302, 401, 403)


def test_a_file_that_is_not_a_pdf_or_an_image_or_too_large_is_refused_on_its_field(
    client: FlaskClient, runtime: Runtime
) -> None:
    path, page = _open_bank_form(client, runtime)
    for content, name, words in (
        (b"MZ\x90\x00 not a RIB", "rib.pdf", "is not a PDF, PNG or JPEG"),
        (_rib_pdf()[:-40], "cut.pdf", "incomplete or damaged"),
        (_png()[:60], "cut.png", "incomplete or damaged"),
    ):
        client.get(path + "?lang=en")
        refused = client.post(
            path,
            data=_answer(page, attachment=_file(content, name)),
            content_type="multipart/form-data",
        )
        assert refused.status_code == 422, name
        assert words in refused.text, name
        assert 'id="attachment-error"' in refused.text and 'href="#attachment"' in refused.text
        assert 'aria-invalid="true"' in refused.text
    with runtime.sessions() as session:
        assert session.execute(select(Submission)).first() is None


def test_a_file_over_the_definition_s_limit_is_refused_unread() -> None:
    from forms_service.definitions.attachment import Attachment
    from forms_service.intake.online.attachments import AttachmentTooLarge, check_attachment

    rib = Attachment("iban", {"fr": "RIB", "en": "RIB"}, max_megabytes=1)
    check_attachment(_rib_pdf(), rib)
    try:
        check_attachment(b"%PDF-1.4\n" + b"0" * (1024 * 1024), rib)
    except AttachmentTooLarge as refused:
        assert refused.params == {"max": 1}
    else:
        raise AssertionError("a file over the limit was taken")


def test_a_file_attached_to_an_answer_in_progress_survives_the_resume(
    client: FlaskClient, runtime: Runtime
) -> None:
    path, page = _open_bank_form(client, runtime)
    picture = _png()
    # The page's script sends the file with the first save after it is chosen.
    saved = client.post(
        f"{path}/draft",
        data=_answer(page, iban="", attachment=_file(picture, "rib.png")),
        content_type="multipart/form-data",
    )
    assert saved.status_code == 200
    # ... and not with the next ones: the draft keeps it.
    assert client.post(f"{path}/draft", data=_answer(page, iban="")).status_code == 200
    # Another browser, after the identity question, finds it attached.
    other = client.application.test_client()
    record = _record(runtime)
    _answer_challenge(
        other, path, {"birth_date": _birth_date(runtime), "postcode": record["postcode"]}
    )
    resumed = other.get(path).text
    assert 'data-attachment="image/png"' in resumed and 'name="attachment_kept"' in resumed
    sent = other.post(path, data=_answer(resumed, attachment_kept="1"))
    assert sent.status_code == 303
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
    assert runtime.files.get(submission.evidence["iban"]["attachment"]) == picture
