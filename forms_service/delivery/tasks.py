"""Background jobs of delivery: plain functions taking the runtime and ids (runtime.JOBS).

`delivery.send` sends one message (idempotent: only the run that claims the queued row
sends; the per-channel rate is shared by every worker through the database);
`delivery.send_batch` sends a campaign's messages a batch at a time, as idempotent;
`delivery.fallback` moves a document whose message failed for good to its next channel;
`delivery.sweep` is the periodic round of retries, stalled sends and reminders.
"""

from __future__ import annotations

from typing import Protocol

from forms_service.delivery.reminders import DeliverySweep
from forms_service.delivery.service import DeliveryService


class DeliveryRuntime(Protocol):
    """What a delivery job needs of the process's runtime."""

    @property
    def delivery(self) -> DeliveryService: ...


def send_message(runtime: DeliveryRuntime, message_id: str) -> str:
    """Send one message if it is still queued and due; returns what happened."""
    return runtime.delivery.send_message(message_id)


def send_batch(runtime: DeliveryRuntime, *message_ids: str) -> dict[str, str]:
    """Send the messages still queued and due among `message_ids`; what happened to each."""
    return runtime.delivery.send_batch(message_ids)


def fall_back(runtime: DeliveryRuntime, message_id: str) -> str:
    """Queue the document of a failed message on its next usable channel."""
    return runtime.delivery.fall_back(message_id)


def sweep(runtime: DeliveryRuntime) -> dict[str, int]:
    """One round of the delivery sweep: retries due, stalled sends, reminders due."""
    return dict(DeliverySweep(runtime.delivery).run())
