"""Issuing with an in-memory source: snapshots, challenge digests, campaigns, revocation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forms_service.connectors.interfaces import Selection
from forms_service.connectors.memory import InMemoryConnector
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.definitions.service import DefinitionSet, load_definitions
from forms_service.issuing.identity import KEYED, AnswerDigester
from forms_service.issuing.service import IssuingService, snapshot_of
from forms_service.issuing.tokens import LinkSigner, SigningKey
from forms_service.storage import migrate
from forms_service.storage.model import AuditEvent, Document, DocumentStatus
from forms_service.storage.service import make_engine, make_session_factory

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
NOW = dt.datetime(2026, 11, 23, 9, 30, 12, 345678, tzinfo=dt.UTC)
CUSTOMER: dict[str, Any] = {
    "customer_no": "C1",
    "address_line": "12  rue des Lilas",
    "address_extra": None,
    "postcode": "69 003",
    "city": "Lyon",
    "email": "Jean.Dupont@Example.fr",
    "phone": "0639062210",  # refused by the phone type: kept as text in the snapshot
    "birth_date": dt.date(1987, 4, 23),
    "consent_email": True,
    "consent_sms": False,
    "consent_partners": None,
    "preferred_channel": "post",
    "interests": "",
}

ANSWER_KEY = b"k" * 40


@pytest.fixture(scope="module")
def definitions() -> DefinitionSet:
    return load_definitions(SHIPPED)


@pytest.fixture
def issuing(tmp_path: Path, definitions: DefinitionSet) -> Iterator[IssuingService]:
    url = f"sqlite:///{tmp_path / 'forms.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url, immediate=True)
    source = InMemoryConnector(
        "crm", {"customer": {"C1": CUSTOMER, "C2": {**CUSTOMER, "customer_no": "C2"}}}
    )
    yield IssuingService(
        make_session_factory(engine),
        definitions,
        {"crm": source},
        LinkSigner([SigningKey.parse("k1:" + "s" * 40)]),
        "https://forms.example.fr/",
        clock=lambda: NOW,
        answers=AnswerDigester(ANSWER_KEY),
    )
    engine.dispose()


def test_snapshot_is_canonical_and_keeps_refused_values_as_text(
    definitions: DefinitionSet,
) -> None:
    snapshot = snapshot_of(definitions["contact-update"], CUSTOMER)
    assert snapshot == {
        "address_line": "12 rue des Lilas",
        "address_extra": None,
        "postcode": "69003",
        "city": "Lyon",
        "email": "jean.dupont@example.fr",
        "phone": "0639062210",
    }  # no signature: it maps to no column
    consent = snapshot_of(definitions["consent-preferences"], CUSTOMER)
    assert consent["consent_email"] == "true"
    assert consent["consent_sms"] == "false"
    assert consent["consent_partners"] is None
    assert consent["interests"] is None


def test_issue_stores_a_document_with_expiry_digests_and_an_audit_event(
    issuing: IssuingService,
) -> None:
    (line,) = issuing.issue("contact-update", Selection(keys=("C1",)), "spring", actor="tester")
    assert line.created
    assert line.link.startswith("https://forms.example.fr/f/")  # no double slash
    assert line.expires_at == (NOW + dt.timedelta(days=60)).replace(microsecond=0)
    claims = issuing.signer.verify(line.link.rsplit("/", 1)[1], NOW)
    assert claims.document_id == line.document_id
    with issuing.sessions() as session:
        document = session.get(Document, line.document_id)
        assert document is not None
        assert document.status is DocumentStatus.ISSUED
        assert document.issued_at == NOW
        salt = document.challenge_digests["salt"]
        stored = document.challenge_digests["birth_date"]
        assert stored.startswith(KEYED)  # keyed with the secret, not a plain salted hash
        assert stored == AnswerDigester(ANSWER_KEY).digest(salt, "1987-04-23")
        assert stored != AnswerDigester(b"another key" * 4).digest(salt, "1987-04-23")
        assert "1987-04-23" not in str(document.challenge_digests)
        event = session.execute(select(AuditEvent)).scalar_one()
        assert (event.kind, event.actor, event.document_id) == (
            "issued",
            "tester",
            line.document_id,
        )
        assert event.detail == {"form": "contact-update", "version": 1, "campaign": "spring"}


def test_each_document_gets_its_own_salt(issuing: IssuingService) -> None:
    assert len(list(issuing.issue("contact-update", Selection(all=True), "spring"))) == 2
    with issuing.sessions() as session:
        digests = [d.challenge_digests for d in session.execute(select(Document)).scalars()]
    assert len(digests) == 2
    assert digests[0]["salt"] != digests[1]["salt"]
    assert digests[0]["birth_date"] != digests[1]["birth_date"]  # same birth date, other salt


def test_same_campaign_same_document_other_campaign_new_one(issuing: IssuingService) -> None:
    (first,) = issuing.issue("contact-update", Selection(keys=("C1",)), "spring")
    (again,) = issuing.issue("contact-update", Selection(keys=("C1",)), "spring")
    (other,) = issuing.issue("contact-update", Selection(keys=("C1",)), "autumn")
    (form,) = issuing.issue("bank-details", Selection(keys=("C1",)), "spring")
    assert again.document_id == first.document_id and not again.created
    assert again.link == first.link and again.reference == first.reference
    assert len({first.document_id, other.document_id, form.document_id}) == 3


@pytest.mark.parametrize("campaign", ["", "x" * 65])
def test_campaign_names_are_checked(issuing: IssuingService, campaign: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(issuing.issue("contact-update", Selection(all=True), campaign))
    assert caught.value.field == "campaign"


def test_unknown_form_record_and_document(issuing: IssuingService) -> None:
    with pytest.raises(NotFound) as caught:
        list(issuing.issue("nope", Selection(all=True), "spring"))
    assert caught.value.field == "form"
    with pytest.raises(NotFound, match="no record with key 'C9'"):
        issuing.issue_one(issuing.definition("contact-update"), "C9", "spring")
    with pytest.raises(NotFound):
        issuing.revoke("d" * 22, actor="tester")


def test_revoke_marks_the_document_and_audits(issuing: IssuingService) -> None:
    (line,) = issuing.issue("consent-preferences", Selection(keys=("C2",)), "spring")
    issuing.revoke(line.document_id, actor="clerk:ann")
    with issuing.sessions() as session:
        document = session.get(Document, line.document_id)
        assert document is not None
        assert document.status is DocumentStatus.REVOKED
        assert document.revoked_at == NOW
        kinds = session.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars()
        assert list(kinds) == ["issued", "revoked"]


def test_a_record_deleted_while_issuing_is_reported_after_the_ones_before_it(
    issuing: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = issuing.connectors["crm"]
    assert isinstance(source, InMemoryConnector)
    streamed = source.keys

    def keys_then_delete(record_type: str, selection: Selection) -> Iterator[str]:
        yield from streamed(record_type, selection)
        del source.records["customer"]["C2"]  # gone between its key and its record

    monkeypatch.setattr(source, "keys", keys_then_delete)
    issued = issuing.issue("contact-update", Selection(all=True), "spring")
    assert next(issued).key == "C1"
    with pytest.raises(NotFound, match="no record with key 'C2'"):
        next(issued)
    with issuing.sessions() as session:
        assert [d.record_key for d in session.execute(select(Document)).scalars()] == ["C1"]
