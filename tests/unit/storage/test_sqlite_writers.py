"""SQLite writers take turns: BEGIN IMMEDIATE waits for the lock, by short polls, then gives up."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from forms_service.storage.service import make_engine


def _engine(path: Path, timeout: float = 30.0) -> Engine:
    engine = make_engine(f"sqlite:///{path}", immediate=True, connect_args={"timeout": timeout})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
    return engine


def _hold_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    holder = _engine(path)
    with holder.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        taken.set()
        time.sleep(seconds)
    holder.dispose()


def test_a_writer_waits_for_the_lock_and_goes_on_once_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    waiter = _engine(path)
    taken = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(path, 0.3, taken))
    holder.start()
    assert taken.wait(10)
    with waiter.begin() as connection:  # waits for the holder's commit, then writes
        connection.execute(text("INSERT INTO t VALUES (2)"))
        rows = connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
    holder.join()
    assert rows == [1, 2]
    # The connection's busy timeout is back for everything after BEGIN.
    with waiter.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    waiter.dispose()


def test_a_writer_gives_up_after_its_timeout_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    waiter = _engine(path, timeout=0.2)
    taken = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(path, 1.0, taken))
    holder.start()
    assert taken.wait(10)
    with pytest.raises(OperationalError, match="locked"), waiter.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (3)"))
    holder.join()
    with waiter.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]
    waiter.dispose()
