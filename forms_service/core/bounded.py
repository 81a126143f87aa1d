"""Run one decode of an untrusted file in a forked child, with memory and CPU time bounded.

PDFium is C++ fed with files anyone can send: a 600 KB PDF whose page description inflates
to 300 MB took 150 s and 6 GB of memory to render in the worker itself. In a child with
limits, such a file costs at most `memory_bytes` and `seconds`, then is a clear refusal.
The same holds for the returned PDFs the web process takes (pdfforms' read_untrusted_pdf_form):
a file of millions of empty objects took 73 s and 800 MB of a web worker, for good.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Memory a child may take on top of what the parent already maps.
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
#: CPU and wall-clock seconds a child may run.
CHILD_SECONDS = 30
_PAGE = os.sysconf("SC_PAGE_SIZE")


class OverLimits(Exception):
    """The child ran out of memory or time, or died, before giving its result."""


def run_bounded(
    work: Callable[[], T],
    *,
    memory_bytes: int | None = None,
    seconds: int | None = None,
) -> T:
    """Run `work` in a forked child and return its result, or raise what it raised.

    Args:
        work: what to run; its result must pickle.
        memory_bytes: memory the child may map beyond the parent's (CHILD_MEMORY_BYTES).
        seconds: CPU and wall-clock seconds the child may take (CHILD_SECONDS).

    Raises:
        OverLimits: the child exceeded `memory_bytes` or `seconds`, or was killed.
        Exception: whatever `work` raised in the child (it must pickle).
    """
    memory_bytes = CHILD_MEMORY_BYTES if memory_bytes is None else memory_bytes
    seconds = CHILD_SECONDS if seconds is None else seconds
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which never returns
        os.close(reading)
        _child(work, writing, memory_bytes, seconds)
    os.close(writing)
    try:
        payload = _read_all(reading, child, deadline=time.monotonic() + seconds + 5)
    finally:
        os.close(reading)
        _reap(child)
    try:
        # Written by our own child above, never by the file's author.
        ok, value = pickle.loads(payload)  # noqa: S301
    except Exception as exc:  # nothing or half a result: the child was killed
        raise OverLimits("the file needs more memory or time than one page may take") from exc
    if ok:
        result: T = value
        return result
    raise value


def _child(work: Callable[[], Any], writing: int, memory_bytes: int, seconds: int) -> None:
    status = 0
    try:
        # A decoder out of memory may abort: no core file, no traceback dump on stderr.
        faulthandler.disable()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with open("/proc/self/statm", "rb") as statm:
            mapped = int(statm.read().split()[0]) * _PAGE
        limit = mapped + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        try:
            outcome: tuple[bool, Any] = (True, work())
        except MemoryError:
            outcome = (False, OverLimits("the file needs more memory than one page may take"))
        except Exception as exc:  # handed to the parent, which raises it
            outcome = (False, exc)
        data = pickle.dumps(outcome)
        with os.fdopen(writing, "wb") as out:
            out.write(data)
    except BaseException:  # nothing may escape into the parent's code in this process
        status = 1
    finally:
        os._exit(status)


def _read_all(reading: int, child: int, *, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            return b""
        ready, _, _ = select.select([reading], [], [], left)
        if not ready:
            continue
        chunk = os.read(reading, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(child: int) -> None:
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(child, os.WNOHANG)
        if finished == 0:  # still running after closing its pipe or past its time
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
