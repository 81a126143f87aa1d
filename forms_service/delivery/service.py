"""Send a campaign's documents on the channel each customer can and wants to receive.

The flow: `send_campaign` plans every issued document of a campaign (its record read from the
source through the definition's `contact:` columns, the channel chosen by delivery/channels.py)
and writes one `messages` row per document, `queued`, before any send. The job
`delivery.send` (`send_message`) claims the row (`queued` -> `sending`, committed), renders
the message, hands it to the provider, then records the provider's reference (`sent`). A
worker killed between the two leaves the row `sending`: it is never sent again blindly (the
sweep marks it `unknown`, docs/delivery.md "Sending"). Reports (`record_report`) move the
row on; a permanent failure falls back to the next allowed channel in a job of its own.
A campaign's messages go in `delivery.send_batch` jobs (`send_batch`, delivery/batches.py):
one claim, one read and one provider session per batch, the same rows and events.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from forms_service.connectors.interfaces import Connector
from forms_service.consent.capacity import Bookings
from forms_service.consent.gate import Gate
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.answers import DocumentFacts, opted_out
from forms_service.delivery.batches import BatchSender
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.channels import Reach
from forms_service.delivery.followup import FALLBACK_JOB, SEND_BATCH_JOB, SEND_JOB, FollowUp
from forms_service.delivery.gating import claim, unclaimable
from forms_service.delivery.interfaces import (
    Channel,
    DeliveryReport,
    EmailProvider,
    MessageContext,
    OutgoingEmail,
    OutgoingSms,
    PermanentFailure,
    Purpose,
    Renderer,
    SendResult,
    SmsProvider,
    TemporaryFailure,
)
from forms_service.delivery.model import DeliverySettings, SendPlan
from forms_service.delivery.outcomes import (
    permanent_reason,
    record_permanent,
    record_sent,
    record_temporary,
)
from forms_service.delivery.planning import plan_and_queue
from forms_service.delivery.ratelimit import SendRate
from forms_service.jobs.interfaces import JobQueue
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import (
    DeliveryCampaign,
    Message,
    MessageStatus,
    new_message_id,
)
from forms_service.storage.model import Document

log = logging.getLogger(__name__)

#: Documents planned per transaction (and records read per connector query).
SEND_BATCH = 200
#: Documents counted per read in a dry run (no transaction writes: larger batches).
DRY_RUN_BATCH = 1000


class Links(Protocol):
    """The links a message carries (issuing gives the full one; short links come from i13msg)."""

    def link_for(self, document: Document) -> str: ...


ShortLinker = Callable[[Session, Sequence[Document]], Mapping[str, str]]
#: (document id, purpose, channel) -> the one-click unsubscribe link (consent/unsubscribe.py).
UnsubscribeLinker = Callable[[str, str, str], str]


class DeliveryService:
    """Plans, sends and follows a campaign's messages; the ReportSink of providers' reports."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        definitions: DefinitionSet,
        connectors: Mapping[str, Connector],
        links: Links,
        renderer: Renderer,
        email: EmailProvider,
        sms: SmsProvider,
        jobs: JobQueue | None,
        *,
        settings: DeliverySettings | None = None,
        clock: Clock = utc_now,
        short_link: ShortLinker | None = None,
        rate: SendRate | None = None,
        unsubscribe_link: UnsubscribeLinker | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.sessions = sessions
        self.definitions = definitions
        self.connectors = connectors
        self.links = links
        self.renderer = renderer
        self.email = email
        self.sms = sms
        self.jobs = jobs
        self.settings = settings or DeliverySettings()
        self.clock = clock
        self.short_link = short_link
        self.rate = rate or SendRate(sessions)
        self.unsubscribe_link = unsubscribe_link
        #: Consent, pressure caps, calendars and capacity (consent/gate.py): asked at
        #: planning and again at each claim.
        self.gate = gate or Gate()

    # -- campaigns -----------------------------------------------------------------------

    def configure(self, campaign: str, options: CampaignOptions) -> DeliveryCampaign:
        """Store how `campaign` is sent (replacing what was stored); NotFound when no document."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            if (
                session.scalars(select(Document.id).where(Document.campaign == campaign)).first()
                is None
            ):
                raise NotFound(f"no document was issued in campaign {campaign!r}", field="campaign")
            row = session.get(DeliveryCampaign, campaign)
            if row is None:
                row = DeliveryCampaign(name=campaign, created_at=now, detail={})
                session.add(row)
            row.channels = [c.value for c in options.channels]
            row.honour_preference = not options.force
            row.purpose = options.purpose.value
            row.reminders = list(options.reminders)
            row.remind_channel = options.remind_channel
            row.updated_at = now
            session.flush()
            session.expunge(row)
            return row

    def options_of(self, session: Session, campaign: str) -> CampaignOptions:
        """The stored options of `campaign` (the defaults when never configured)."""
        row = session.get(DeliveryCampaign, campaign)
        if row is None:
            return CampaignOptions()
        return CampaignOptions(
            channels=tuple(Channel(c) for c in row.channels),
            force=not row.honour_preference,
            purpose=Purpose(row.purpose),
            reminders=tuple(row.reminders),
            remind_channel=row.remind_channel,
        )

    # -- planning and queueing -----------------------------------------------------------

    def send_campaign(
        self,
        campaign: str,
        options: CampaignOptions | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> SendPlan:
        """Queue the first message of every open document of `campaign` (or count, dry).

        Documents that already have their first message are counted as `already` (a rerun
        resumes). A document no channel can reach is marked unreachable in its history,
        with the reason of each channel. The messages are handed to `delivery.send_batch`
        jobs of `settings.batch_size` messages.
        """
        if options is not None and not dry_run:
            self.configure(campaign, options)
        with self.sessions() as session:
            chosen = options or self.options_of(session, campaign)
            total = session.scalars(
                select(Document.id).where(Document.campaign == campaign)
            ).first()
        if total is None:
            raise NotFound(f"no document was issued in campaign {campaign!r}", field="campaign")
        plan = SendPlan(campaign=campaign, dry_run=dry_run)
        bookings = Bookings(None, self.gate.rules)
        for batch in self._batches(campaign, DRY_RUN_BATCH if dry_run else SEND_BATCH):
            queued = plan_and_queue(self, batch, chosen, plan, bookings, dry_run=dry_run)
            self.enqueue_sends(queued)
            if progress is not None:
                progress(len(batch))
        return plan

    def count_documents(self, campaign: str) -> int:
        """Documents issued in `campaign` (for a progress bar)."""
        from sqlalchemy import func

        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(Document).where(Document.campaign == campaign)
                )
                or 0
            )

    def _batches(self, campaign: str, size: int = SEND_BATCH) -> Iterator[list[str]]:
        with self.sessions() as session:
            ids = list(
                session.scalars(
                    select(Document.id).where(Document.campaign == campaign).order_by(Document.id)
                )
            )
        for start in range(0, len(ids), size):
            yield ids[start : start + size]

    def queue_message(
        self,
        session: Session,
        document: Document | DocumentFacts,
        chosen: Reach,
        reminder: int,
        purpose: Purpose,
        now: dt.datetime,
    ) -> Message:
        """Add a queued message of `document` on the chosen channel (in the caller's session)."""
        message = Message(
            id=new_message_id(),
            document_id=document.id,
            campaign=document.campaign,
            channel=chosen.channel.value,
            purpose=purpose.value,
            reminder=reminder,
            recipient=chosen.recipient or "",
            status=MessageStatus.QUEUED,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        session.add(message)
        return message

    def record_unreachable(
        self,
        session: Session,
        document: Document | DocumentFacts,
        passed: Reach,
        reminder: int,
        purpose: Purpose,
        now: dt.datetime,
    ) -> None:
        """Record that a channel cannot reach the document's customer (a row, an event)."""
        exists = session.scalars(
            select(Message.id).where(
                Message.document_id == document.id,
                Message.channel == passed.channel.value,
                Message.reminder == reminder,
            )
        ).first()
        if exists is not None:
            return
        row = Message(
            id=new_message_id(),
            document_id=document.id,
            campaign=document.campaign,
            channel=passed.channel.value,
            purpose=purpose.value,
            reminder=reminder,
            recipient="",
            status=MessageStatus.UNREACHABLE,
            attempts=0,
            reason=passed.reason,
            created_at=now,
            failed_at=now,
            updated_at=now,
        )
        session.add(row)
        record_event(
            session,
            document.id,
            EventKind.UNREACHABLE,
            at=now,
            channel=passed.channel.value,
            message_id=row.id,
            detail={"reason": passed.reason, "reminder": reminder},
        )

    @staticmethod
    def record_no_channel_left(
        session: Session, document: Document | DocumentFacts, reminder: int, now: dt.datetime
    ) -> None:
        record_event(
            session,
            document.id,
            EventKind.UNREACHABLE,
            at=now,
            detail={"reason": "no_channel_left", "reminder": reminder},
        )

    def enqueue(self, job: str, *message_ids: str) -> None:
        """Hand `message_ids` to `job`; a broker down is logged (the sweep sends them later)."""
        if self.jobs is None:
            return
        try:
            self.jobs.enqueue(job, *message_ids)
        except Exception:  # the rows are queued: the sweep sends them when the broker is back
            log.exception("cannot queue %s for %s; the sweep will", job, ", ".join(message_ids))

    def enqueue_sends(self, message_ids: Sequence[str]) -> None:
        """Hand queued messages to send jobs, `settings.batch_size` a job (one alone: a send)."""
        size = self.settings.batch_size
        for start in range(0, len(message_ids), size):
            chunk = message_ids[start : start + size]
            self.enqueue(SEND_JOB if len(chunk) == 1 else SEND_BATCH_JOB, *chunk)

    # -- sending -------------------------------------------------------------------------

    def send_message(self, message_id: str) -> str:
        """Send one queued message, once: what happened (sent, retry, failed, or why not).

        Safe to run twice, concurrently or after a crash: only the run that moves the row
        from `queued` to `sending` (one UPDATE, committed) sends; every other run returns.
        """
        with self.sessions() as session:
            message = session.get(Message, message_id)
            if message is None:
                return "unknown_message"
            refused = unclaimable(message)
            if refused is not None:
                return refused
            suppress = message.purpose == Purpose.COMMERCIAL.value and opted_out(
                session, message.document_id
            )
        if suppress:
            return self._suppress(message_id)
        claimed = claim(self.sessions, self.definitions, self.gate, message_id, self.clock)
        if claimed != "claimed":
            return claimed
        try:
            result = self._hand_over(message_id)
        except TemporaryFailure as exc:
            return self._temporary(message_id, exc)
        except PermanentFailure as exc:
            self._permanent(message_id, permanent_reason(exc))
            return "failed"
        with self.sessions() as session, session.begin():
            record_sent(session, message_id, result, self.clock())
        return "sent"

    def send_batch(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Send queued messages as one batch; message id -> what happened (delivery/batches.py)."""
        return BatchSender(self).send(message_ids)

    def _suppress(self, message_id: str) -> str:
        """A commercial message to a customer who opted out (the consent issue's hook)."""
        with self.sessions() as session, session.begin():
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
                .values(
                    status=MessageStatus.SUPPRESSED, reason="opted_out", updated_at=self.clock()
                )
            )
        return "suppressed"

    def _hand_over(self, message_id: str) -> SendResult:
        """Render and give the message to its provider, with no transaction open meanwhile.

        (SQLite's transactions take the write lock when they begin: a provider answering
        slowly must not hold it.)
        """
        with self.sessions() as session:
            message = session.get_one(Message, message_id)
            document = session.get_one(Document, message.document_id)
            definition = self.definitions[document.form_id]
            connector = self.connectors[definition.source.connector]
            record = connector.read(definition.source.record_type, document.record_key) or {}
            outgoing = self.outgoing(session, message, document, record)
            session.commit()  # a short link the context created is kept
        # The slot is waited for last, right before the hand-over: what the gateway sees is
        # then the slots' pace, not the pace of renders and reads that a loaded machine delays.
        channel = Channel(message.channel)
        self.rate.wait(channel.value, self.settings.rates.get(channel.value, 0.0))
        return self.provide(outgoing)

    def outgoing(
        self,
        session: Session,
        message: Message,
        document: Document,
        record: Mapping[str, Any],
    ) -> OutgoingEmail | OutgoingSms:
        """The rendered message (its short link made in `session` if needed; caller commits)."""
        short_link = self.short_links_of(session, [document])[document.id]
        return self.render(message, document, record, short_link)

    def render(
        self,
        message: Message,
        document: Document,
        record: Mapping[str, Any],
        short_link: str,
    ) -> OutgoingEmail | OutgoingSms:
        """The message rendered for its channel, with the document's links and the record."""
        definition = self.definitions[document.form_id]
        context = self._context(definition, document, record, message.reminder, short_link)
        channel = Channel(message.channel)
        purpose = definition.purpose.value
        if purpose != Purpose.SERVICE.value and self.unsubscribe_link is not None:
            # RFC 8058: a non-service message carries its one-click unsubscribe link.
            context = replace(
                context, unsubscribe_url=self.unsubscribe_link(document.id, purpose, channel)
            )
        if channel is Channel.EMAIL:
            return OutgoingEmail(message.id, message.recipient, self.renderer.render_email(context))
        return OutgoingSms(message.id, message.recipient, self.renderer.render_sms(context))

    def provide(self, outgoing: OutgoingEmail | OutgoingSms) -> SendResult:
        """Hand a rendered message to its channel's provider (its slot already waited for)."""
        if isinstance(outgoing, OutgoingEmail):
            return self.email.send(outgoing)
        return self.sms.send(outgoing)

    def short_links_of(self, session: Session, documents: Sequence[Document]) -> dict[str, str]:
        """Document id -> its short link (made in `session` if needed), else its full link."""
        if self.short_link is None:
            return {document.id: self.links.link_for(document) for document in documents}
        return dict(self.short_link(session, documents))

    def _context(
        self,
        definition: FormDefinition,
        document: Document,
        record: Mapping[str, Any],
        reminder: int,
        short_link: str,
    ) -> MessageContext:
        link = self.links.link_for(document)
        contact = definition.contact
        locale = str(record.get(contact.locale) or "fr") if contact and contact.locale else "fr"
        return MessageContext(
            form_id=definition.id,
            locale=locale if locale in ("fr", "en") else "fr",
            record=record,
            link=link,
            short_link=short_link,
            deadline=document.expires_at.date(),
            reminder=reminder,
        )

    def _temporary(self, message_id: str, exc: TemporaryFailure) -> str:
        with self.sessions() as session, session.begin():
            outcome = record_temporary(session, message_id, exc, self.settings, self.clock())
        if outcome == "retry":
            log.warning("message %s: temporary failure, retried later", message_id)
        return outcome

    def _permanent(self, message_id: str, reason: str) -> None:
        with self.sessions() as session, session.begin():
            record_permanent(session, message_id, reason, self.clock())
        log.info("message %s: permanent failure (%s)", message_id, reason)
        self.enqueue(FALLBACK_JOB, message_id)

    def close(self) -> None:
        """End the providers' open sessions (the SMTP session, Kannel's kept-alive connection)."""
        for provider in (self.email, self.sms):
            close = getattr(provider, "close", None)
            if close is not None:
                close()

    # -- reports and fallback (delivery/followup.py; letters: delivery/letters.py) ---------

    def record_report(self, report: DeliveryReport) -> None:
        """Record a provider's report (ReportSink); see FollowUp.record_report."""
        FollowUp(self).record_report(report)

    def fall_back(self, message_id: str) -> str:
        """Queue the document of a failed message on its next channel; see FollowUp."""
        return FollowUp(self).fall_back(message_id)

    def resolve_unknown(self, message_id: str, *, sent: bool, actor: str) -> str:
        """Settle a message left `unknown`; see FollowUp.resolve_unknown."""
        return FollowUp(self).resolve_unknown(message_id, sent=sent, actor=actor)
