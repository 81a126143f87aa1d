"""Helpers of the delivery tests: recording providers and job queue, CRM edits, real workers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select, update

from forms_service.connectors.interfaces import Selection
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.interfaces import (
    EmailRendition,
    MessageContext,
    OutgoingEmail,
    OutgoingSms,
    Purpose,
    Sender,
    SendResult,
    SmsRendition,
)
from forms_service.delivery.model import DeliverySettings
from forms_service.delivery.service import DeliveryService
from forms_service.demo.service import customers_table
from forms_service.runtime import Runtime
from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.messages import Message
from tests.integration.changes_support import ManualClock


class PlainRenderer:
    """A renderer of one line (the form's title, the deadline, the link): the flow's tests
    look at what is sent and when, not at the message (tests/unit/delivery/test_messages.py)."""

    def __init__(self, definitions: DefinitionSet) -> None:
        self.definitions = definitions

    def _text(self, context: MessageContext, link: str) -> str:
        title = self.definitions[context.form_id].title_in(context.locale)
        return f"{title}: {context.deadline.isoformat()}: {link}"

    def render_email(self, context: MessageContext) -> EmailRendition:
        """A plain e-mail with the link."""
        text = self._text(context, context.link)
        return EmailRendition(
            subject=self.definitions[context.form_id].title_in(context.locale),
            text=text,
            html=f"<p>{text}</p>",
            sender=Sender(name="forms_service"),
            purpose=Purpose.SERVICE,
            locale=context.locale,
        )

    def render_sms(self, context: MessageContext) -> SmsRendition:
        """A short SMS with the short link."""
        return SmsRendition(
            text=self._text(context, context.short_link),
            sender="forms",
            purpose=Purpose.SERVICE,
            locale=context.locale,
        )


class RecordingProvider:
    """A provider that keeps what it was given; `refuse` maps a recipient to an exception."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self.sent: list[OutgoingEmail | OutgoingSms] = []
        self.refuse: dict[str, Exception] = {}

    def send(self, message: Any) -> SendResult:
        """Record the message (or raise what `refuse` says for its recipient)."""
        failure = self.refuse.get(message.to)
        if failure is not None:
            raise failure
        self.sent.append(message)
        return SendResult(provider_ref=f"<{message.message_id}@test>", at=self.clock())


class RecordingJobs:
    """A JobQueue that keeps the jobs instead of running them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, ...]] = []

    def enqueue(self, job: str, *ids: str) -> None:
        """Keep the job."""
        self.jobs.append((job, *ids))

    def take(self, job: str) -> list[str]:
        """The ids of `job` queued since the last take (a batch's one after the other), forgotten."""
        found = [i for name, *ids in self.jobs if name == job for i in ids]
        self.jobs = [j for j in self.jobs if j[0] != job]
        return found


class Delivery:
    """A delivery service on the test runtime with recording providers and jobs."""

    def __init__(self, runtime: Runtime, **settings: Any) -> None:
        self.runtime = runtime
        self.clock = ManualClock()
        self.email = RecordingProvider(self.clock)
        self.sms = RecordingProvider(self.clock)
        self.jobs = RecordingJobs()
        self.slept: list[float] = []
        self.service = DeliveryService(
            runtime.sessions,
            runtime.definitions,
            runtime.connectors,
            runtime.issuing,
            PlainRenderer(runtime.definitions),
            self.email,
            self.sms,
            self.jobs,
            settings=DeliverySettings(**settings),
            clock=self.clock,
        )
        runtime.issuing.clock = self.clock

    def issue(
        self, keys: list[str], campaign: str = "spring", form: str = "contact-update"
    ) -> list[str]:
        """Issue `form` to `keys` in `campaign`; the document ids."""
        issued = self.runtime.issuing.issue(form, Selection(keys=tuple(keys)), campaign)
        return [line.document_id for line in issued]

    def run_jobs(self) -> list[str]:
        """Run every queued send and fallback job until none is left; their outcomes."""
        outcomes: list[str] = []
        while self.jobs.jobs:
            job, *ids = self.jobs.jobs.pop(0)
            if job == "delivery.send_batch":
                outcomes.extend(self.service.send_batch(ids).values())
            elif job == "delivery.send":
                outcomes.append(self.service.send_message(ids[0]))
            else:
                outcomes.append(self.service.fall_back(ids[0]))
        return outcomes

    def messages(self, document_id: str | None = None) -> list[Message]:
        """The message rows (of one document), oldest first, detached."""
        with self.runtime.sessions() as session:
            query = select(Message).order_by(Message.created_at, Message.reminder, Message.id)
            if document_id is not None:
                query = query.where(Message.document_id == document_id)
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    def events(self, document_id: str) -> list[DocumentEvent]:
        """The document's history after its issue, in order, detached."""
        with self.runtime.sessions() as session:
            rows = list(
                session.scalars(
                    select(DocumentEvent)
                    .where(
                        DocumentEvent.document_id == document_id,
                        DocumentEvent.kind != EventKind.ISSUED,
                    )
                    .order_by(DocumentEvent.at, DocumentEvent.id)  # as document_history
                )
            )
            session.expunge_all()
            return rows


def edit_crm(crm_url: str, key: str, **values: Any) -> None:
    """Change a demo CRM record directly, as another application would."""
    engine = create_engine(crm_url)
    table = customers_table(MetaData())
    with engine.begin() as connection:
        connection.execute(update(table).where(table.c.customer_no == key).values(**values))
    engine.dispose()


#: A record every channel can reach, preferring e-mail.
REACHABLE = {
    "email": "anne.martin@example.org",
    "phone": "06 12 34 56 78",
    "address_line": "12 rue des Lilas",
    "postcode": "75002",
    "city": "Paris",
    "consent_email": True,
    "consent_sms": True,
    "consent_post": True,
    "preferred_channel": "email",
}


#: The test app's settings a worker process is given as FORMS_* variables (when set).
_WORKER_SETTINGS = (
    "VAR_DIR",
    "DATABASE_URL",
    "FILE_STORE_DIR",
    "DEFINITIONS_DIR",
    "BASE_URL",
    "DELIVERY_EMAIL_RATE",
    "DELIVERY_BATCH_SIZE",
    "DELIVERY_RECORD_EVERY",
    "EMAIL_PROVIDER",
    "SMTP_PORT",
    "SMS_PROVIDER",
    "KANNEL_SENDSMS_URL",
    "DELIVERY_HOOK_SECRET",
)


def _worker_env(settings: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMS_")}
    for name in _WORKER_SETTINGS:
        if name in settings:
            env[f"FORMS_{name}"] = str(settings[name])
    env["FORMS_CONNECTORS"] = json.dumps(settings["CONNECTORS"])
    # The tests run the sweeps themselves, when they want them.
    env["FORMS_SWEEP_INTERVAL_SECONDS"] = "0"
    env["FORMS_DELIVERY_SWEEP_INTERVAL_SECONDS"] = "0"
    return env


@contextlib.contextmanager
def worker_process(settings: dict[str, Any], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real job worker (`celery … worker`, one process) on the test app's settings."""
    command = [
        sys.executable, "-m", "celery", "-A", "forms_service.runtime.celery_app", "worker",
        "--loglevel=INFO", "--pool=solo", "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=_worker_env(settings), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
