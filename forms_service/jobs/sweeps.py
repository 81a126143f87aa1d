"""The recovery sweep: every worker runs it on a timer, one of them at a time does the work.

A page whose job message was lost while the workers keep running (a broker restarted without
persistence, a flushed Redis, a dropped message) or a flattened PDF return left without its
batch would otherwise wait for a worker restart or `forms-service mailroom requeue`. The
worker's main process runs `MailroomIntake.recover` every SWEEP_INTERVAL_SECONDS for what
has waited SWEEP_AFTER_SECONDS. On PostgreSQL the round runs under an advisory lock: with N
workers one sweep works and the others skip that round; `recover` itself claims its pages
with row locks, so a CLI requeue at the same moment cannot send a page twice either.

The same round deletes the online form's drafts whose link has expired (their sealed
answers in progress are kept no longer than the link: intake/online/drafts.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, text

from forms_service.config import Settings

log = logging.getLogger(__name__)

#: The advisory lock key of the sweep (any constant 64-bit number private to the service).
SWEEP_LOCK_KEY = 0x666F726D73_5357  # "forms" "SW"
DEFAULT_INTERVAL_SECONDS = 60.0
DEFAULT_AFTER_SECONDS = 600.0


class Recovered(Protocol):
    """What one recovery sent again (the mailroom's `recover` returns one)."""

    @property
    def returns(self) -> int: ...

    @property
    def pages(self) -> int: ...


class Recovering(Protocol):
    """The mailroom, as the sweep sees it: what has waited `older_than` is sent again."""

    def recover(self, *, older_than: dt.timedelta) -> Recovered: ...


class PurgingDrafts(Protocol):
    """The online form's drafts, as the sweep sees them: the expired ones are deleted."""

    def purge_expired(self) -> int: ...


class HoldingDrafts(Protocol):
    """The online intake, as the sweep sees it: its drafts (None: not kept)."""

    @property
    def drafts(self) -> PurgingDrafts | None: ...


class SweptRuntime(Protocol):
    """What a round needs of a process's runtime: its engine, its mailroom, its drafts."""

    @property
    def engine(self) -> Engine: ...

    @property
    def mailroom(self) -> Recovering: ...

    @property
    def intake(self) -> HoldingDrafts: ...


class Periodic(Protocol):
    """A timer a worker starts when ready and stops when shutting down (SweepTimer is one)."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


@dataclass(frozen=True)
class SweepSettings:
    """How often the sweep runs and how long a page or a return waits before it is sent again.

    Attributes:
        interval: seconds between two rounds (0 turns the sweep off).
        after: what has waited this long is sent again.
    """

    interval: float = DEFAULT_INTERVAL_SECONDS
    after: float = DEFAULT_AFTER_SECONDS

    def __post_init__(self) -> None:
        if self.interval < 0:
            raise ValueError("SWEEP_INTERVAL_SECONDS must be 0 (off) or more")
        if self.after < 0:
            raise ValueError("SWEEP_AFTER_SECONDS must be 0 or more")

    @classmethod
    def from_settings(cls, settings: Settings | Mapping[str, Any]) -> SweepSettings:
        """The sweep settings of the service settings (or of a mapping of setting names)."""
        given = Settings.of(settings)
        return cls(interval=given.sweep_interval_seconds, after=given.sweep_after_seconds)


@dataclass(frozen=True)
class SweepRound:
    """One round: whether this process did the work (`swept`), and what it sent again."""

    swept: bool
    returns: int = 0
    pages: int = 0
    #: Expired drafts deleted.
    drafts: int = 0


@contextlib.contextmanager
def sweep_lock(engine: Engine, key: int = SWEEP_LOCK_KEY) -> Iterator[bool]:
    """Whether this process holds the sweep's lock for the block (never waits for it).

    On PostgreSQL a transaction-level advisory lock on a connection of its own, released when
    the block ends (or the process dies: the server ends the transaction). Other databases
    (SQLite: one machine) always get it; `recover`'s row claims keep them safe.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        held = bool(
            connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}
            ).scalar_one()
        )
        try:
            yield held
        finally:
            connection.rollback()


def sweep_once(
    engine: Engine,
    recover: Callable[[dt.timedelta], Recovered],
    settings: SweepSettings,
    purge_drafts: Callable[[], int] | None = None,
) -> SweepRound:
    """Run one round if no other process is sweeping; log what was sent again and purged."""
    with sweep_lock(engine) as held:
        if not held:
            return SweepRound(swept=False)
        recovered = recover(dt.timedelta(seconds=settings.after))
        purged = purge_drafts() if purge_drafts is not None else 0
    if purged:
        # A count only: a draft's document or content is never logged.
        log.info("recovery sweep: %d expired draft(s) deleted", purged, extra={"drafts": purged})
    if recovered.pages or recovered.returns:
        log.warning(
            "recovery sweep: %d page(s) sent again, %d PDF return(s) given their batch",
            recovered.pages,
            recovered.returns,
            extra={"requeued_pages": recovered.pages, "stranded_returns": recovered.returns},
        )
    else:
        log.info("recovery sweep: nothing left waiting")
    return SweepRound(swept=True, returns=recovered.returns, pages=recovered.pages, drafts=purged)


class SweepTimer:
    """Runs `sweep_once` every `settings.interval` seconds on a daemon thread until stopped.

    The runtime is built for each round and its connections are closed after it: the worker's
    main process forks pool processes, which must not inherit an open database connection. A
    fork in the middle of a round gives the child the round's pool: the child forgets it
    without closing it (SQLAlchemy's `dispose(close=False)`), so that the parent's connection
    is not ended by the child.
    """

    def __init__(self, runtime: Callable[[], SweptRuntime], settings: SweepSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        os.register_at_fork(after_in_child=self._forget_in_child)

    def _forget_in_child(self) -> None:
        engine = self._engine
        if engine is not None:
            engine.dispose(close=False)

    def start(self) -> None:
        """Start the thread: a first round now, then one every interval."""
        if self._thread is not None or self.settings.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="forms-sweep", daemon=True)
        self._thread.start()
        log.info(
            "recovery sweep every %g s for what waited %g s",
            self.settings.interval,
            self.settings.after,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current round (if any)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_round(self) -> SweepRound | None:
        """One round; a failure (database down) is logged and the next round tries again."""
        try:
            built = self.runtime()
        except Exception:
            log.exception("recovery sweep: cannot build the runtime")
            return None
        self._engine = built.engine
        try:
            drafts = built.intake.drafts
            return sweep_once(
                built.engine,
                lambda after: built.mailroom.recover(older_than=after),
                self.settings,
                drafts.purge_expired if drafts is not None else None,
            )
        except Exception:
            log.exception("recovery sweep failed; the next round tries again")
            return None
        finally:
            self._engine = None
            built.engine.dispose()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.run_round()
            self._stopped.wait(self.settings.interval)
