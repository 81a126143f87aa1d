"""The names of statuses, channels, events… on the back-office and mailroom screens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from flask_babel import lazy_pgettext

#: prefix -> value -> its name, translated when shown (`named` in the templates).
NAMES: Final[Mapping[str, Mapping[str, object]]] = {
    "status": {
        "open": lazy_pgettext("change set status", "open"),
        "approved": lazy_pgettext("change set status", "approved"),
        "applied": lazy_pgettext("change set status", "applied"),
        "partially_applied": lazy_pgettext("change set status", "partially applied"),
        "rejected": lazy_pgettext("change set status", "rejected"),
        "conflict": lazy_pgettext("change set status", "in conflict"),
        "no_change": lazy_pgettext("change set status", "no change"),
        "failed": lazy_pgettext("change set status", "failed"),
    },
    "fstatus": {
        "pending": lazy_pgettext("field status", "pending"),
        "accepted": lazy_pgettext("field status", "accepted"),
        "awaiting_second": lazy_pgettext("field status", "awaiting a second reviewer"),
        "rejected": lazy_pgettext("field status", "rejected"),
        "queued": lazy_pgettext("field status", "queued for write-back"),
        "applied": lazy_pgettext("field status", "applied"),
        "conflict": lazy_pgettext("field status", "in conflict"),
        "failed": lazy_pgettext("field status", "failed"),
    },
    "channel": {
        "online": lazy_pgettext("channel", "Online form"),
        "pdf": lazy_pgettext("channel", "PDF return (fields read)"),
        "pdf_scan": lazy_pgettext("channel", "PDF return read by scan"),
        "paper": lazy_pgettext("channel", "Paper scan"),
    },
    "evidence": {
        "typed": lazy_pgettext("evidence", "typed online"),
        "pdf_field": lazy_pgettext("evidence", "PDF field"),
        "scan": lazy_pgettext("evidence", "scan"),
        "unknown": lazy_pgettext("evidence", "unknown"),
    },
    "outbox": {
        "pending": lazy_pgettext("write-back status", "to deliver"),
        "delivered": lazy_pgettext("write-back status", "delivered"),
        "conflict": lazy_pgettext("write-back status", "in conflict"),
        "dead": lazy_pgettext("write-back status", "dead letter"),
    },
    "event": {
        "issued": lazy_pgettext("event", "issued"),
        "opened": lazy_pgettext("event", "opened by the customer"),
        "submitted": lazy_pgettext("event", "answer received"),
        "proposed": lazy_pgettext("event", "changes proposed"),
        "accepted": lazy_pgettext("event", "accepted"),
        "rejected": lazy_pgettext("event", "rejected"),
        "edited": lazy_pgettext("event", "edited"),
        "applied": lazy_pgettext("event", "applied"),
        "conflict": lazy_pgettext("event", "conflict"),
        "failed": lazy_pgettext("event", "failed"),
        "approved": lazy_pgettext("event", "approved"),
        "auto_applied": lazy_pgettext("event", "applied without review"),
        "requeued": lazy_pgettext("event", "write-back sent again"),
        "revoked": lazy_pgettext("event", "link revoked"),
        "challenge_failed": lazy_pgettext("event", "identity check failed"),
        "pdf_received": lazy_pgettext("event", "PDF received"),
        "pdf_rejected": lazy_pgettext("event", "PDF refused"),
        "pdf_awaiting_scan": lazy_pgettext("event", "PDF handed to the mailroom"),
        "pdf_return_scanned": lazy_pgettext("event", "PDF return read by scan"),
        "pdf_return_rejected": lazy_pgettext("event", "PDF return set aside"),
        "pdf_return_assigned_elsewhere": lazy_pgettext(
            "event", "PDF return assigned to other documents"
        ),
        "scan_batch_received": lazy_pgettext("event", "scan batch received"),
        "scan_page_assigned": lazy_pgettext("event", "page assigned"),
        "scan_page_rejected": lazy_pgettext("event", "page set aside"),
    },
    "source": {
        "upload": lazy_pgettext("batch source", "screen upload"),
        "api": lazy_pgettext("batch source", "API"),
        "cli": lazy_pgettext("batch source", "command line"),
        "watch": lazy_pgettext("batch source", "watched folder"),
        "pdf_return": lazy_pgettext("batch source", "PDF return"),
    },
    "batch": {
        "processing": lazy_pgettext("batch status", "processing"),
        "done": lazy_pgettext("batch status", "done"),
    },
    "page": {
        "queued": lazy_pgettext("page status", "queued"),
        "processing": lazy_pgettext("page status", "processing"),
        "read": lazy_pgettext("page status", "read"),
        "submitted": lazy_pgettext("page status", "submitted"),
        "exception": lazy_pgettext("page status", "exception"),
        "rejected": lazy_pgettext("page status", "rejected"),
    },
    "return": {
        "awaiting_scan": lazy_pgettext(
            "PDF return", "waiting for its pages to be read, or settled by an operator"
        ),
        "scanned": lazy_pgettext("PDF return", "read into its document's paper answer"),
        "assigned_elsewhere": lazy_pgettext(
            "PDF return",
            "its pages were assigned to other documents' answers (none answers its own)",
        ),
        "rejected": lazy_pgettext(
            "PDF return", "every page was set aside: nothing was read from it"
        ),
        "read": lazy_pgettext("PDF return", "its fields were read"),
    },
    "rstatus": {
        "awaiting_scan": lazy_pgettext("PDF return status", "awaiting scan"),
        "scanned": lazy_pgettext("PDF return status", "scanned"),
        "assigned_elsewhere": lazy_pgettext("PDF return status", "assigned elsewhere"),
        "rejected": lazy_pgettext("PDF return status", "rejected"),
        "read": lazy_pgettext("PDF return status", "read"),
    },
    "via": {
        "upload": lazy_pgettext("PDF return via", "customer upload on their link"),
        "api": lazy_pgettext("PDF return via", "API"),
    },
    "exception": {
        "blank_page": lazy_pgettext("page exception", "blank page"),
        "protected_pdf": lazy_pgettext("page exception", "protected PDF"),
        "corrupt_pdf": lazy_pgettext("page exception", "corrupt PDF"),
        "corrupt_image": lazy_pgettext("page exception", "corrupt image"),
        "image_too_large": lazy_pgettext("page exception", "image too large"),
        "unreadable_code": lazy_pgettext("page exception", "no readable QR code"),
        "foreign_code": lazy_pgettext("page exception", "foreign QR code"),
        "covering_letter": lazy_pgettext("page exception", "covering letter"),
        "unknown_document": lazy_pgettext("page exception", "unknown document"),
        "revoked_document": lazy_pgettext("page exception", "withdrawn document"),
        "retired_version": lazy_pgettext("page exception", "retired form version"),
        "unknown_layout": lazy_pgettext("page exception", "unknown layout"),
        "unaligned_page": lazy_pgettext("page exception", "corner marks not found"),
        "unknown_page": lazy_pgettext("page exception", "page the form does not have"),
        "duplicate_page": lazy_pgettext("page exception", "page twice in the batch"),
        "page_of_another_batch": lazy_pgettext(
            "page exception", "page already received in another batch"
        ),
        "other_document": lazy_pgettext(
            "page exception", "page of another document than the return"
        ),
        "already_answered": lazy_pgettext("page exception", "document already answered"),
        "missing_pages": lazy_pgettext("page exception", "missing pages"),
        "internal_error": lazy_pgettext("page exception", "internal error"),
        "worker_lost": lazy_pgettext("page exception", "reading interrupted three times"),
    },
    "document": {
        "issued": lazy_pgettext("document status", "issued"),
        "opened": lazy_pgettext("document status", "opened"),
        "answered": lazy_pgettext("document status", "answered"),
        "closed": lazy_pgettext("document status", "closed"),
        "revoked": lazy_pgettext("document status", "withdrawn"),
    },
}
