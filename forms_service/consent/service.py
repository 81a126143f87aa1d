"""Consent use cases: the unsubscribe link, a clerk's consent change, a customer's file.

Each writes the ledger, the document's history (an unsubscribe) and an audit event in one
transaction; then, when the settings say so (`consent_unsubscribe_write_back`), the source's
opt-in column of a commercial consent, optimistically (the value read is the one expected).
A source that cannot be written does not undo the ledger: the ledger holds the evidence, and
`consent import --prefer ledger` writes it back later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.connectors.interfaces import Connector, FieldWrite, SourceUnavailable
from forms_service.consent.customers import (
    ContactDocument,
    Customer,
    contact_history,
    contact_of,
    forms_of,
)
from forms_service.consent.interfaces import ConsentState
from forms_service.consent.ledger import (
    ConsentEntry,
    ConsentLedger,
    ConsentRecord,
    CurrentConsent,
    Source,
    Wording,
    check_entry,
)
from forms_service.consent.unsubscribe import UnsubscribeTokens
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.storage.consent import ConsentEvent
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import Document

log = logging.getLogger(__name__)

#: The longest wording a clerk may record (what was read out on the phone).
MAX_WORDING = 2000
_TRUE = frozenset({True, "1", "true", "yes", "y", "oui", "t"})


class WriteBack:
    """What became of the source's opt-in column (stable codes, in audit events)."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    OFF = "off"
    NOT_COMMERCIAL = "not_commercial"
    NO_COLUMN = "no_column"
    CONFLICT = "conflict"
    MISSING = "missing"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What an unsubscribe link would withdraw (shown before the customer confirms)."""

    document_id: str
    form_id: str
    purpose: str
    channel: str
    already: bool


@dataclass(frozen=True)
class ConsentChange:
    """What an unsubscribe or a clerk's change did."""

    customer: Customer
    recorded: bool
    write_back: str
    #: The ledger event written (None: nothing new was recorded).
    event_id: int | None = None


@dataclass(frozen=True)
class CustomerFile:
    """Everything a clerk on the phone sees of one customer."""

    customer: Customer
    found: bool
    contact_points: Mapping[str, str]
    current: list[CurrentConsent]
    history: list[ConsentRecord]
    documents: list[ContactDocument]


