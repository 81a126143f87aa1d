"""What the intake channels need from the change-set pipeline (ChangeService implements it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from forms_service.changes.proposal import Answer, Proposal
from forms_service.definitions.model import FormDefinition


class ChangeProposer(Protocol):
    """Plans the change set of an answer (stored with it), or proposes a stored answer later."""

    def read_source(
        self, definition: FormDefinition, record_key: str
    ) -> Mapping[str, object] | None:
        """The source record, read before the write transaction; None when unavailable."""

    def plan(
        self,
        definition: FormDefinition,
        answer: Answer,
        record: Mapping[str, object],
        *,
        actor: str = "system",
        change_set_id: str | None = None,
    ) -> Proposal:
        """The change set of `answer`, in memory (`change_set_id`: an existing one again)."""

    def after_commit(self, message_ids: Sequence[int]) -> None:
        """Deliver the outbox messages of a committed transaction (failures are logged)."""

    def propose_quietly(self, submission_id: str) -> None:
        """Propose a stored submission in its own transaction; a failure is logged."""
