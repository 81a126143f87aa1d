"""Everything the service needs at run time, built once from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from forms_service.changes.outbox import OutboxDeliverer, RetryPolicy
from forms_service.changes.policy import PolicySettings
from forms_service.changes.service import ChangeService
from forms_service.config import Settings
from forms_service.connectors.interfaces import Connector
from forms_service.connectors.service import build_connectors
from forms_service.definitions.service import DefinitionSet, load_definitions
from forms_service.intake.mailroom.assembly import build_mailroom
from forms_service.intake.mailroom.service import MailroomService
from forms_service.intake.pdf.service import PdfReturnIntake, build_pdf_returns
from forms_service.intake.service import ChallengePolicy, OnlineIntake
from forms_service.issuing.printing import DocumentPrinter
from forms_service.issuing.service import IssuingService
from forms_service.issuing.tokens import LinkSigner, SigningKey
from forms_service.jobs.interfaces import JobQueue
from forms_service.jobs.service import build_job_queue
from forms_service.storage.filestore import LocalFileStore
from forms_service.storage.service import make_engine, make_session_factory


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
    #: Set right after construction: both need the runtime itself.
    jobs: JobQueue = field(init=False)
    mailroom: MailroomService = field(init=False)


def build_runtime(settings: Settings) -> Runtime:
    """Assemble the runtime; raises DefinitionError or ConfigurationError when unusable."""
    connectors = build_connectors(settings.connectors)
    definitions = load_definitions(
        settings.definitions_dir,
        connectors={name: settings.connectors[name].get("record_types", {}) for name in connectors},
    )
    engine = make_engine(settings.database_url, immediate=True)
    sessions = make_session_factory(engine)
    signer = LinkSigner([SigningKey.parse(k) for k in settings.link_signing_keys])
    issuing = IssuingService(sessions, definitions, connectors, signer, settings.base_url)
    outbox = OutboxDeliverer(
        sessions,
        connectors,
        definitions,
        retry=RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            first_delay=dt.timedelta(seconds=settings.outbox_first_delay_seconds),
        ),
    )
    changes = ChangeService(
        sessions,
        definitions,
        connectors,
        policy=PolicySettings(settings.auto_apply_min_confidence),
        # Embedded default: deliver right after approval; a worker (`outbox run`) retries.
        on_queued=outbox.deliver_quietly if settings.outbox_deliver_immediately else None,
    )
    intake = OnlineIntake(
        issuing,
        ChallengePolicy(
            max_failures=settings.challenge_max_failures,
            lock_minutes=settings.challenge_lock_minutes,
        ),
        proposer=changes,
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
    )
    runtime.jobs = build_job_queue(settings, lambda: runtime)
    runtime.mailroom = build_mailroom(runtime)
    runtime.pdf_returns.on_awaiting_scan = runtime.mailroom.receive_return
    return runtime
