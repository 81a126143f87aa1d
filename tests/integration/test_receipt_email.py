"""Issue 15, point 6: a copy of the receipt by e-mail, through the e-mail provider.

To the address the answer or the source gives, or the one typed; bank details masked as on
the page; the address is never logged nor put in a URL.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.connectors.interfaces import Selection
from forms_service.delivery.local_mail import MailDirectory
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from tests.conftest import hidden_fields
from tests.integration.test_online_form import (
    _birth_date,
    _contact_answer,
    _issue,
    _pass_challenge,
    _record,
)


def _sent(runtime: Runtime) -> list[dict[str, Any]]:
    """The e-mails the file sink wrote under var/mail/, as a relay would have got them."""
    mails = MailDirectory(Path(runtime.settings.var_dir) / "mail")
    sent = []
    for entry in mails.entries():
        message = email.message_from_bytes(mails.read(entry.file), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None
        sent.append(
            {
                "to": entry.recipients[0],
                "subject": str(message["subject"]),
                "text": body.get_content(),
            }
        )
    return sent


def _ask(client: FlaskClient, done: str, path: str, email: str = "") -> Any:
    token = hidden_fields(done)["csrf_token"]
    return client.post(f"{path}/receipt/email", data={"csrf_token": token, "email": email})


def test_the_receipt_is_mailed_to_the_address_on_record_and_not_logged(
    client: FlaskClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    sent = client.post(path, data=_contact_answer(page, record, city="Lyon", postcode="69003"))
    done = client.get(sent.headers["Location"] + "?lang=en").text
    masked = record["email"][0] + "•••@" + record["email"].split("@")[1]
    assert masked in done  # the page says where the copy goes, masked
    with caplog.at_level(logging.DEBUG):
        asked = _ask(client, done, path)
        assert asked.status_code == 303 and asked.headers["Location"].endswith("mail=sent")
        after = client.get(asked.headers["Location"]).text
    assert 'id="mail-sent"' in after and masked in after
    (mail,) = _sent(runtime)
    assert mail["to"] == record["email"]
    assert mail["subject"].startswith("Receipt of your answer")
    assert "Lyon" in mail["text"] and "69003" in mail["text"]
    with runtime.sessions() as session:
        reference = session.execute(select(Document.reference)).scalar_one()
    assert reference in mail["text"] and reference in mail["subject"]
    assert record["email"] not in caplog.text and record["email"] not in asked.headers["Location"]


def test_a_typed_address_wins_and_a_wrong_one_is_said(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    sent = client.post(path, data=_contact_answer(page, _record(runtime), city="Lyon"))
    done = client.get(sent.headers["Location"]).text
    refused = _ask(client, done, path, "not an address")
    assert refused.headers["Location"].endswith("mail=invalid")
    assert _sent(runtime) == []
    _ask(client, done, path, "Claire.Dupont@Example.org")
    (mail,) = _sent(runtime)
    assert mail["to"].lower() == "claire.dupont@example.org"


def test_the_bank_details_copy_shows_the_iban_masked(client: FlaskClient, runtime: Runtime) -> None:
    key = "C000003"
    (issued,) = runtime.issuing.issue("bank-details", Selection(keys=(key,)), "t")
    path = issued.link.removeprefix("http://localhost")
    record = _record(runtime, key)
    first = client.get(path)
    answer = client.post(
        f"{path}/challenge",
        data={
            "csrf_token": hidden_fields(first.text)["csrf_token"],
            "birth_date": _birth_date(runtime, key),
            "postcode": record["postcode"],
        },
    )
    assert answer.status_code == 303
    form = client.get(path).text
    fields = hidden_fields(form)
    new_iban = "FR7630006000011234567890189"
    sent = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "account_holder": record["account_holder"],
            "iban": new_iban,
            "mandate": "y",
        },
    )
    assert sent.status_code == 303, sent.text
    done = client.get(sent.headers["Location"]).text
    _ask(client, done, path)
    (mail,) = _sent(runtime)
    assert new_iban not in mail["text"] and new_iban not in json.dumps(mail)
    assert "•••0 189" in mail["text"]
