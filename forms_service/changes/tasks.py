"""Background jobs of change sets: plain functions taking the runtime and ids (runtime.JOBS)."""

from __future__ import annotations

from typing import Protocol

from forms_service.changes.outbox import OutboxDeliverer
from forms_service.changes.service import ChangeService


class ChangesRuntime(Protocol):
    """What a change-set job needs of the process's runtime: its change service and outbox."""

    @property
    def changes(self) -> ChangeService: ...

    @property
    def outbox(self) -> OutboxDeliverer: ...


def propose_change_set(runtime: ChangesRuntime, submission_id: str) -> str:
    """Propose the change set of a stored submission; returns the change set id."""
    return runtime.changes.propose(submission_id).id


def deliver_outbox_message(runtime: ChangesRuntime, message_id: str) -> str:
    """Deliver one outbox message if it is due; returns what happened."""
    return runtime.outbox.deliver(int(message_id)).value


def deliver_due_messages(runtime: ChangesRuntime) -> dict[str, int]:
    """One round of the outbox worker with the runtime's services."""
    return outbox_round(runtime.outbox, runtime.changes)


def outbox_round(deliverer: OutboxDeliverer, changes: ChangeService) -> dict[str, int]:
    """Propose submissions left without a change set, then deliver what is due; counts."""
    proposed = changes.propose_pending()
    counts = deliverer.run_once()
    if proposed:
        counts["proposed"] = len(proposed)
    return counts
