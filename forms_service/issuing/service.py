"""Issue documents: one per record and form in a campaign, with a snapshot and a signed link."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.connectors.interfaces import Connector, Selection
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import Conflict, InvalidInput, NotFound
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import DefinitionSet
from forms_service.issuing.accesscodes import grouped
from forms_service.issuing.identity import AnswerDigester
from forms_service.issuing.layout import LAYOUTS, LayoutVersions
from forms_service.issuing.shortcodes import ShortCodes, short_url
from forms_service.issuing.tokens import LinkSigner, new_document_id, new_reference
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import Document, DocumentStatus
from forms_service.storage.service import reading

#: Documents issued per transaction by `issue` (the API and `issue --manifest`).
ISSUE_BATCH = 100
#: Record keys per IN (...) query: far below every database's limit on bound parameters.
KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class IssuedDocument:
    """One line of an issuing manifest."""

    key: str
    document_id: str
    reference: str
    link: str
    expires_at: dt.datetime
    created: bool


def snapshot_of(definition: FormDefinition, record: Mapping[str, Any]) -> dict[str, str | None]:
    """Canonical values of the mapped fields; a value the type refuses is kept as text."""
    snapshot: dict[str, str | None] = {}
    for field in definition.fields:
        if not field.maps_to:
            continue
        raw = record.get(field.maps_to)
        try:
            snapshot[field.name] = field.parse(raw)
        except FieldValueError:
            snapshot[field.name] = None if raw is None else str(raw)
    return snapshot


def _issued_event(document: Document, actor: str, at: dt.datetime) -> audit.NewEvent:
    detail = {
        "form": document.form_id,
        "version": document.form_version,
        "campaign": document.campaign,
    }
    return audit.NewEvent("issued", actor, at, document_id=document.id, detail=detail)


def _record_issued(session: Session, documents: list[Document], at: dt.datetime) -> None:
    """Start each new document's history (storage/events.py) in the issuing transaction."""
    for document in documents:
        record_event(
            session, document.id, EventKind.ISSUED, at=at, detail={"form": document.form_id}
        )


