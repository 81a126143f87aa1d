"""Delivery's part of the composition root: its settings, renderer and providers.

`PROVIDERS` and `RENDERER` are the factories the runtime builds delivery with: the forms' own
messages (delivery/messages.py) and the providers the settings name (delivery/providers/:
SMTP to the relay, `make run`'s local server included, or .eml files under var/mail/; Kannel
or text files under var/sms/).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from forms_service.config import Settings
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.interfaces import EmailProvider, Renderer, SmsProvider
from forms_service.delivery.messages import MessageRenderer
from forms_service.delivery.model import DeliverySettings
from forms_service.delivery.providers import build_email_provider, build_sms_provider

log = logging.getLogger(__name__)


def delivery_settings(settings: Settings) -> DeliverySettings:
    """The FORMS_DELIVERY_* settings as delivery's own value."""
    return DeliverySettings(
        max_attempts=settings.delivery_max_attempts,
        first_retry_delay=dt.timedelta(seconds=settings.delivery_first_retry_seconds),
        max_retry_delay=dt.timedelta(seconds=settings.delivery_max_retry_seconds),
        sending_timeout=dt.timedelta(seconds=settings.delivery_sending_timeout_seconds),
        rates={"email": settings.delivery_email_rate, "sms": settings.delivery_sms_rate},
        requeue_after=dt.timedelta(seconds=settings.delivery_requeue_after_seconds),
        batch_size=settings.delivery_batch_size,
        record_every=settings.delivery_record_every,
    )


ProviderFactory = Callable[[Settings], tuple[EmailProvider, SmsProvider]]
RendererFactory = Callable[[Settings, DefinitionSet], Renderer]


def message_renderer(settings: Settings, definitions: DefinitionSet) -> Renderer:
    """The forms' own messages (delivery/messages.py: the `message:` of each definition)."""
    return MessageRenderer(definitions, settings)


def transport_providers(settings: Settings) -> tuple[EmailProvider, SmsProvider]:
    """The providers the settings name: SMTP or .eml files, Kannel or text files."""
    return build_email_provider(settings), build_sms_provider(settings)


#: What the runtime builds delivery with: the transport the settings name (EMAIL_PROVIDER,
#: SMS_PROVIDER). A test replaces `Runtime.delivery_providers` before first use.
PROVIDERS: ProviderFactory = transport_providers
RENDERER: RendererFactory = message_renderer


#: The advisory lock key of the delivery sweep (another than the mailroom's).
DELIVERY_SWEEP_LOCK_KEY = 0x666F726D73_444C  # "forms" "DL"


class DeliverySweepTimer:
    """Runs the delivery sweep every interval in the worker's main process.

    The sweep (delivery/reminders.py): retries due, stalled sends marked unknown, reminders.

    On PostgreSQL one worker at a time does a round (an advisory lock); a round that fails
    (database down) is logged and the next one tries again.
    """

    def __init__(self, runtime: Callable[[], Any], interval: float) -> None:
        self.runtime = runtime
        self.interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        # As the mailroom's sweep: a pool process forked mid-round forgets the round's
        # connections without closing them (they are the parent's).
        os.register_at_fork(after_in_child=self._forget_in_child)

    def _forget_in_child(self) -> None:
        if self._engine is not None:
            self._engine.dispose(close=False)

    def start(self) -> None:
        """Start the thread (nothing when the interval is 0)."""
        if self._thread is not None or self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="forms-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current round."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_round(self) -> dict[str, int] | None:
        """One round if no other worker is sweeping; its counts (None: skipped or failed)."""
        from forms_service.delivery.reminders import DeliverySweep
        from forms_service.jobs.sweeps import sweep_lock

        try:
            built = self.runtime()
        except Exception:
            log.exception("delivery sweep: cannot build the runtime")
            return None
        self._engine = built.engine
        try:
            with sweep_lock(built.engine, DELIVERY_SWEEP_LOCK_KEY) as held:
                if not held:
                    return None
                counts = dict(DeliverySweep(built.delivery).run())
        except Exception:
            log.exception("delivery sweep failed; the next round tries again")
            return None
        finally:
            self._engine = None
            built.engine.dispose()
        if counts:
            log.info("delivery sweep: %s", counts)
        return counts

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.run_round()
            self._stopped.wait(self.interval)
