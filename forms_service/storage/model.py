"""SQLAlchemy 2 typed models of everything the service stores."""

from __future__ import annotations

import datetime as dt
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a stable naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON}


def _enum(enum: type[Enum]) -> SqlEnum:
    return SqlEnum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class DocumentStatus(StrEnum):
    """Where a document is in its life."""

    ISSUED = "issued"
    OPENED = "opened"
    ANSWERED = "answered"
    CLOSED = "closed"
    REVOKED = "revoked"


class Document(Base):
    """What was issued to one customer for one form: snapshot, expiry, link."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("form_id", "record_key", "campaign"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    form_id: Mapped[str] = mapped_column(String(64), index=True)
    form_version: Mapped[int] = mapped_column(Integer)
    #: The paper layout version current when issued; None: issued before layout versions
    #: existed, hence printed with layout version 1.
    layout_version: Mapped[int | None] = mapped_column(Integer)
    record_key: Mapped[str] = mapped_column(String(128))
    campaign: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    challenge_digests: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus), index=True)
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    opened_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    challenge_failures: Mapped[int] = mapped_column(Integer, default=0)
    challenge_locked_until: Mapped[dt.datetime | None]
    #: How many times wrong identity answers have locked the document: each lock lasts
    #: longer, and the last one (`challenge_blocked_at`) lasts until an adviser reissues it.
    challenge_locks: Mapped[int] = mapped_column(Integer, server_default="0")
    #: The identity question refuses every answer from then on, until `documents reissue`.
    challenge_blocked_at: Mapped[dt.datetime | None]

    submissions: Mapped[list[Submission]] = relationship(back_populates="document")


class SubmissionStatus(StrEnum):
    """What became of a submission."""

    RECEIVED = "received"
    NO_CHANGE = "no_change"
    IN_REVIEW = "in_review"
    APPLIED = "applied"
    REJECTED = "rejected"
    CLOSED = "closed"
    #: Replaced by the customer's amended answer before it was processed: kept as history,
    #: its change set now belongs to the amendment.
    SUPERSEDED = "superseded"


class AnswerChannel(StrEnum):
    """Where an answer came from, as submissions, change sets, the back office and the API say.

    A returned PDF whose fields were gone (flattened, printed and scanned) is read by the
    mailroom like a paper letter, but it is still a PDF return: it has its own value.
    """

    #: Typed in the online form.
    ONLINE = "online"
    #: A returned fillable PDF, its fields read.
    PDF = "pdf"
    #: A returned PDF with no fields left, read by the mailroom's scan pipeline.
    PDF_SCAN = "pdf_scan"
    #: A paper letter posted back and scanned by the mailroom.
    PAPER = "paper"


#: Channels whose values were read from a page image (OCR, ink): the scan pipeline's.
SCANNED_CHANNELS = frozenset({AnswerChannel.PDF_SCAN, AnswerChannel.PAPER})


class Submission(Base):
    """One answer on one channel, stored raw before it is acknowledged."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus), index=True)
    raw_values: Mapped[dict[str, Any]] = mapped_column(JSON)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    base: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    opened_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]

    document: Mapped[Document] = relationship(back_populates="submissions")


class SecurityEvent(Base):
    """Something suspicious: a tampered link, a failed challenge, a rejected upload."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    document_id: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Append-only, hash-chained record of everything that happened to documents."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_document", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    document_id: Mapped[str | None] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The place in the chain and the hashes; on PostgreSQL they are set when the event's
    # transaction commits (migration 0012), from `pending_body`, NULL afterwards.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pending_body: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """A back-office account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    #: The language of the user's screens (`fr`, `en`); None: the browser's, else French.
    locale: Mapped[str | None] = mapped_column(String(8))


