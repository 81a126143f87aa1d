"""The job queue as the areas see it: send a named job with the ids it works on."""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    """Runs a named job later (or at once, in eager mode), with string ids as arguments."""

    def enqueue(self, job: str, *ids: str) -> None:
        """Send `job` with `ids`; returns once the job is safely queued."""
        ...
