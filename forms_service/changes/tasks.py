"""Background jobs of change sets: plain functions taking ids, called by any job runner."""

from __future__ import annotations

from forms_service.changes.outbox import Delivery, OutboxDeliverer
from forms_service.changes.service import ChangeService


def propose_change_set(changes: ChangeService, submission_id: str) -> str:
    """Propose the change set of a stored submission; returns the change set id."""
    return changes.propose(submission_id).id


def deliver_outbox_message(deliverer: OutboxDeliverer, message_id: int) -> str:
    """Deliver one outbox message if it is due; returns what happened."""
    result: Delivery = deliverer.deliver(message_id)
    return result.value


def deliver_due_messages(deliverer: OutboxDeliverer, changes: ChangeService) -> dict[str, int]:
    """One round of the outbox worker: propose forgotten submissions, deliver what is due."""
    proposed = changes.propose_pending()
    counts = deliverer.run_once()
    if proposed:
        counts["proposed"] = len(proposed)
    return counts
