"""The names of statuses, channels, events… on the back-office and mailroom screens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from forms_service.core.i18n import NP_

#: prefix -> value -> (context, msgid) of its name, translated when shown (`named`).
NAMES: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    "status": {
        "open": NP_("change set status", "open"),
        "approved": NP_("change set status", "approved"),
        "applied": NP_("change set status", "applied"),
        "partially_applied": NP_("change set status", "partially applied"),
        "rejected": NP_("change set status", "rejected"),
        "conflict": NP_("change set status", "in conflict"),
        "no_change": NP_("change set status", "no change"),
        "failed": NP_("change set status", "failed"),
    },
    "fstatus": {
        "pending": NP_("field status", "pending"),
        "accepted": NP_("field status", "accepted"),
        "awaiting_second": NP_("field status", "awaiting a second reviewer"),
        "rejected": NP_("field status", "rejected"),
        "queued": NP_("field status", "queued for write-back"),
        "applied": NP_("field status", "applied"),
        "conflict": NP_("field status", "in conflict"),
        "failed": NP_("field status", "failed"),
    },
    "channel": {
        "online": NP_("channel", "Online form"),
        "pdf": NP_("channel", "PDF return (fields read)"),
        "pdf_scan": NP_("channel", "PDF return read by scan"),
        "paper": NP_("channel", "Paper scan"),
    },
    "evidence": {
        "typed": NP_("evidence", "typed online"),
        "pdf_field": NP_("evidence", "PDF field"),
        "scan": NP_("evidence", "scan"),
        "unknown": NP_("evidence", "unknown"),
    },
    "outbox": {
        "pending": NP_("write-back status", "to deliver"),
        "delivered": NP_("write-back status", "delivered"),
        "conflict": NP_("write-back status", "in conflict"),
        "dead": NP_("write-back status", "dead letter"),
    },
    "event": {
        "issued": NP_("event", "issued"),
        "opened": NP_("event", "opened by the customer"),
        "submitted": NP_("event", "answer received"),
        "proposed": NP_("event", "changes proposed"),
        "accepted": NP_("event", "accepted"),
        "rejected": NP_("event", "rejected"),
        "edited": NP_("event", "edited"),
        "applied": NP_("event", "applied"),
        "conflict": NP_("event", "conflict"),
        "failed": NP_("event", "failed"),
        "approved": NP_("event", "approved"),
        "auto_applied": NP_("event", "applied without review"),
        "requeued": NP_("event", "write-back sent again"),
        "revoked": NP_("event", "link revoked"),
        "challenge_failed": NP_("event", "identity check failed"),
        "pdf_received": NP_("event", "PDF received"),
        "pdf_rejected": NP_("event", "PDF refused"),
        "pdf_awaiting_scan": NP_("event", "PDF handed to the mailroom"),
        "pdf_return_scanned": NP_("event", "PDF return read by scan"),
        "pdf_return_rejected": NP_("event", "PDF return set aside"),
        "pdf_return_assigned_elsewhere": NP_("event", "PDF return assigned to other documents"),
        "scan_batch_received": NP_("event", "scan batch received"),
        "scan_page_assigned": NP_("event", "page assigned"),
        "scan_page_rejected": NP_("event", "page set aside"),
    },
    "source": {
        "upload": NP_("batch source", "screen upload"),
        "api": NP_("batch source", "API"),
        "cli": NP_("batch source", "command line"),
        "watch": NP_("batch source", "watched folder"),
        "pdf_return": NP_("batch source", "PDF return"),
    },
    "batch": {
        "processing": NP_("batch status", "processing"),
        "done": NP_("batch status", "done"),
    },
    "page": {
        "queued": NP_("page status", "queued"),
        "processing": NP_("page status", "processing"),
        "read": NP_("page status", "read"),
        "submitted": NP_("page status", "submitted"),
        "exception": NP_("page status", "exception"),
        "rejected": NP_("page status", "rejected"),
    },
    "return": {
        "awaiting_scan": NP_(
            "PDF return", "waiting for its pages to be read, or settled by an operator"
        ),
        "scanned": NP_("PDF return", "read into its document's paper answer"),
        "assigned_elsewhere": NP_(
            "PDF return",
            "its pages were assigned to other documents' answers (none answers its own)",
        ),
        "rejected": NP_("PDF return", "every page was set aside: nothing was read from it"),
        "read": NP_("PDF return", "its fields were read"),
    },
    "rstatus": {
        "awaiting_scan": NP_("PDF return status", "awaiting scan"),
        "scanned": NP_("PDF return status", "scanned"),
        "assigned_elsewhere": NP_("PDF return status", "assigned elsewhere"),
        "rejected": NP_("PDF return status", "rejected"),
        "read": NP_("PDF return status", "read"),
    },
    "via": {
        "upload": NP_("PDF return via", "customer upload on their link"),
        "api": NP_("PDF return via", "API"),
    },
    "exception": {
        "blank_page": NP_("page exception", "blank page"),
        "protected_pdf": NP_("page exception", "protected PDF"),
        "corrupt_pdf": NP_("page exception", "corrupt PDF"),
        "corrupt_image": NP_("page exception", "corrupt image"),
        "image_too_large": NP_("page exception", "image too large"),
        "unreadable_code": NP_("page exception", "no readable QR code"),
        "foreign_code": NP_("page exception", "foreign QR code"),
        "covering_letter": NP_("page exception", "covering letter"),
        "unknown_document": NP_("page exception", "unknown document"),
        "revoked_document": NP_("page exception", "withdrawn document"),
        "retired_version": NP_("page exception", "retired form version"),
        "unknown_layout": NP_("page exception", "unknown layout"),
        "unaligned_page": NP_("page exception", "corner marks not found"),
        "orientation_uncertain": NP_("page exception", "orientation uncertain"),
        "unknown_page": NP_("page exception", "page the form does not have"),
        "duplicate_page": NP_("page exception", "page twice in the batch"),
        "page_of_another_batch": NP_("page exception", "page already received in another batch"),
        "other_document": NP_("page exception", "page of another document than the return"),
        "already_answered": NP_("page exception", "document already answered"),
        "missing_pages": NP_("page exception", "missing pages"),
        "internal_error": NP_("page exception", "internal error"),
        "worker_lost": NP_("page exception", "reading interrupted three times"),
    },
    "document": {
        "issued": NP_("document status", "issued"),
        "opened": NP_("document status", "opened"),
        "answered": NP_("document status", "answered"),
        "closed": NP_("document status", "closed"),
        "revoked": NP_("document status", "withdrawn"),
    },
}
