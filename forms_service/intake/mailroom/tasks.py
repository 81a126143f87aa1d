"""Mailroom jobs: plain functions taking the process's runtime and ids."""

from __future__ import annotations

from typing import Protocol

from forms_service.intake.mailroom.service import MailroomIntake


class MailroomRuntime(Protocol):
    """What a mailroom job needs of the process's runtime: its mailroom service."""

    @property
    def mailroom(self) -> MailroomIntake: ...


def read_page(runtime: MailroomRuntime, page_id: str) -> str:
    """Decode, identify and read one scanned page (job `mailroom.read_page`)."""
    return runtime.mailroom.read_page(page_id).value
