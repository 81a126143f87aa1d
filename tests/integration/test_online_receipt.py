"""A real ending: the confirmation is a receipt, also as a PDF, and a processed link shows it.

What was sent, the date and time, the reference, what happens next and how long it takes
(whether an adviser checks it), in French and English; the PDF says the same and its text
can be extracted; after processing, reopening the link shows the receipt, not an error.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pdfplumber
from flask.testing import FlaskClient

from forms_service.runtime import Runtime
from tests.integration.test_online_form import (
    _birth_date,
    _contact_answer,
    _issue,
    _pass_challenge,
    _record,
)


def _answer(client: FlaskClient, runtime: Runtime, path: str) -> str:
    page = _pass_challenge(client, runtime, path)
    record = _record(runtime)
    data = _contact_answer(page, record, city="Lyon", postcode="69003", phone="+33 6 11 22 33 44")
    response = client.post(path, data=data)
    assert response.status_code == 303
    return str(response.headers["Location"])


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def test_the_confirmation_is_a_receipt_with_what_happens_next(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    path = _issue(runtime, "contact-update")
    done = client.get(_answer(client, runtime, path))
    assert done.status_code == 200
    page = done.text
    reference = re.search(r'data-fact="reference">([^<]+)<', page)
    received = re.search(r'data-fact="received">([^<]+)<', page)
    assert reference is not None and received is not None
    assert re.fullmatch(r"\d{1,2} \w+\.? \d{4} \d{2}:\d{2}", received.group(1))
    # City and postcode wait for an adviser (review); the phone is applied (auto).
    steps = re.findall(r'<p class="next-step">([^<]+)</p>', page)
    assert steps[0] == "Un conseiller vérifiera vos 2 modifications sous 5 jours ouvrés."
    assert steps[1] == "Une modification est appliquée sans attendre un conseiller."
    assert steps[2].startswith("Vous n’avez rien d’autre à faire.")
    receipt = client.get(f"{path}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert receipt.headers["Content-Disposition"].startswith("attachment;")
    assert receipt.headers["Cache-Control"] == "no-store"
    text = _text(receipt.data)
    assert "Accusé de réception de votre réponse" in text
    assert reference.group(1) in text and received.group(1) in text
    assert "Lyon" in text and "69003" in text
    assert "Un conseiller vérifiera vos 2 modifications sous 5 jours ouvrés." in text
    assert "Mutuelle Horizon" in text
    # A well-formed PDF for qpdf, as for the readers customers use.
    saved = tmp_path / "receipt.pdf"
    saved.write_bytes(receipt.data)
    checked = subprocess.run(["qpdf", "--check", str(saved)], capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout


def test_the_receipt_in_english(client: FlaskClient, runtime: Runtime) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    path = _issue(runtime, "contact-update")
    page = _pass_challenge_en(client, runtime, path)
    data = _contact_answer(page, _record(runtime), city="Lyon", postcode="69003")
    client.post(path, data=data)
    text = _text(client.get(f"{path}/receipt.pdf").data)
    assert "Receipt of your answer" in text
    assert "An adviser will check your 2 changes within 5 working days." in text


def _pass_challenge_en(client: FlaskClient, runtime: Runtime, path: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).text)
    assert token is not None
    data = {"csrf_token": token.group(1), "birth_date": _birth_date(runtime)}
    assert client.post(f"{path}/challenge", data=data).status_code == 303
    return client.get(path).text


def test_a_processed_link_shows_its_receipt_even_in_a_new_browser(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    _answer(client, runtime, path)
    (change_set,) = [runtime.changes.change_set_of_submission(s) for s in _submissions(runtime)]
    runtime.changes.approve_all(change_set.id, actor="clerk", version=change_set.version)
    assert runtime.changes.change_set(change_set.id).status.value == "applied"
    reopened = client.get(path)
    assert reopened.status_code == 302 and reopened.headers["Location"].endswith("/done")
    receipt = client.get(reopened.headers["Location"])
    assert receipt.status_code == 200
    assert "Vos coordonnées ont été mises à jour le" in receipt.text
    # Another browser answers the identity question first, then sees the receipt.
    other = client.application.test_client()
    first = other.get(path, follow_redirects=True)
    assert first.status_code == 200 and "date de naissance" in first.text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', first.text)
    assert token is not None
    answered = other.post(
        f"{path}/challenge",
        data={"csrf_token": token.group(1), "birth_date": _birth_date(runtime)},
        follow_redirects=True,
    )
    assert answered.status_code == 200
    assert "Vos coordonnées ont été mises à jour le" in answered.text


def _submissions(runtime: Runtime) -> list[str]:
    from sqlalchemy import select

    from forms_service.storage.model import Submission

    with runtime.sessions() as session:
        return list(session.execute(select(Submission.id)).scalars())
