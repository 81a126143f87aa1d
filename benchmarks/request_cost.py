"""What one request costs on the production stack: SQL statements and CPU per request kind.

Starts `make prod-local`'s stack (tests/prod_stack.py), builds the same app in this process with
gunicorn's own environment, and sends through Flask's test client, one at a time:
- the consent-preferences form page (no identity question);
- the contact-update answer: challenge page, challenge answer, form page, submit, confirmation;
counting the statements each request sends to the service database and to the CRM, and the CPU
this process spends on it (the database servers' own CPU is not in it: the round trips stand
for that). With --profile KIND, cProfile prints where the CPU time of that kind goes.

    .venv/bin/python benchmarks/request_cost.py [--rounds 40] [--profile submit]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.prod_stack import (  # noqa: E402
    PUBLIC_HOST,
    Stack,
    crm_record,
    hidden,
    moving_to_nantes,
    prod_local,
)


class Collections:
    """Time the garbage collector takes (it runs inside whatever request allocates)."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.started = 0.0
        gc.callbacks.append(self.observe)

    def observe(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.process_time()
        else:
            self.spent += time.process_time() - self.started

    def take(self) -> float:
        spent, self.spent = self.spent, 0.0
        return spent


class Counts:
    """Round trips to each database while a request runs: statements, BEGIN, COMMIT or
    ROLLBACK, and pre-pings; with the statements' first lines for --statements."""

    def __init__(self) -> None:
        self.now: dict[str, int] = defaultdict(int)
        self.lines: list[str] = []

    def listen(self, engine: Any, name: str) -> None:
        def status(connection: Any) -> Any:
            dbapi = connection.connection.dbapi_connection
            return dbapi, dbapi.info.transaction_status

        def statement(connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            dbapi, state = status(connection)
            if not dbapi.autocommit and state == psycopg.pq.TransactionStatus.IDLE:
                self._add(name, "BEGIN")  # psycopg sends it before the first statement
            self._add(name, " ".join(sql.split())[:150])

        def ending(word: str) -> Any:
            def end(connection: Any) -> None:
                if status(connection)[1] != psycopg.pq.TransactionStatus.IDLE:
                    self._add(name, word)  # psycopg sends nothing for an idle connection

            return end

        def reset(dbapi: Any, *_args: Any) -> None:
            if dbapi.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self._add(name, "ROLLBACK (pool reset)")

        def checkout(*_args: Any) -> None:
            self.now[f"{name} checkouts"] += 1
            if engine.pool._pre_ping:
                self._add(name, "ping (pool_pre_ping)")

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", ending("COMMIT"))
        event.listen(engine, "rollback", ending("ROLLBACK"))
        event.listen(engine.pool, "reset", reset)
        event.listen(engine, "checkout", checkout)

    def _add(self, name: str, line: str) -> None:
        self.now[name] += 1
        self.lines.append(f"{name}: {line}")

    def take(self) -> tuple[dict[str, int], list[str]]:
        taken = dict(self.now), self.lines
        self.now.clear()
        self.lines = []
        return taken


def _gunicorn_environment(stack: Stack) -> dict[str, str]:
    master = int((stack.state / "gunicorn.pid").read_text())
    raw = Path(f"/proc/{master}/environ").read_bytes().split(b"\0")
    pairs = (item.decode().partition("=") for item in raw if b"=" in item)
    return {name: value for name, _, value in pairs if name.startswith("FORMS_")}


@contextmanager
def same_app(stack: Stack) -> Iterator[Any]:
    """The app gunicorn serves (forms_service.wsgi), built here with gunicorn's FORMS_*
    environment."""
    saved = dict(os.environ)
    os.environ.update(_gunicorn_environment(stack))
    try:
        from forms_service.wsgi import app  # exactly what gunicorn loads

        yield app
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Customer:
    """A test client coming through the TLS proxy from its own address."""

    def __init__(self, app: Any, address: str) -> None:
        self.client = app.test_client()
        self.headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
            "X-Forwarded-For": address,
        }

    def get(self, link: str) -> Any:
        return self.client.get(_path(link), headers=self.headers)

    def post(self, link: str, target: str, data: dict[str, Any]) -> Any:
        headers = {**self.headers, "Referer": f"https://{PUBLIC_HOST}{_path(link)}"}
        return self.client.post(_path(target), data=data, headers=headers)


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[-1].split("/", 1)[-1] if "://" in link else link


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--profile", help="request kind to profile (cProfile, CPU time)")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumulative")
    parser.add_argument("--top", type=int, default=40, help="functions shown")
    parser.add_argument("--dump", help="also write the profile to this file (pstats format)")
    parser.add_argument(
        "--statements", action="append", help="request kind whose round trips are listed"
    )
    options = parser.parse_args()
    admin = os.environ.get(
        "FORMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("FORMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    rounds = options.rounds
    with (
        tempfile.TemporaryDirectory(prefix="forms-cost-") as work,
        prod_local(
            Path(work),
            admin_url=admin,
            redis_url=redis_url,
            workers=1,
            customers=2 * rounds + 10,
            ready_timeout=300,
        ) as stack,
        same_app(stack) as app,
    ):
        built = app.extensions["forms_service"]
        counts = Counts()
        counts.listen(built.engine, "service")
        for name, connector in built.connectors.items():
            if hasattr(connector, "engine"):
                counts.listen(connector.engine, name)
        token = stack.credentials()["api_token"]
        setup = stack.client("192.0.2.200")
        consent = setup.issue(
            token, "consent-preferences", [f"C{n:06d}" for n in range(1, rounds + 1)], "cost"
        )
        letters = setup.issue(
            token,
            "contact-update",
            [f"C{n:06d}" for n in range(rounds + 1, 2 * rounds + 1)],
            "cost",
        )
        records = [crm_record(stack, d["key"]) for d in letters]
        cpu: dict[str, list[float]] = defaultdict(list)
        collecting: dict[str, list[float]] = defaultdict(list)
        collections = Collections()
        trips: dict[str, list[dict[str, int]]] = defaultdict(list)
        lines: dict[str, list[str]] = {}
        # CPU time, not wall time: on a shared machine a sampled wall-clock profile charges
        # the neighbours' load to whatever line was running.
        profiler = cProfile.Profile(time.process_time) if options.profile else None

        def measure(kind: str, expected: int, call: Callable[..., Any], *args: Any) -> Any:
            counts.take()
            collections.take()
            profiling = profiler is not None and kind == options.profile
            started = time.process_time()
            if profiler is not None and profiling:
                response = profiler.runcall(call, *args)
            else:
                response = call(*args)
            cpu[kind].append(time.process_time() - started)
            collecting[kind].append(collections.take())
            taken, lines[kind] = counts.take()
            trips[kind].append(taken)
            if response.status_code != expected:
                raise RuntimeError(f"{kind}: {response.status_code} {response.text[:400]}")
            return response

        for n in range(rounds):
            visitor = Customer(app, f"10.9.{n // 250}.{n % 250 + 1}")
            link = consent[n]["link"]
            measure("form page (consent, first opening)", 200, visitor.get, link)
            measure("form page (consent, again)", 200, visitor.get, link)
        for n in range(rounds):
            customer = Customer(app, f"10.8.{n // 250}.{n % 250 + 1}")
            link, record = letters[n]["link"], records[n]
            page = measure("challenge page", 200, customer.get, link)
            data = {
                "csrf_token": hidden(page.text)["csrf_token"],
                "birth_date": record["birth_date"].strftime("%d/%m/%Y"),
            }
            measure("challenge answer", 303, customer.post, link, f"{link}/challenge", data)
            form = measure("form page (contact)", 200, customer.get, link)
            answer = moving_to_nantes(hidden(form.text), record)
            done = measure("submit", 303, customer.post, link, link, answer)
            measure("confirmation", 200, customer.get, done.headers["Location"])
        skip = min(3, rounds - 1)  # the first requests warm caches up
        print(
            f"\nper request, median and mean of {rounds - skip} (after {skip} warm-up); "
            "round trips: medians"
        )
        print(
            f"  {'kind':<36} {'CPU ms':>7} {'mean':>6} {'of it GC':>8} {'service trips':>14} "
            f"{'checkouts':>10} {'CRM trips':>10} {'checkouts':>10}"
        )
        for kind, times in cpu.items():
            columns = [
                statistics.median(s.get(name, 0) for s in trips[kind][skip:])
                for name in ("service", "service checkouts", "crm", "crm checkouts")
            ]
            print(
                f"  {kind:<36} {statistics.median(times[skip:]) * 1000:>7.2f} "
                f"{statistics.mean(times[skip:]) * 1000:>6.2f} "
                f"{statistics.mean(collecting[kind][skip:]) * 1000:>8.2f} "
                f"{columns[0]:>14.0f} {columns[1]:>10.0f} {columns[2]:>10.0f} {columns[3]:>10.0f}"
            )
        for kind in options.statements or ():
            print(f"\nround trips of the last {kind!r}:")
            for line in lines[kind]:
                print(f"  {line}")
        if profiler is not None:
            if options.dump:
                profiler.dump_stats(options.dump)
            stats = pstats.Stats(profiler)
            stats.sort_stats(options.sort).print_stats(options.top)


if __name__ == "__main__":
    main()