class ConsentService:
    """Unsubscribes, clerks' changes and customers' files, over the ledger and the sources."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        definitions: Mapping[str, FormDefinition],
        connectors: Mapping[str, Connector],
        ledger: ConsentLedger,
        tokens: UnsubscribeTokens,
        *,
        clock: Clock = utc_now,
        write_back: bool = True,
    ) -> None:
        self.sessions = sessions
        self.definitions = definitions
        self.connectors = connectors
        self.ledger = ledger
        self.tokens = tokens
        self.clock = clock
        self.write_back_enabled = write_back

    # -- the unsubscribe link ------------------------------------------------------------

    def unsubscribe_target(self, token: str) -> UnsubscribeTarget:
        """What `token` withdraws; raises TamperedUnsubscribeLink or NotFound."""
        claims = self.tokens.verify(token)
        with self.sessions() as session:
            document, definition = self._document(session, claims.document_id)
            customer = _customer(definition, document)
            state = self.ledger.states(session, [customer.key], claims.purpose, claims.channel)
        return UnsubscribeTarget(
            document.id,
            definition.id,
            claims.purpose,
            claims.channel,
            already=state.get(customer.key) is ConsentState.WITHDRAWN,
        )

    def unsubscribe(self, token: str, wording: Wording, *, one_click: bool) -> ConsentChange:
        """Withdraw what `token` names (once: a second click records nothing more).

        Raises TamperedUnsubscribeLink (altered link) or NotFound (the document is gone).
        """
        claims = self.tokens.verify(token)
        now = self.clock()
        with self.sessions() as session:
            document, definition = self._document(session, claims.document_id)
            customer = _customer(definition, document)
        record, known = self._read(customer)
        with self.sessions() as session, session.begin():
            state = self.ledger.states(session, [customer.key], claims.purpose, claims.channel)
            recorded = state.get(customer.key) is not ConsentState.WITHDRAWN
            if recorded:
                how = "one_click" if one_click else "page"
                self.ledger.record(
                    session,
                    [
                        ConsentEntry(
                            customer=customer.key,
                            purpose=claims.purpose,
                            channel=claims.channel,
                            state=ConsentState.WITHDRAWN,
                            at=now,
                            source=Source.UNSUBSCRIBE,
                            document_id=document.id,
                            via=claims.channel,
                            wording=wording,
                            unknown_customer=not known,
                            detail={"form": definition.id, "how": how},
                        )
                    ],
                )
                record_event(
                    session,
                    document.id,
                    EventKind.OPTED_OUT,
                    at=now,
                    channel=claims.channel,
                    detail={"purpose": claims.purpose, "how": how},
                )
                audit.record(
                    session,
                    "consent_withdrawn",
                    actor="customer",
                    at=now,
                    document_id=document.id,
                    detail={"purpose": claims.purpose, "channel": claims.channel, "how": how},
                )
        outcome = self.write_back(
            customer, claims.purpose, claims.channel, ConsentState.WITHDRAWN, record
        )
        return ConsentChange(customer, recorded, outcome)

    # -- a clerk's change ----------------------------------------------------------------

    def record_by_clerk(
        self,
        customer: Customer,
        *,
        purpose: str,
        channel: str,
        state: ConsentState,
        at: dt.datetime,
        actor: str,
        wording: str,
        locale: str,
        via: str = "phone",
        source: Source = Source.CLERK,
    ) -> ConsentChange:
        """Record what a customer said to a clerk (on the phone), with the wording read out.

        An API client records the same way (`source=Source.API`, its name as the actor).

        Raises InvalidInput: an unknown purpose or channel, no wording, a time to come.
        """
        text = wording.strip()
        if not text or len(text) > MAX_WORDING:
            raise InvalidInput(
                N_("Give the wording read out to the customer (up to 2000 characters)."),
                field="wording",
            )
        now = self.clock()
        if at > now + dt.timedelta(minutes=5):
            raise InvalidInput(N_("The time of the call cannot be in the future."), field="at")
        record, known = self._read(customer)
        entry = ConsentEntry(
            customer=customer.key,
            purpose=purpose,
            channel=channel,
            state=state,
            at=at,
            source=source,
            via=via,
            actor=actor,
            wording=Wording(text, locale),
            unknown_customer=not known,
        )
        check_entry(entry)
        with self.sessions() as session, session.begin():
            (event_id,) = self.ledger.record(session, [entry])
            audit.record(
                session,
                "consent_recorded",
                actor=actor,
                at=now,
                detail={
                    "event": event_id,
                    "purpose": purpose,
                    "channel": channel,
                    "state": state.value,
                    "via": via,
                },
            )
        outcome = self.write_back(customer, purpose, channel, state, record, actor=actor)
        return ConsentChange(customer, True, outcome, event_id)

    # -- the source's opt-in column ------------------------------------------------------

    def write_back(
        self,
        customer: Customer,
        purpose: str,
        channel: str,
        state: ConsentState,
        record: Mapping[str, Any] | None = None,
        *,
        actor: str = "consent",
    ) -> str:
        """Write `state` to the source's opt-in column for `channel`; a WriteBack code."""
        outcome = self._write_back(customer, purpose, channel, state, record)
        if outcome not in (WriteBack.OFF, WriteBack.NOT_COMMERCIAL, WriteBack.NO_COLUMN):
            with self.sessions() as session, session.begin():
                audit.record(
                    session,
                    "consent_written_back",
                    actor=actor,
                    at=self.clock(),
                    detail={"purpose": purpose, "channel": channel, "outcome": outcome},
                )
        if outcome in (WriteBack.CONFLICT, WriteBack.MISSING, WriteBack.UNAVAILABLE):
            log.warning("consent write-back to %s: %s", customer.connector, outcome)
        return outcome

    def _write_back(
        self,
        customer: Customer,
        purpose: str,
        channel: str,
        state: ConsentState,
        record: Mapping[str, Any] | None,
    ) -> str:
        if not self.write_back_enabled:
            return WriteBack.OFF
        # The CRM's opt-in columns are the commercial consent (delivery reads them so).
        if purpose != "commercial":
            return WriteBack.NOT_COMMERCIAL
        contact = contact_of(self.definitions, customer)
        column = contact.opt_in.get(channel) if contact else None
        connector = self.connectors.get(customer.connector)
        if column is None or connector is None:
            return WriteBack.NO_COLUMN
        wanted = state is ConsentState.GRANTED
        try:
            if record is None:
                record = connector.read(customer.record_type, customer.record_key)
            if record is None:
                return WriteBack.MISSING
            current = record.get(column)
            if current is not None and is_true(current) == wanted:
                return WriteBack.UNCHANGED
            result = connector.apply(
                customer.record_type,
                customer.record_key,
                {column: FieldWrite(expected=current, new=wanted)},
            )
        except SourceUnavailable:
            return WriteBack.UNAVAILABLE
        if result.applied:
            return WriteBack.WRITTEN
        return WriteBack.MISSING if result.missing else WriteBack.CONFLICT

    # -- customers -----------------------------------------------------------------------

    def sources(self) -> list[tuple[str, str]]:
        """The (connector, record type) pairs customers are found in (the forms' sources)."""
        return sorted(
            {(d.source.connector, d.source.record_type) for d in self.definitions.values()}
        )

    def customer_in(self, source: str, key: str) -> Customer:
        """The customer `key` of a source named `connector/record type`; NotFound if none."""
        pairs = {f"{c}/{t}": (c, t) for c, t in self.sources()}
        if source not in pairs or not key.strip():
            raise NotFound(N_("Choose a source and type a customer number."), field="source")
        return Customer(*pairs[source], key.strip())

    def find(
        self, *, reference: str | None = None, source: str | None = None, key: str = ""
    ) -> Customer:
        """The customer of a document reference, or of a key in a source (`connector/type`).

        Raises NotFound: no such document, source or customer (neither in the source nor in
        the ledger).
        """
        if reference:
            with self.sessions() as session:
                document = session.scalars(
                    select(Document).where(Document.reference == reference)
                ).first()
                definition = self.definitions.get(document.form_id) if document else None
                if document is None or definition is None:
                    raise NotFound(N_("No document has this reference."), field="reference")
                return _customer(definition, document)
        pairs = {f"{c}/{t}": (c, t) for c, t in self.sources()}
        if source not in pairs or not key.strip():
            raise NotFound(N_("Choose a source and type a customer number."), field="key")
        customer = Customer(*pairs[source], key.strip())
        record, _known = self._read(customer)
        if record is None:
            with self.sessions() as session:
                in_ledger = session.scalars(
                    select(ConsentEvent.id).where(ConsentEvent.customer == customer.key)
                ).first()
            if in_ledger is None:
                raise NotFound(N_("No customer has this number."), field="key")
        return customer

    def customer_file(self, customer: Customer) -> CustomerFile:
        """The customer's contact points, consents, consent history and contact history."""
        record, _known = self._read(customer)
        contact = contact_of(self.definitions, customer)
        points: dict[str, str] = {}
        if record is not None and contact is not None:
            for name, column in (
                ("email", contact.email),
                ("mobile", contact.mobile),
                ("preferred_channel", contact.preferred_channel),
            ):
                if column and record.get(column) not in (None, ""):
                    points[name] = str(record.get(column))
            if contact.address:
                points["address"] = ", ".join(
                    str(record.get(c)) for c in contact.address if record.get(c)
                )
        with self.sessions() as session:
            return CustomerFile(
                customer=customer,
                found=record is not None,
                contact_points=points,
                current=self.ledger.current(session, customer.key),
                history=self.ledger.history(session, customer.key),
                documents=contact_history(session, self.definitions, customer),
            )

    def forms_of(self, customer: Customer) -> list[str]:
        """The forms written to this customer's kind of record."""
        return forms_of(self.definitions, customer)

    # -- internals -----------------------------------------------------------------------

    def _document(self, session: Session, document_id: str) -> tuple[Document, FormDefinition]:
        document = session.get(Document, document_id)
        definition = self.definitions.get(document.form_id) if document else None
        if document is None or definition is None:
            raise NotFound(N_("This link does not lead to any form."), field="document")
        return document, definition

    def _read(self, customer: Customer) -> tuple[Mapping[str, Any] | None, bool]:
        """The customer's record and whether the source knows them (unreachable: assumed)."""
        connector = self.connectors.get(customer.connector)
        if connector is None:
            return None, False
        try:
            record = connector.read(customer.record_type, customer.record_key)
        except SourceUnavailable:
            return None, True
        return record, record is not None


def is_true(value: object) -> bool:
    """Whether a source's opt-in value says yes."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return value in _TRUE


def _customer(definition: FormDefinition, document: Document) -> Customer:
    return Customer(definition.source.connector, definition.source.record_type, document.record_key)
