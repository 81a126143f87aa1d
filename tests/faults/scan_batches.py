"""A mailroom batch of paper answers sent to the stack's API, and what became of its pages."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.mailroom_scans import as_pdf, scanned_page
from tests.ocr_pages import Answers
from tests.prod_stack import Client, Stack, scan_runtime


@dataclass(frozen=True)
class SentBatch:
    """A batch the API acknowledged (202): one contact-update page per document."""

    id: str
    document_ids: list[str]
    client: Client
    token: str

    def state(self) -> dict[str, Any]:
        """The batch as the API shows it: status, counts per page status, pages."""
        found = self.client.get(
            f"/api/v1/scans/{self.id}", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert found.status_code == 200, found.text[:300]
        state: dict[str, Any] = found.json()
        return state

    def wait_until_done(self, timeout: float) -> dict[str, Any]:
        """The batch once every page has been read (status done)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state["status"] == "done":
                return state
            assert time.monotonic() < deadline, state["counts"]
            time.sleep(0.5)


def send_batch(stack: Stack, client: Client, keys: Sequence[str], campaign: str) -> SentBatch:
    """Issue contact-update to `keys`; send the pages back with a new city (ALBI) written in."""
    token = stack.credentials()["api_token"]
    documents = client.issue(token, "contact-update", list(keys), campaign)
    runtime = scan_runtime(stack)
    pages = [
        scanned_page(runtime, d["document_id"], "contact-update", Answers(texts={"city": "ALBI"}))
        for d in documents
    ]
    sent = client.post(
        "/api/v1/scans",
        headers={"Authorization": f"Bearer {token}"},
        files=[("files", ("batch.pdf", as_pdf(pages)))],
    )
    assert sent.status_code == 202, sent.text
    return SentBatch(sent.json()["id"], [d["document_id"] for d in documents], client, token)


def submissions_per_document(stack: Stack, document_ids: Sequence[str]) -> dict[str, int]:
    """How many submissions each document has (absent: none)."""
    with stack.service_db() as db:
        return dict(
            db.execute(
                "SELECT document_id, count(*) FROM submissions WHERE document_id = ANY(%s) "
                "GROUP BY document_id",
                (list(document_ids),),
            ).fetchall()
        )