class UserSession(Base):
    """A back-office or mailroom sign-in, referenced from the signed session cookie.

    The cookie carries a random session id; only its SHA-256 is stored. Signing out, a
    password change or an administrator's revoke sets `revoked_at`: a copy of the cookie
    made before is refused from then on.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime]
    #: The last request, to within a minute (the idle timeout counts from it).
    last_seen_at: Mapped[dt.datetime]
    #: The keyed hash of the address signed in from (`client_pseudonym`), never the address.
    client: Mapped[str] = mapped_column(String(64))
    #: A keyed digest of the browser's User-Agent: the session is bound to it.
    agent_digest: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None]
    #: Why it ended: signed_out, password_changed, revoked, other_browser, other_address.
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class SignInFailures(Base):
    """Wrong sign-ins counted for one typed account name: from one client, or from all.

    `account_key` is a keyed hash of the name as typed (existing or not, so that unknown and
    real accounts are answered alike); `client` is the client pseudonym, or "" for the row
    counting every client's failures (the account's slower global back-off).
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("account_key", "client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]


class ApiToken(Base):
    """A token an integration presents as `Authorization: Bearer …` (only its hash is kept)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    #: The person whose decisions the token makes (None: tokens made before owners; such a
    #: token decides nothing).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Refused from then on like an unknown token (None: tokens made before expiries).
    expires_at: Mapped[dt.datetime | None]
    #: When the token was last presented, to within a minute (not written on every request).
    last_used_at: Mapped[dt.datetime | None]


class ChangeSetStatus(StrEnum):
    """Where a change set is in review."""

    OPEN = "open"
    APPROVED = "approved"
    APPLIED = "applied"
    PARTIALLY_APPLIED = "partially_applied"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    NO_CHANGE = "no_change"
    #: Delivery dead-lettered and nothing was applied: an alert until a supervisor acts.
    FAILED = "failed"


class FieldChangeStatus(StrEnum):
    """The state of one field's change; transitions live in changes/ as a table."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    AWAITING_SECOND = "awaiting_second"
    REJECTED = "rejected"
    QUEUED = "queued"
    APPLIED = "applied"
    CONFLICT = "conflict"
    FAILED = "failed"


class ChangeSet(Base):
    """The field changes one submission proposes."""

    __tablename__ = "change_sets"
    #: What waits, oldest first, is read from this index (the dashboard; revision 0015).
    __table_args__ = (Index("ix_change_sets_waiting", "status", "has_conflict", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), unique=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    form_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[ChangeSetStatus] = mapped_column(_enum(ChangeSetStatus), index=True)
    has_conflict: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: Indexed: the dashboard counts what closed today and this week.
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    #: Optimistic lock: every review action bumps it, a stale screen is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    fields: Mapped[list[FieldChangeRow]] = relationship(
        back_populates="change_set", order_by="FieldChangeRow.position"
    )

    __mapper_args__ = {"version_id_col": version}


class FieldChangeRow(Base):
    """One field of a change set: base, current, proposed, verdict and review state."""

    __tablename__ = "field_changes"
    __table_args__ = (UniqueConstraint("change_set_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_set_id: Mapped[str] = mapped_column(ForeignKey("change_sets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    base: Mapped[str | None] = mapped_column(Text)
    current: Mapped[str | None] = mapped_column(Text)
    #: The raw source value read with `current`: the expected value of the optimistic write.
    current_raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposed: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(24))
    policy: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(default=1.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    verdict: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[FieldChangeStatus] = mapped_column(_enum(FieldChangeStatus), index=True)
    first_reviewer: Mapped[str | None] = mapped_column(String(64))
    second_reviewer: Mapped[str | None] = mapped_column(String(64))
    #: The persons (users.id) behind the names, whichever way they decided (screen or token);
    #: the four-eyes rule compares these. None: a decision without a known person.
    first_reviewer_id: Mapped[int | None] = mapped_column(Integer)
    second_reviewer_id: Mapped[int | None] = mapped_column(Integer)
    edited_from: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None]
    #: How a clerk settled a conflict on this line (changes/station.py `Resolution`); None:
    #: not a conflict, or not settled yet, which the plain accept refuses.
    resolution: Mapped[str | None] = mapped_column(String(16))

    change_set: Mapped[ChangeSet] = relationship(back_populates="fields")


class OutboxStatus(StrEnum):
    """Delivery state of an outbox message."""

    PENDING = "pending"
    DELIVERED = "delivered"
    CONFLICT = "conflict"
    DEAD = "dead"


class OutboxMessage(Base):
    """Changes to write to a source, stored in the approval's transaction."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_set_id: Mapped[str] = mapped_column(ForeignKey("change_sets.id"), index=True)
    connector: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(128))
    #: {column: {"expected": raw value read, "new": value to write, "field": field name}}
    writes: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]


class AuditChainHead(Base):
    """The audit chain's length and last hash, so that deleting the last rows shows."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class PdfReturnStatus(StrEnum):
    """What became of an accepted PDF return."""

    #: Its fields were read into a submission.
    READ = "read"
    #: No fields were left (flattened, printed to PDF): the mailroom reads it like a scan.
    AWAITING_SCAN = "awaiting_scan"
    #: The mailroom read its pages into its document's paper submission (`submission_id`).
    SCANNED = "scanned"
    #: Every page is settled and none answers the return's document: an operator assigned
    #: its pages to other documents' answers (its other pages, if any, were set aside).
    ASSIGNED_ELSEWHERE = "assigned_elsewhere"
    #: Every page was set aside (unreadable, not a form page, rejected by an operator):
    #: no answer was read from it.
    REJECTED = "rejected"


#: Statuses after which nothing more happens to a return.
FINAL_PDF_RETURN_STATUSES = frozenset(
    {
        PdfReturnStatus.READ,
        PdfReturnStatus.SCANNED,
        PdfReturnStatus.ASSIGNED_ELSEWHERE,
        PdfReturnStatus.REJECTED,
    }
)


class PdfReturn(Base):
    """A returned PDF that was accepted: the stored file and what it became."""

    __tablename__ = "pdf_returns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[PdfReturnStatus] = mapped_column(_enum(PdfReturnStatus), index=True)
    file_key: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    reader: Mapped[str] = mapped_column(String(16))
    field_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
