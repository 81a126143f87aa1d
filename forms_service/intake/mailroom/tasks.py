"""Mailroom jobs: plain functions taking the process's runtime and ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forms_service.runtime import Runtime


def read_page(runtime: Runtime, page_id: str) -> str:
    """Decode, identify and read one scanned page (job `mailroom.read_page`)."""
    return runtime.mailroom.read_page(page_id).value
