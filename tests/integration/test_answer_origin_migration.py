"""Revision 0013 on existing rows: answers scanned from a PDF return become `pdf_scan`, and back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Table, select

from forms_service.storage import migrate
from forms_service.storage.model import ChangeSet, Document, PdfReturn, Submission
from forms_service.storage.service import make_engine

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _answer(number: int, channel: str, status: str | None) -> list[tuple[Table, dict[str, object]]]:
    """The rows of one answered document: document, submission, change set, maybe a return."""
    document, submission, change_set = (f"{kind}{number}".ljust(22, "0") for kind in "dsc")
    rows: list[tuple[Table, dict[str, object]]] = [
        (
            _table(Document),
            {
                "id": document, "reference": f"7Q4-K2M-9{number}X", "form_id": "contact-update",
                "form_version": 1, "record_key": f"C00000{number}", "campaign": "test",
                "snapshot": {}, "challenge_digests": {}, "status": "answered",
                "issued_at": NOW, "expires_at": NOW + dt.timedelta(days=60),
                "challenge_failures": 0,
            },
        ),
        (
            _table(Submission),
            {
                "id": submission, "document_id": document, "channel": channel,
                "status": "in_review", "raw_values": {}, "values": {}, "base": {},
                "evidence": {}, "locale": "fr", "received_at": NOW,
            },
        ),
        (
            _table(ChangeSet),
            {
                "id": change_set, "submission_id": submission, "document_id": document,
                "form_id": "contact-update", "channel": channel, "status": "open",
                "has_conflict": False, "created_at": NOW, "version": 1,
            },
        ),
    ]  # fmt: skip
    if status is not None:
        rows.append(
            (
                _table(PdfReturn),
                {
                    "id": f"r{number}".ljust(22, "0"), "document_id": document,
                    "submission_id": submission, "status": status, "file_key": f"k{number}",
                    "size": 1, "via": "upload", "actor": "customer", "reader": "pdfplumber",
                    "field_count": 0, "received_at": NOW,
                },
            )
        )  # fmt: skip
    return rows


def _channels(url: str) -> dict[str, tuple[str, str]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            select(Submission.document_id, Submission.channel, ChangeSet.channel).join(
                ChangeSet, ChangeSet.submission_id == Submission.id
            )
        ).all()
    engine.dispose()
    return {document[:2]: (s, c) for document, s, c in found}


def test_scanned_pdf_returns_become_pdf_scan_and_nothing_else_moves(
    empty_database_url: str,
) -> None:
    migrate.upgrade(empty_database_url, "0004")
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        for number, channel, status in (
            (1, "paper", "scanned"),  # a flattened PDF return the mailroom read
            (2, "paper", None),  # a paper letter
            (3, "pdf", "read"),  # a fillable PDF return, its fields read
            (4, "online", None),
        ):
            for table, values in _answer(number, channel, status):
                connection.execute(table.insert().values(**values))
    engine.dispose()

    migrate.upgrade(empty_database_url)
    assert _channels(empty_database_url) == {
        "d1": ("pdf_scan", "pdf_scan"),
        "d2": ("paper", "paper"),
        "d3": ("pdf", "pdf"),
        "d4": ("online", "online"),
    }
    migrate.downgrade(empty_database_url, "0013_answer_origins@0013_answer_origins-1")
    assert _channels(empty_database_url)["d1"] == ("paper", "paper")
