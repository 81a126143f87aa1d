"""The recovery sweep's round, settings and timer, with fake runtimes (the real ones: integration)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from forms_service.intake.mailroom.service import Recovered
from forms_service.jobs.sweeps import SweepRound, SweepSettings, SweepTimer, sweep_once
from forms_service.storage.service import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'sweep.sqlite'}")


def test_settings_default_to_a_minute_for_what_waited_ten() -> None:
    assert SweepSettings.from_settings({}) == SweepSettings(interval=60.0, after=600.0)
    given = {"SWEEP_INTERVAL_SECONDS": "5", "SWEEP_AFTER_SECONDS": 30}
    assert SweepSettings.from_settings(given) == SweepSettings(interval=5.0, after=30.0)


@pytest.mark.parametrize(("interval", "after"), [(-1.0, 600.0), (60.0, -1.0)])
def test_negative_settings_are_refused(interval: float, after: float) -> None:
    with pytest.raises(ValueError, match="SWEEP_"):
        SweepSettings(interval=interval, after=after)


def test_a_round_recovers_what_waited_longer_than_the_setting_and_says_so(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    asked: list[dt.timedelta] = []

    def recover(after: dt.timedelta) -> Recovered:
        asked.append(after)
        return Recovered(returns=1, pages=3)

    with caplog.at_level(logging.INFO, logger="forms_service.jobs.sweeps"):
        result = sweep_once(engine, recover, SweepSettings(interval=1, after=90))
    assert result == SweepRound(swept=True, returns=1, pages=3)
    assert asked == [dt.timedelta(seconds=90)]
    (record,) = caplog.records
    assert record.getMessage() == (
        "recovery sweep: 3 page(s) sent again, 1 PDF return(s) given their batch"
    )
    assert record.levelno == logging.WARNING


def test_a_round_with_nothing_waiting_logs_at_info(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="forms_service.jobs.sweeps"):
        result = sweep_once(engine, lambda _after: Recovered(0, 0), SweepSettings())
    assert result == SweepRound(swept=True)
    assert [r.levelno for r in caplog.records] == [logging.INFO]


class _Mailroom:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls = 0
        self.called = threading.Event()

    def recover(self, *, older_than: dt.timedelta) -> Recovered:
        self.calls += 1
        self.called.set()
        if self.calls <= self.fail:
            raise ConnectionError("database unreachable")
        return Recovered(returns=0, pages=2)


class _Drafts:
    def __init__(self) -> None:
        self.purges = 0

    def purge_expired(self) -> int:
        self.purges += 1
        return 3


class _Intake:
    def __init__(self, drafts: _Drafts | None) -> None:
        self.drafts = drafts


class _Runtime:
    def __init__(self, engine: Engine, mailroom: _Mailroom, drafts: _Drafts | None = None) -> None:
        self.engine = engine
        self.mailroom = mailroom
        self.intake = _Intake(drafts)


def test_each_round_purges_the_expired_drafts(engine: Engine) -> None:
    drafts = _Drafts()
    built: Any = _Runtime(engine, _Mailroom(), drafts)
    timer = SweepTimer(lambda: built, SweepSettings(interval=60))
    assert timer.run_round() == SweepRound(swept=True, pages=2, drafts=3)
    assert timer.run_round() == SweepRound(swept=True, pages=2, drafts=3)
    assert drafts.purges == 2


def test_a_failed_round_is_logged_and_the_next_one_works(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    mailroom = _Mailroom(fail=1)
    built: Any = _Runtime(engine, mailroom)
    timer = SweepTimer(lambda: built, SweepSettings(interval=60))
    with caplog.at_level(logging.ERROR, logger="forms_service.jobs.sweeps"):
        assert timer.run_round() is None
    assert "the next round tries again" in caplog.text
    assert timer.run_round() == SweepRound(swept=True, pages=2)


def test_a_runtime_that_cannot_be_built_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Any:
        raise RuntimeError("no database")

    timer = SweepTimer(broken, SweepSettings(interval=60))
    with caplog.at_level(logging.ERROR, logger="forms_service.jobs.sweeps"):
        assert timer.run_round() is None
    assert "cannot build the runtime" in caplog.text


def test_the_timer_sweeps_at_start_and_stops(engine: Engine) -> None:
    mailroom = _Mailroom()
    built: Any = _Runtime(engine, mailroom)
    timer = SweepTimer(lambda: built, SweepSettings(interval=3600))
    timer.start()
    try:
        # The first round runs at once, not an interval later.
        assert mailroom.called.wait(30)
    finally:
        timer.stop()
    assert timer._thread is not None and not timer._thread.is_alive()
    assert mailroom.calls == 1


def test_an_interval_of_zero_turns_the_sweep_off(engine: Engine) -> None:
    mailroom = _Mailroom()
    built: Any = _Runtime(engine, mailroom)
    timer = SweepTimer(lambda: built, SweepSettings(interval=0))
    timer.start()
    timer.stop()
    assert timer._thread is None and mailroom.calls == 0


class _ForkingMailroom:
    """Forks in the middle of a round, as a worker's pool replacing a process would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.child_status: int | None = None

    def recover(self, *, older_than: dt.timedelta) -> Recovered:
        with self.engine.connect() as connection:  # the round's pool now holds a connection
            connection.exec_driver_sql("SELECT 1")
        parent_pool = self.engine.pool
        child = os.fork()
        if child == 0:  # pragma: no cover - the child: 0 when it was given a pool of its own
            os._exit(0 if self.engine.pool is not parent_pool else 1)
        _, status = os.waitpid(child, 0)
        self.child_status = os.waitstatus_to_exitcode(status)
        assert self.engine.pool is parent_pool
        return Recovered(returns=0, pages=0)


def test_a_process_forked_during_a_round_does_not_share_its_connections(engine: Engine) -> None:
    mailroom = _ForkingMailroom(engine)
    built: Any = _Runtime(engine, mailroom)  # type: ignore[arg-type]
    timer = SweepTimer(lambda: built, SweepSettings(interval=60))
    assert timer.run_round() == SweepRound(swept=True)
    assert mailroom.child_status == 0
