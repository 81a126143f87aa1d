"""Why a scanned page waits or was set aside, stored so that every screen can say it in its language.

A page's reason is recorded twice: `ScanPage.reason` is the English text, with its figures (what
the API and the logs say), and `ScanPage.reason_detail` is how to say it again in any language:
the gettext msgid (marked with `N_`, `%(name)s` for each figure), its parameters, and an
operator's own words when they rejected the page. Pages recorded before the detail existed have
none: their text is shown as it was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from forms_service.storage.scans import ScanPage

#: Longest reason text stored (the column is unbounded; a screen is not).
MAX_TEXT = 500

#: A figure of a reason: a number, a reference, a list already written out.
Param = str | int


@dataclass(frozen=True)
class Reason:
    """A reason as a msgid and its parameters (a page number, a document's reference…)."""

    message: str
    params: Mapping[str, Param] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The reason in English, its figures in place."""
        return self.message % dict(self.params) if self.params else self.message

    def detail(self) -> dict[str, Any]:
        """What `ScanPage.reason_detail` stores: the msgid and its parameters."""
        return {"message": self.message, "params": dict(self.params)}


def record(page: ScanPage, reason: Reason | None) -> None:
    """Set (or, with None, clear) the reason a page waits for an operator."""
    page.reason = reason.text[:MAX_TEXT] if reason else None
    page.reason_detail = reason.detail() if reason else None


def record_rejection(page: ScanPage, words: str) -> None:
    """Add an operator's reason for rejecting the page, kept as they typed it, to its reason.

    A page recorded before details were stored keeps no detail: its text is shown as it was.
    """
    page.reason = f"{page.reason or ''} — rejected: {words}".strip(" —")
    if page.reason_detail:
        page.reason_detail = {**page.reason_detail, "rejected": words}
