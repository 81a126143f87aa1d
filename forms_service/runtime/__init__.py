"""The composition root: everything the service needs at run time, built once from the settings.

The web app, the CLI and the job workers each build one Runtime per process; the layers below
receive their collaborators from it and never import it (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from forms_service.changes import tasks as change_tasks
from forms_service.changes.outbox import OutboxDeliverer, RetryPolicy
from forms_service.changes.policy import PolicySettings
from forms_service.changes.service import ChangeService
from forms_service.config import Settings, ensure_secrets
from forms_service.connectors.interfaces import Connector
from forms_service.connectors.service import build_connectors
from forms_service.consent.answers import AnswerConsents
from forms_service.consent.customers import CustomerReferences
from forms_service.consent.gate import Gate
from forms_service.consent.interfaces import ConsentView
from forms_service.consent.ledger import ConsentLedger
from forms_service.consent.rules import NO_RULES, ContactRules, load_contact_rules
from forms_service.consent.service import ConsentService
from forms_service.consent.unsubscribe import UnsubscribeTokens, unsubscribe_url
from forms_service.core.clock import Clock, utc_now
from forms_service.definitions.organisation import NEUTRAL, Organisation, load_organisation
from forms_service.definitions.service import DefinitionSet, load_definitions
from forms_service.delivery import tasks as delivery_tasks
from forms_service.delivery.interfaces import EmailProvider, SmsProvider
from forms_service.delivery.service import DeliveryService
from forms_service.delivery.shortlinks import ShortLinks, short_url
from forms_service.intake.mailroom import tasks as mailroom_tasks
from forms_service.intake.mailroom.service import MailroomIntake
from forms_service.intake.online.drafts import DraftStore
from forms_service.intake.online.model import ChallengePolicy
from forms_service.intake.online.service import OnlineIntake
from forms_service.intake.online.shown import ShownValuesSeal
from forms_service.intake.pdf.service import PdfReturnIntake, build_pdf_returns
from forms_service.issuing.identity import AnswerDigester
from forms_service.issuing.printing import DocumentPrinter
from forms_service.issuing.service import IssuingService
from forms_service.issuing.tokens import LinkSigner, SigningKey
from forms_service.jobs.interfaces import JobQueue
from forms_service.jobs.service import (
    Job,
    build_job_queue,
    make_celery,
    sweep_while_working,
    warm_up_worker_processes,
)
from forms_service.jobs.sweeps import SweepSettings, SweepTimer
from forms_service.runtime import delivery as delivery_parts
from forms_service.runtime.mailroom import build_mailroom
from forms_service.storage.filestore import LocalFileStore
from forms_service.storage.model import Document
from forms_service.storage.service import make_engine, make_session_factory

#: Job name -> the function a worker runs with (the process's runtime, *ids).
JOBS: Mapping[str, Job] = {
    "mailroom.read_page": mailroom_tasks.read_page,
    "changes.propose": change_tasks.propose_change_set,
    "changes.deliver": change_tasks.deliver_outbox_message,
    "delivery.send": delivery_tasks.send_message,
    "delivery.send_batch": delivery_tasks.send_batch,
    "delivery.fallback": delivery_tasks.fall_back,
}


@dataclass
class Runtime:
    """The assembled collaborators: one per process, shared by web, CLI and jobs."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    definitions: DefinitionSet
    connectors: Mapping[str, Connector]
    signer: LinkSigner
    issuing: IssuingService
    intake: OnlineIntake
    pdf_returns: PdfReturnIntake
    changes: ChangeService
    outbox: OutboxDeliverer
    files: LocalFileStore
    #: Renders stored documents (campaigns, downloads) in the current layout version.
    printer: DocumentPrinter
    #: The time every service built here reads (the web layer too: never datetime.now()).
    clock: Clock
    #: The documents' short links (`/r/<code>`, SMS and QR codes).
    short_links: ShortLinks
    #: Every opt-in and opt-out, and each customer's current state (the gate's ConsentView).
    consent_ledger: ConsentLedger
    #: Unsubscribes, clerks' consent changes, customers' files (over the ledger).
    consent: ConsentService
    #: The sealed customer references of the back office's addresses.
    customer_references: CustomerReferences
    #: Who customers deal with: name, logo, colour, notices, contact (every customer page).
    organisation: Organisation = NEUTRAL
    #: Pressure caps, calendars and channel capacity (`<definitions>/consent/contact_rules.yaml`).
    contact_rules: ContactRules = NO_RULES
    #: The consent ledger's current state the gate reads (None: the CRM's opt-in columns).
    consent_view: ConsentView | None = None
    #: Set right after construction: both need the runtime itself.
    jobs: JobQueue = field(init=False)
    mailroom: MailroomIntake = field(init=False)
    #: Builds the e-mail and SMS providers delivery sends with (replaceable before first use).
    delivery_providers: Callable[[Settings], tuple[EmailProvider, SmsProvider]] = field(
        default=delivery_parts.transport_providers
    )
    _delivery: DeliveryService | None = field(default=None, init=False, repr=False)

    @property
    def delivery(self) -> DeliveryService:
        """Sending, fallback and reports: built on first use, with `delivery_providers`."""
        if self._delivery is None:
            email, sms = self.delivery_providers(self.settings)
            self._delivery = DeliveryService(
                self.sessions,
                self.definitions,
                self.connectors,
                self.issuing,
                delivery_parts.RENDERER(self.settings, self.definitions),
                email,
                sms,
                self.jobs,
                settings=delivery_parts.delivery_settings(self.settings),
                clock=self.clock,
                short_link=self._short_links,
                unsubscribe_link=self._unsubscribe_link,
                gate=Gate(self.contact_rules, self.consent_view),
            )
        return self._delivery

    def _unsubscribe_link(self, document_id: str, purpose: str, channel: str) -> str:
        """The one-click unsubscribe link of a document's message (`…/u/<token>`)."""
        token = self.consent.tokens.sign(document_id, purpose, channel)
        return unsubscribe_url(self.settings.base_url, token)

    def close(self) -> None:
        """Close what the runtime holds open: the providers' sessions, the database pool."""
        if self._delivery is not None:
            self._delivery.close()
        self.engine.dispose()

    def _short_links(self, session: Session, documents: Sequence[Document]) -> dict[str, str]:
        """Document id -> its short link (`…/r/<code>`), made when it has none yet."""
        codes = self.short_links.create_many(session, [(d.id, d.expires_at) for d in documents])
        base = self.settings.short_link_base_url or self.settings.base_url
        return {document_id: short_url(base, code) for document_id, code in codes.items()}


