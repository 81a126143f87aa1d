"""The watched folder: each new file there becomes a batch, then moves to done/ or failed/."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from forms_service.core.errors import FormsError
from forms_service.intake.mailroom.service import MailroomIntake, ReceivedBatch, Upload

log = logging.getLogger(__name__)

#: A file must be left alone this long before it is taken (a scanner may still be writing).
SETTLE_SECONDS = 2.0
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class FolderImport:
    """What became of one file of the watched folder."""

    path: Path
    batch: ReceivedBatch | None
    error: str | None = None


def waiting_files(
    folder: Path, *, now: float | None = None, settle: float = SETTLE_SECONDS
) -> Iterator[Path]:
    """Regular, visible files of `folder` untouched for `settle` seconds, oldest first."""
    now = time.time() if now is None else now
    entries = []
    for entry in folder.iterdir():
        if entry.name.startswith(".") or not entry.is_file() or entry.is_symlink():
            continue
        modified = entry.stat().st_mtime
        if now - modified >= settle:
            entries.append((modified, entry.name, entry))
    for _, _, entry in sorted(entries):
        yield entry


def import_file(mailroom: MailroomIntake, path: Path, *, actor: str) -> FolderImport:
    """Take one file as a batch and move it to done/ (or failed/ with a .reason.txt beside it)."""
    folder = path.parent
    try:
        # By path: counted and stored from disk, a large scan is never read whole.
        batch = mailroom.receive([Upload(path.name, path=path)], source="watch", actor=actor)
    except FormsError as exc:
        target = _move(path, folder / FAILED)
        target.with_name(target.name + ".reason.txt").write_text(exc.reason + "\n")
        return FolderImport(target, None, exc.reason)
    return FolderImport(_move(path, folder / DONE), batch)


def import_folder(
    mailroom: MailroomIntake, folder: Path, *, actor: str, settle: float = SETTLE_SECONDS
) -> list[FolderImport]:
    """Import every settled file of `folder` once."""
    (folder / DONE).mkdir(parents=True, exist_ok=True)
    (folder / FAILED).mkdir(parents=True, exist_ok=True)
    return [import_file(mailroom, p, actor=actor) for p in waiting_files(folder, settle=settle)]


def watch(
    mailroom: MailroomIntake,
    folder: Path,
    *,
    actor: str,
    interval: float = 5.0,
    report: Callable[[FolderImport], object] = lambda _outcome: None,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Import new files of `folder` every `interval` seconds while `keep_going()`."""
    while keep_going():
        try:
            for outcome in import_folder(mailroom, folder, actor=actor):
                report(outcome)
        except OSError:  # a folder briefly unavailable (network share): try again later
            log.exception("cannot read the watched folder")
        time.sleep(interval)


def _move(path: Path, target_folder: Path) -> Path:
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / path.name
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        target = target_folder / f"{path.stem}-{stamp}{path.suffix}"
    try:
        os.replace(path, target)
    except OSError:
        shutil.move(str(path), str(target))
    return target
