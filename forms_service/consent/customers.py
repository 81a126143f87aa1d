"""Customers as the back office finds them: sealed references, and their contact history.

A customer is a source record (connector, record type, key). Screens name one by a sealed
reference (Fernet, with a key derived from the service's secret), so that no customer number
reaches an address bar, a proxy's log or a browser's history.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.consent.interfaces import customer_key
from forms_service.core.errors import NotFound
from forms_service.core.i18n import N_
from forms_service.definitions.model import ContactMapping, FormDefinition
from forms_service.storage.events import DocumentEvent
from forms_service.storage.messages import Message
from forms_service.storage.model import Document

_SALT = b"customer-reference"
#: Documents shown on a customer's page, newest first.
HISTORY_DOCUMENTS = 50


@dataclass(frozen=True)
class Customer:
    """One source record: the one person every form of that source writes to."""

    connector: str
    record_type: str
    record_key: str

    @property
    def key(self) -> str:
        """The ledger's customer key."""
        return customer_key(self.connector, self.record_type, self.record_key)


class UnknownCustomerReference(NotFound):
    """A customer reference this service did not make (or made with a retired secret)."""

    code = "unknown_customer"


class CustomerReferences:
    """Seals a customer into an opaque, URL-safe reference and opens it again."""

    def __init__(self, secret_key: str | bytes) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        key = hashlib.sha256(_SALT + b"\x00" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, customer: Customer) -> str:
        """The customer's reference (a new one each time: nothing to compare between two)."""
        plain = "\x1f".join((customer.connector, customer.record_type, customer.record_key))
        return self._fernet.encrypt(plain.encode()).decode().rstrip("=")

    def open(self, reference: str, *, max_age: dt.timedelta | None = None) -> Customer:
        """The customer a reference names; UnknownCustomerReference when it is not one."""
        padded = reference + "=" * (-len(reference) % 4)
        try:
            plain = self._fernet.decrypt(
                padded.encode(), ttl=int(max_age.total_seconds()) if max_age else None
            ).decode()
        except (InvalidToken, ValueError, UnicodeDecodeError):
            raise UnknownCustomerReference(N_("There is no such customer.")) from None
        parts = plain.split("\x1f")
        if len(parts) != 3:
            raise UnknownCustomerReference(N_("There is no such customer."))
        return Customer(*parts)


@dataclass(frozen=True)
class ContactEvent:
    """One thing that happened to one of the customer's documents."""

    at: dt.datetime
    kind: str
    channel: str | None
    reason: str | None


@dataclass(frozen=True)
class ContactDocument:
    """One document issued to the customer, its messages and its history."""

    id: str
    reference: str
    form_id: str
    campaign: str
    status: str
    issued_at: dt.datetime
    events: tuple[ContactEvent, ...]
    messages: tuple[tuple[str, str, str | None, dt.datetime], ...]


def forms_of(definitions: Mapping[str, FormDefinition], customer: Customer) -> list[str]:
    """The forms whose records are this customer's kind of record."""
    return sorted(
        d.id
        for d in definitions.values()
        if (d.source.connector, d.source.record_type) == (customer.connector, customer.record_type)
    )


def contact_of(
    definitions: Mapping[str, FormDefinition], customer: Customer
) -> ContactMapping | None:
    """The `contact:` columns of the customer's kind of record (the first form's that has one)."""
    for form_id in forms_of(definitions, customer):
        if definitions[form_id].contact is not None:
            return definitions[form_id].contact
    return None


def contact_history(
    session: Session, definitions: Mapping[str, FormDefinition], customer: Customer
) -> list[ContactDocument]:
    """The customer's documents, newest first, each with its messages and its history."""
    forms = forms_of(definitions, customer)
    if not forms:
        return []
    documents = list(
        session.scalars(
            select(Document)
            .where(Document.form_id.in_(forms), Document.record_key == customer.record_key)
            .order_by(Document.issued_at.desc())
            .limit(HISTORY_DOCUMENTS)
        )
    )
    ids = [d.id for d in documents]
    events: dict[str, list[ContactEvent]] = {i: [] for i in ids}
    messages: dict[str, list[tuple[str, str, str | None, dt.datetime]]] = {i: [] for i in ids}
    if ids:
        for event in session.scalars(
            select(DocumentEvent)
            .where(DocumentEvent.document_id.in_(ids))
            .order_by(DocumentEvent.at.desc(), DocumentEvent.id.desc())
        ):
            reason = event.detail.get("reason") if isinstance(event.detail, dict) else None
            events[event.document_id].append(
                ContactEvent(event.at, event.kind.value, event.channel, reason)
            )
        for message in session.scalars(
            select(Message).where(Message.document_id.in_(ids)).order_by(Message.created_at)
        ):
            messages[message.document_id].append(
                (message.channel, message.status.value, message.reason, message.updated_at)
            )
    return [
        ContactDocument(
            d.id,
            d.reference,
            d.form_id,
            d.campaign,
            d.status.value,
            d.issued_at,
            tuple(events[d.id]),
            tuple(messages[d.id]),
        )
        for d in documents
    ]