def build_runtime(settings: Settings) -> Runtime:
    """Assemble the runtime; raises DefinitionError or ConfigurationError when unusable."""
    connectors = build_connectors(settings.connectors)
    definitions = load_definitions(
        settings.definitions_dir,
        connectors={name: settings.connectors[name].get("record_types", {}) for name in connectors},
    )
    organisation = load_organisation(
        settings.definitions_dir, required=settings.env == "production"
    )
    contact_rules = load_contact_rules(settings.definitions_dir)
    clock: Clock = utc_now
    engine = make_engine(settings.database_url, immediate=True)
    sessions = make_session_factory(engine)
    signer = LinkSigner([SigningKey.parse(k) for k in settings.link_signing_keys])
    issuing = IssuingService(
        sessions,
        definitions,
        connectors,
        signer,
        settings.base_url,
        clock=clock,
        answers=AnswerDigester(settings.identity_answer_key.encode()),
        short_base_url=settings.short_link_base_url,
    )
    ledger = ConsentLedger(clock=clock)
    consent = ConsentService(
        sessions,
        definitions,
        connectors,
        ledger,
        UnsubscribeTokens(signer.keys),
        clock=clock,
        write_back=settings.consent_unsubscribe_write_back,
    )
    outbox = OutboxDeliverer(
        sessions,
        connectors,
        definitions,
        clock=clock,
        retry=RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            first_delay=dt.timedelta(seconds=settings.outbox_first_delay_seconds),
        ),
        # An applied consent answer reaches the ledger with the source write.
        on_delivered=AnswerConsents(definitions, ledger).record_applied,
    )
    changes = ChangeService(
        sessions,
        definitions,
        connectors,
        clock=clock,
        policy=PolicySettings(settings.auto_apply_min_confidence),
        # Embedded default: deliver right after approval; a worker (`outbox run`) retries.
        on_queued=outbox.deliver_quietly if settings.outbox_deliver_immediately else None,
    )
    intake = OnlineIntake(
        issuing,
        ChallengePolicy(
            max_failures=settings.challenge_max_failures,
            lock_minutes=settings.challenge_lock_minutes,
            long_lock_hours=settings.challenge_long_lock_hours,
            max_locks=settings.challenge_max_locks,
        ),
        proposer=changes,
        seal=ShownValuesSeal(settings.secret_key),
        drafts=DraftStore(sessions, settings.secret_key, clock=clock),
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        definitions=definitions,
        connectors=connectors,
        signer=signer,
        issuing=issuing,
        intake=intake,
        pdf_returns=build_pdf_returns(intake, LocalFileStore(settings.file_store_dir), settings),
        changes=changes,
        outbox=outbox,
        files=LocalFileStore(settings.file_store_dir),
        printer=DocumentPrinter(issuing),
        clock=clock,
        organisation=organisation,
        contact_rules=contact_rules,
        short_links=ShortLinks(signer.keys, clock=clock),
        consent_ledger=ledger,
        consent_view=ledger,
        consent=consent,
        customer_references=CustomerReferences(settings.secret_key),
        delivery_providers=delivery_parts.PROVIDERS,
    )
    runtime.jobs = build_job_queue(settings, lambda: runtime, JOBS)
    runtime.mailroom = build_mailroom(runtime)
    runtime.pdf_returns.on_awaiting_scan = runtime.mailroom.receive_return
    return runtime


def worker_issuing(settings: Settings) -> Callable[[], IssuingService]:
    """A factory of issuing services for worker processes: each call builds its own runtime.

    Campaigns (`issue --pdf --jobs N`) render in forked processes, which must not share the
    parent's database connections.
    """
    return lambda: build_runtime(settings).issuing


def lazy_runtime(settings: Settings) -> Callable[[], Runtime]:
    """A factory of this process's runtime, built on the first call from `settings`."""
    built: list[Runtime] = []

    def provide() -> Runtime:
        if not built:
            built.append(build_runtime(ensure_secrets(settings)))
        return built[0]

    return provide


def worker_celery(settings: Settings) -> Celery:
    """The Celery app of a job worker: every job, each pool process's own runtime, the sweep.

    The runtime of a pool process is built when the process starts; the recovery sweep runs in
    the worker's main process with a runtime of its own (jobs/sweeps.py).
    """
    provider = lazy_runtime(settings)
    app = make_celery(settings, provider, JOBS)
    warm_up_worker_processes(provider)
    sweep_while_working(
        app, SweepTimer(lazy_runtime(settings), SweepSettings.from_settings(settings))
    )
    sweep_while_working(
        app,
        delivery_parts.DeliverySweepTimer(
            lazy_runtime(settings), settings.delivery_sweep_interval_seconds
        ),
    )
    return app
