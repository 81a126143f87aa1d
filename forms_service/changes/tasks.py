"""Background jobs of change sets: plain functions taking the runtime and ids (jobs.JOBS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forms_service.changes.outbox import OutboxDeliverer
from forms_service.changes.service import ChangeService

if TYPE_CHECKING:
    from forms_service.runtime import Runtime


def propose_change_set(runtime: Runtime, submission_id: str) -> str:
    """Propose the change set of a stored submission; returns the change set id."""
    return runtime.changes.propose(submission_id).id


def deliver_outbox_message(runtime: Runtime, message_id: str) -> str:
    """Deliver one outbox message if it is due; returns what happened."""
    return runtime.outbox.deliver(int(message_id)).value


def deliver_due_messages(runtime: Runtime) -> dict[str, int]:
    """One round of the outbox worker with the runtime's services."""
    return outbox_round(runtime.outbox, runtime.changes)


def outbox_round(deliverer: OutboxDeliverer, changes: ChangeService) -> dict[str, int]:
    """Propose submissions left without a change set, then deliver what is due; counts."""
    proposed = changes.propose_pending()
    counts = deliverer.run_once()
    if proposed:
        counts["proposed"] = len(proposed)
    return counts