class IssuingService:
    """Creates documents and their links."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        definitions: DefinitionSet,
        connectors: Mapping[str, Connector],
        signer: LinkSigner,
        base_url: str,
        clock: Clock = utc_now,
        layouts: LayoutVersions = LAYOUTS,
        *,
        answers: AnswerDigester,
        short_base_url: str = "",
    ) -> None:
        self.sessions = sessions
        #: Keyed digests of identity answers (the key is a setting, outside the database).
        self.answers = answers
        #: The layout versions documents print with (current) and are read back with.
        self.layouts = layouts
        self.definitions = definitions
        self.connectors = connectors
        self.signer = signer
        #: Each new document gets a short link (SMS, QR codes) in its issuing transaction.
        self.short_codes = ShortCodes(signer.keys)
        self.base_url = base_url.rstrip("/")
        #: The origin of short links (SHORT_LINK_BASE_URL, else BASE_URL).
        self.short_base_url = (short_base_url or base_url).rstrip("/")
        self.clock = clock

    def definition(self, form_id: str) -> FormDefinition:
        """The definition of `form_id`, NotFound when there is none."""
        try:
            return self.definitions[form_id]
        except KeyError:
            raise NotFound(f"unknown form {form_id!r}", field="form") from None

    def link_for(self, document: Document) -> str:
        """The public link of a document."""
        return f"{self.base_url}/f/{self.token_for(document)}"

    def short_links_for(self, document_ids: Sequence[str]) -> dict[str, str]:
        """The short links `…/r/<code>` of documents, in one query per 500 ids.

        Documents issued before short links existed have none (their letter keeps the link).
        """
        with reading(self.sessions) as session:
            codes = self.short_codes.existing_codes(session, document_ids)
        return {document_id: short_url(self.short_base_url, c) for document_id, c in codes.items()}

    def access_codes_for(self, document_ids: Sequence[str]) -> dict[str, str]:
        """The access codes of documents, as printed (`K7PXM-3QR9T-WHB4A`), in one query per 500.

        Documents whose short link was made before access codes have none.
        """
        with reading(self.sessions) as session:
            codes = self.short_codes.existing_access_codes(session, document_ids)
        return {document_id: grouped(code) for document_id, code in codes.items()}

    def token_for(self, document: Document) -> str:
        """The signed token of a document."""
        return self.signer.sign(document.id, document.expires_at)

    def issue(
        self, form_id: str, selection: Selection, campaign: str, *, actor: str = "system"
    ) -> Iterator[IssuedDocument]:
        """Issue the form to every selected record; records already issued keep their document."""
        definition = self.definition(form_id)
        if not campaign or len(campaign) > 64:
            raise InvalidInput("campaign must be 1 to 64 characters", field="campaign")
        connector = self.connectors[definition.source.connector]
        keys = connector.keys(definition.source.record_type, selection)
        while chunk := list(itertools.islice(keys, ISSUE_BATCH)):
            records = connector.read_many(definition.source.record_type, chunk)
            if len(records) < len(chunk):
                # A record deleted since its key was read: one by one, so that the documents
                # before it are issued and it is reported (NotFound) as it always was.
                for key in chunk:
                    yield self.issue_one(definition, key, campaign, actor=actor)
                continue
            for document, created in self.issue_batch(definition, records, campaign, actor=actor):
                yield self._line(document, created=created)

    def issue_one(
        self, definition: FormDefinition, key: str, campaign: str, *, actor: str = "system"
    ) -> IssuedDocument:
        """Issue one document (or return the one already issued in this campaign)."""
        document, created = self.issue_document(definition, key, campaign, actor=actor)
        return self._line(document, created=created)

    def issue_document(
        self,
        definition: FormDefinition,
        key: str,
        campaign: str,
        *,
        actor: str = "system",
        record: Mapping[str, Any] | None = None,
    ) -> tuple[Document, bool]:
        """Like issue_one, but give the stored document itself and whether it is new.

        A caller that has just read the source record passes it, so it is not read twice.
        """
        with self.sessions() as session:
            existing = self._existing(session, definition.id, key, campaign)
            if existing is not None:
                return existing, False
        if record is None:
            connector = self.connectors[definition.source.connector]
            record = connector.read(definition.source.record_type, key)
        if record is None:
            raise NotFound(f"no record with key {key!r}", field="keys")
        now = self.clock()
        document = self._new_document(definition, key, campaign, record, now)
        try:
            with self.sessions() as session, session.begin():
                session.add(document)
                session.flush()
                self.short_codes.add_many(session, [(document.id, document.expires_at)], now)
                _record_issued(session, [document], now)
                audit.record_all(session, [_issued_event(document, actor, now)])
        except IntegrityError:
            # Issued concurrently by another process: the unique constraint chose a winner.
            with self.sessions() as session:
                winner = self._existing(session, definition.id, key, campaign)
            if winner is None:
                raise
            return winner, False
        return document, True

    def issue_batch(
        self,
        definition: FormDefinition,
        records: Mapping[str, Mapping[str, Any]],
        campaign: str,
        *,
        actor: str = "system",
    ) -> list[tuple[Document, bool]]:
        """Issue a batch of records in one transaction; give each document and whether it is new.

        `records` maps each key to its source record, as the caller has just read them. The
        documents already issued in this campaign are kept; the others are inserted with their
        audit events, the chain extended once for the whole batch. Documents come back in the
        order of `records`.
        """
        keys = list(records)
        if not keys:
            return []
        now = self.clock()
        try:
            with self.sessions() as session, session.begin():
                found = self._existing_many(session, definition.id, keys, campaign)
                # In key order: two batches racing on PostgreSQL then wait for each other's
                # unique keys in the same order, and one fails instead of both deadlocking.
                new = [
                    self._new_document(definition, key, campaign, records[key], now)
                    for key in sorted(records)
                    if key not in found
                ]
                session.add_all(new)
                session.flush()
                self.short_codes.add_many(session, [(d.id, d.expires_at) for d in new], now)
                _record_issued(session, new, now)
                audit.record_all(session, [_issued_event(d, actor, now) for d in new])
        except IntegrityError:
            # Another process issued one of these meanwhile: one by one, each race has a winner.
            return [
                self.issue_document(definition, key, campaign, actor=actor, record=records[key])
                for key in keys
            ]
        created = {document.record_key: document for document in new}
        return [(found[key], False) if key in found else (created[key], True) for key in keys]

    def _new_document(
        self,
        definition: FormDefinition,
        key: str,
        campaign: str,
        record: Mapping[str, Any],
        now: dt.datetime,
    ) -> Document:
        values: dict[str, str | None] = {}
        for question in definition.challenge:
            try:
                values[question.name] = question.parse(record.get(question.maps_to))
            except FieldValueError:
                values[question.name] = None
        digests = self.answers.digests(secrets.token_hex(16), values)
        return Document(
            id=new_document_id(),
            reference=new_reference(),
            form_id=definition.id,
            form_version=definition.version,
            # What the letter is printed with (a later download may use a newer layout:
            # each page's code names its own; this is for a page whose code is unreadable).
            layout_version=self.layouts.current,
            record_key=key,
            campaign=campaign,
            snapshot=snapshot_of(definition, record),
            challenge_digests=digests,
            status=DocumentStatus.ISSUED,
            issued_at=now,
            expires_at=(now + dt.timedelta(days=definition.link_lifetime_days)).replace(
                microsecond=0
            ),
            challenge_failures=0,
            challenge_locks=0,
        )

    @staticmethod
    def _existing_many(
        session: Session, form_id: str, keys: list[str], campaign: str
    ) -> dict[str, Document]:
        found: dict[str, Document] = {}
        for start in range(0, len(keys), KEYS_PER_QUERY):
            query = select(Document).where(
                Document.form_id == form_id,
                Document.campaign == campaign,
                Document.record_key.in_(keys[start : start + KEYS_PER_QUERY]),
            )
            found.update((d.record_key, d) for d in session.scalars(query))
        return found

    @staticmethod
    def _existing(session: Session, form_id: str, key: str, campaign: str) -> Document | None:
        return session.execute(
            select(Document).where(
                Document.form_id == form_id,
                Document.record_key == key,
                Document.campaign == campaign,
            )
        ).scalar_one_or_none()

    def _line(self, document: Document, *, created: bool) -> IssuedDocument:
        return IssuedDocument(
            key=document.record_key,
            document_id=document.id,
            reference=document.reference,
            link=self.link_for(document),
            expires_at=document.expires_at,
            created=created,
        )

    def unlock_identity(self, reference: str, *, actor: str) -> None:
        """Let a customer answer a document's identity question again (an adviser's act).

        After its last lock (`challenge_blocked_at`) a document refuses every answer until
        this is done; it also lifts a timed lock and forgets the locks counted so far.

        Raises:
            NotFound: no document has this reference.
            Conflict: the document's identity question is not locked.
        """
        with self.sessions() as session, session.begin():
            document = session.execute(
                select(Document).where(Document.reference == reference.strip().upper())
            ).scalar_one_or_none()
            if document is None:
                raise NotFound("no document has this reference", field="reference")
            now = self.clock()
            locked = document.challenge_locked_until is not None and (
                document.challenge_locked_until > now
            )
            if document.challenge_blocked_at is None and not locked:
                raise Conflict("the identity question of this document is not locked")
            detail = {
                "locks": document.challenge_locks,
                "blocked": bool(document.challenge_blocked_at),
            }
            document.challenge_failures = 0
            document.challenge_locks = 0
            document.challenge_locked_until = None
            document.challenge_blocked_at = None
            audit.record(
                session,
                "identity_unlocked",
                actor=actor,
                at=now,
                document_id=document.id,
                detail=detail,
            )

    def revoke(self, document_id: str, *, actor: str) -> None:
        """Stop a document's link from working."""
        with self.sessions() as session, session.begin():
            document = session.get(Document, document_id)
            if document is None:
                raise NotFound("unknown document", field="document")
            now = self.clock()
            document.status = DocumentStatus.REVOKED
            document.revoked_at = now
            audit.record(session, "revoked", actor=actor, at=now, document_id=document_id)
