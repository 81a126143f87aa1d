"""A copy of the customer's receipt by e-mail, through the service's e-mail provider.

The copy goes to the address the answer gives (the field mapped to the form's `contact.email`
column), else the one the source holds, else one the customer types. It is a service message
(no unsubscribe link), sent with the form's own sender. Nothing of it is logged but the
submission's id: not the address, not a value of the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from forms_service.definitions.model import FormDefinition
from forms_service.delivery.interfaces import (
    EmailProvider,
    EmailRendition,
    OutgoingEmail,
    Purpose,
    Sender,
    SendResult,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptCopy:
    """The receipt as an e-mail: its subject and its two parts, in the customer's language."""

    subject: str
    text: str
    html: str
    locale: str


def known_address(
    definition: FormDefinition,
    values: Mapping[str, object],
    snapshot: Mapping[str, object],
    record: Mapping[str, object] | None = None,
) -> str | None:
    """The customer's e-mail address: the answer's, else the issue snapshot's, else the source's."""
    contact = definition.contact
    if contact is None or contact.email is None:
        return None
    for field in definition.fields:
        if field.maps_to == contact.email:
            for source in (values, snapshot):
                if source.get(field.name):
                    return str(source[field.name])
    value = (record or {}).get(contact.email)
    return str(value) if value else None


def masked_address(address: str) -> str:
    """An address as a page may show it: `c•••@example.org`."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def sender_of(definition: FormDefinition, organisation_name: str, address: str) -> Sender:
    """Who the copy is from: the form's message sender, else the organisation."""
    message = definition.message
    if message is not None and message.sender_address:
        return Sender(message.sender_name, message.sender_address, message.reply_to)
    return Sender(organisation_name, address)


def send_receipt_copy(
    provider: EmailProvider,
    *,
    submission_id: str,
    to: str,
    copy: ReceiptCopy,
    sender: Sender,
) -> SendResult:
    """Hand the copy to the provider; raises its TemporaryFailure or PermanentFailure."""
    rendition = EmailRendition(
        subject=copy.subject,
        text=copy.text,
        html=copy.html,
        sender=sender,
        purpose=Purpose.SERVICE,
        locale=copy.locale,
    )
    result = provider.send(OutgoingEmail(f"receipt-{submission_id}", to, rendition))
    log.info("receipt copy sent", extra={"submission": submission_id})
    return result
