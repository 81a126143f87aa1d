"""What the load benchmark (benchmarks/load.py) measures of a phase: the latencies and errors
of each request kind, the CPU of each group of processes, and the table printed for it."""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU spent during a phase by the server's processes (per group) and by this client.

    On a shared machine the rates move with the neighbours' load; CPU per request does not
    (much), so it says what the service costs whatever the machine does meanwhile.
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.start: dict[str, dict[int, float]] = {}
        self.client_start = 0.0

    def __enter__(self) -> CpuMeter:
        self.start = {g: {p: cpu_seconds(p) for p in pids} for g, pids in self.groups().items()}
        self.client_start = time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.spent: dict[str, float] = {}
        for group, pids in self.groups().items():
            before = self.start.get(group, {})
            self.spent[group] = sum(max(0.0, cpu_seconds(p) - before.get(p, 0.0)) for p in pids)
        self.spent["load generator"] = time.process_time() - self.client_start

    def report(self, count: int, unit: str = "request") -> None:
        """Print the CPU of each group per `unit` (`count` of them in the phase)."""
        if not count:
            return
        parts = ", ".join(f"{g} {s / count * 1000:.2f}" for g, s in self.spent.items())
        print(f"  CPU ms per {unit}: {parts}")


class LockWaits:
    """What the stack's PostgreSQL backends wait for during a phase, sampled every 0.25 s:
    how many wait for a lock (and on which statement), how many sit idle in a transaction
    (the application holds it, and any row lock it took, while it runs Python)."""

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], databases: list[str]
    ) -> None:
        self.connect = connect
        self.databases = databases
        self.samples = 0
        self.idle_in_transaction = 0
        self.waiting: Counter[str] = Counter()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> LockWaits:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def _sample(self) -> None:
        with self.connect() as db:
            while not self.stopping.wait(0.25):
                rows = db.execute(
                    "SELECT state, wait_event_type, left(query, 45) FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                    (self.databases,),
                ).fetchall()
                self.samples += 1
                for state, wait, query in rows:
                    if wait == "Lock":
                        self.waiting[" ".join(str(query).split())] += 1
                    elif str(state).startswith("idle in transaction"):
                        self.idle_in_transaction += 1

    def report(self) -> None:
        """Print the mean number of backends waiting for a lock and idle in a transaction."""
        if not self.samples:
            return
        total = sum(self.waiting.values()) / self.samples
        top = ", ".join(
            f"{count / self.samples:.1f} at {query!r}"
            for query, count in self.waiting.most_common(2)
        )
        print(
            f"  PostgreSQL backends, mean of {self.samples} samples: {total:.1f} waiting for a "
            f"lock{f' ({top})' if top else ''}, "
            f"{self.idle_in_transaction / self.samples:.1f} idle in a transaction"
        )


@dataclass
class Samples:
    """Latencies (seconds) and errors per request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self,
        kind: str,
        ok: tuple[int, ...],
        call: Callable[..., requests.Response],
        *args: Any,
        **kwargs: Any,
    ) -> requests.Response | None:
        """`call(*args, **kwargs)`, its latency kept under `kind` when its status is in `ok`,
        else counted as an error; None when it raised."""
        started = time.perf_counter()
        try:
            response = call(*args, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[kind][type(exc).__name__] += 1
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            if response.status_code in ok:
                self.latencies[kind].append(elapsed)
            else:
                self.errors[kind][str(response.status_code)] += 1
        return response


@dataclass(frozen=True)
class Phase:
    """What one phase measured: rates and p99 (ms) per request kind, errors, requests; and
    the p50 and p95 (ms) per kind, and the errors per kind."""

    elapsed: float
    rates: dict[str, float]
    p99: dict[str, float]
    errors: int
    ok: int
    p50: dict[str, float] = field(default_factory=dict)
    p95: dict[str, float] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def report(
    title: str,
    samples: Samples,
    elapsed: float,
    cpu: CpuMeter,
    *,
    waits: LockWaits | None = None,
    answers: str | None = None,
) -> Phase:
    """Print a phase's table, CPU per request (and per answer: the count of `answers`) and
    what the database's backends waited for."""
    rates, p99, p50, p95 = {}, {}, {}, {}
    print(f"\n{title} ({elapsed:.1f} s)")
    print(
        f"  {'kind':<18} {'ok':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors"
    )
    kinds = sorted(set(samples.latencies) | set(samples.errors))
    for kind in kinds:
        values = samples.latencies.get(kind, [])
        rates[kind] = len(values) / elapsed
        p99[kind] = _percentile(values, 0.99)
        failed = ", ".join(f"{k}: {v}" for k, v in samples.errors.get(kind, {}).items()) or "none"
        median = statistics.median(values) * 1000 if values else math.nan
        p50[kind], p95[kind] = median, _percentile(values, 0.95)
        print(
            f"  {kind:<18} {len(values):>6} {rates[kind]:>8.1f} {median:>8.1f} "
            f"{p95[kind]:>8.1f} {p99[kind]:>8.1f}  {failed}"
        )
    ok = sum(len(v) for v in samples.latencies.values())
    if len(kinds) > 1:
        print(f"  {'all kinds':<18} {ok:>6} {ok / elapsed:>8.1f}")
    cpu.report(ok)
    if answers is not None:
        cpu.report(len(samples.latencies.get(answers, [])), "answer")
    if waits is not None:
        waits.report()
    by_kind = {kind: sum(c.values()) for kind, c in samples.errors.items()}
    return Phase(elapsed, rates, p99, sum(by_kind.values()), ok, p50, p95, by_kind)
