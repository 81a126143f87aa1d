"""Delivery's part of the composition root: its settings, renderer and providers.

`PROVIDERS` and `RENDERER` are the factories the runtime builds delivery with. Until the
renderer (delivery/messages.py) and the providers (delivery/providers/) are merged, they are
the interim file sinks below, which write every message handed to them as one JSON line
under VAR_DIR/outbound/ (fsynced: the sink's log is what the fault tests reconcile with).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forms_service.config import Settings
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.interfaces import (
    EmailProvider,
    EmailRendition,
    MessageContext,
    OutgoingEmail,
    OutgoingSms,
    Purpose,
    Renderer,
    Sender,
    SendResult,
    SmsProvider,
    SmsRendition,
)
from forms_service.delivery.model import DeliverySettings


def delivery_settings(settings: Settings) -> DeliverySettings:
    """The FORMS_DELIVERY_* settings as delivery's own value."""
    return DeliverySettings(
        max_attempts=settings.delivery_max_attempts,
        first_retry_delay=dt.timedelta(seconds=settings.delivery_first_retry_seconds),
        max_retry_delay=dt.timedelta(seconds=settings.delivery_max_retry_seconds),
        sending_timeout=dt.timedelta(seconds=settings.delivery_sending_timeout_seconds),
        rates={"email": settings.delivery_email_rate, "sms": settings.delivery_sms_rate},
    )


class FileSinkProvider:
    """Interim provider of both channels: each message is a JSON line of `path`, fsynced.

    Replaced by i13transport's providers (SMTP, Kannel, their own file sinks) at merge.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: OutgoingEmail | OutgoingSms) -> SendResult:
        """Append the message; its Message-ID-like reference is the service's message id."""
        now = dt.datetime.now(dt.UTC)
        rendition: Any = message.rendition
        line = {
            "message_id": message.message_id,
            "to": message.to,
            "at": now.isoformat(),
            "text": rendition.text,
            "subject": getattr(rendition, "subject", None),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(line) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        return SendResult(provider_ref=f"<{message.message_id}@forms-service>", at=now)


class PlainRenderer:
    """Interim renderer: the form's title, the link and the deadline (i13msg's replaces it)."""

    def __init__(self, definitions: DefinitionSet) -> None:
        self.definitions = definitions

    def _text(self, context: MessageContext, link: str) -> str:
        title = self.definitions[context.form_id].title_in(context.locale)
        if context.locale == "en":
            return f"{title}: please answer before {context.deadline.isoformat()}: {link}"
        return f"{title} : merci de répondre avant le {context.deadline.isoformat()} : {link}"

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


ProviderFactory = Callable[[Settings], tuple[EmailProvider, SmsProvider]]
RendererFactory = Callable[[Settings, DefinitionSet], Renderer]


def interim_providers(settings: Settings) -> tuple[EmailProvider, SmsProvider]:
    """The file sinks under VAR_DIR/outbound/ (email.jsonl, sms.jsonl)."""
    folder = settings.var_dir / "outbound"
    return FileSinkProvider(folder / "email.jsonl"), FileSinkProvider(folder / "sms.jsonl")


def interim_renderer(settings: Settings, definitions: DefinitionSet) -> Renderer:
    """The plain renderer."""
    return PlainRenderer(definitions)


#: What the runtime builds delivery with (the lead points these at the real ones at merge).
PROVIDERS: ProviderFactory = interim_providers
RENDERER: RendererFactory = interim_renderer
