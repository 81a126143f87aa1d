"""What a clerk's change set page and approval cost with many change sets waiting, on PostgreSQL.

The approve phase of benchmarks/load.py, one request at a time: a service database and a demo
CRM on PostgreSQL (as `make prod-local`), filled like the load benchmark's when its approve
phase starts (--documents issued contact-update letters, --open of them answered online and
waiting for a clerk, --events audit events in all), the app built in this process with
immediate outbox delivery (as prod-local), one clerk signed in. Then, --rounds times: the change
set page of the oldest waiting change set, and its approval (the POST, delivered to the CRM,
and the redirect's target chosen). Prints per request kind the CPU of this process, the CPU of
the PostgreSQL backends serving it (from /proc: the server runs on this machine) and the
statements sent; --statements KIND lists the last request's statements with their time,
--explain KIND runs EXPLAIN (ANALYZE, BUFFERS) on its slowest ones, --profile KIND prints a
cProfile of its CPU.

    .venv/bin/python benchmarks/approve_cost.py [--open 2000] [--rounds 40] [--statements approve]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import re
import secrets
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
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# benchmarks/load_meters.py, next to this script (whose directory is sys.path[0])
from load_meters import cpu_seconds  # noqa: E402


@contextmanager
def _databases(admin_url: str) -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases (service, CRM), dropped at the end."""
    url = make_url(admin_url)
    names = [f"forms_bench_{role}_{os.getpid()}_{secrets.token_hex(2)}" for role in ("svc", "crm")]

    def admin() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
        )

    with admin() as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        service, crm = (
            url.set(database=name).render_as_string(hide_password=False) for name in names
        )
        yield service, crm
    finally:
        with admin() as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Statements:
    """The statements each request sends, with their wall time, and the backends serving it."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, float, Any]] = []
        self.backends: set[int] = set()
        self.counts: dict[str, int] = defaultdict(int)
        self.connections = 0

    def listen(self, engine: Any, name: str) -> None:
        def checkout(dbapi: Any, _record: Any, _proxy: Any) -> None:
            self.backends.add(dbapi.info.backend_pid)

        def before(_c: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _m: Any) -> None:
            context._bench_started = time.perf_counter()

        def after(_c: Any, _cursor: Any, sql: str, params: Any, context: Any, _m: Any) -> None:
            spent = time.perf_counter() - context._bench_started
            self.counts[name] += 1
            self.lines.append((name, sql, spent, params))

        def connect(_dbapi: Any, _record: Any) -> None:
            self.connections += 1

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "connect", connect)
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

    def backend_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.backends)

    def take(self) -> tuple[dict[str, int], list[tuple[str, str, float, Any]]]:
        taken = dict(self.counts), self.lines
        self.counts = defaultdict(int)
        self.lines = []
        return taken


def _app(work: Path, service: str, crm: str, customers: int) -> Any:
    from forms_service.app import create_app
    from forms_service.config import DEMO_CRM_RECORD_TYPES
    from forms_service.demo.service import create_demo_crm
    from forms_service.storage import migrate

    migrate.upgrade(service)
    create_demo_crm(crm, customers)
    return create_app(
        {
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": service,
            "FILE_STORE_DIR": str(work / "files"),
            "DEFINITIONS_DIR": str(ROOT / "form_definitions"),
            "BASE_URL": "http://localhost",
            "CONNECTORS": {
                "crm": {"type": "sql", "url": crm, "record_types": DEMO_CRM_RECORD_TYPES}
            },
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "OUTBOX_DELIVER_IMMEDIATELY": True,
        }
    )


def _fill(runtime: Any, documents: int, waiting: int, events: int) -> list[str]:
    """Issue `documents` letters, answer `waiting` of them (moving), pad the audit log to
    `events`; the ids of the change sets waiting, oldest first."""
    from forms_service.audit.service import chain_body
    from forms_service.connectors.interfaces import Selection
    from forms_service.core.errors import InvalidInput
    from forms_service.definitions.model import Channel
    from forms_service.storage.model import AuditEvent, ChangeSet, ChangeSetStatus, Document

    keys = [f"C{n:06d}" for n in range(1, documents + 1)]
    issued = [
        line.document_id
        for line in runtime.issuing.issue("contact-update", Selection(keys=tuple(keys)), "bench")
    ]
    with runtime.sessions() as session:
        loaded = {
            d.id: d
            for d in session.execute(select(Document).where(Document.id.in_(issued[:waiting])))
            .scalars()
            .all()
        }
        session.expunge_all()
    answered = 0
    for document_id in issued:
        if answered >= waiting:
            break
        document = loaded.get(document_id)
        if document is None:
            break
        definition = runtime.intake.definition(document)
        shown = {
            f.name: document.snapshot.get(f.name) for f in definition.fields_for(Channel.ONLINE)
        }
        if shown.get("email") and "@" not in str(shown["email"]):
            shown["email"] = None
        answer = shown | {"city": "Nantes", "postcode": "44000", "address_line": "2 RUE DU PORT"}
        try:
            runtime.intake.submit(document, answer, shown, locale="fr", opened_at=None)
        except InvalidInput:  # a demo record the form refuses: not this benchmark's subject
            continue
        answered += 1
    with runtime.sessions() as session:
        count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    # Pad with "opened" events of the issued letters, chained at commit like any other.
    padding = max(0, events - count)
    now = dt.datetime.now(dt.UTC)
    with runtime.sessions() as session, session.begin():
        rows = []
        for n in range(padding):
            row = AuditEvent(
                at=now,
                kind="opened",
                actor="customer",
                document_id=issued[n % len(issued)],
                detail={"channel": "online"},
            )
            row.pending_body = chain_body(row)
            rows.append(
                {
                    c: getattr(row, c)
                    for c in ("at", "kind", "actor", "document_id", "detail", "pending_body")
                }
            )
            if len(rows) == 1000:
                session.execute(insert(AuditEvent), rows)
                rows = []
        if rows:
            session.execute(insert(AuditEvent), rows)
    with runtime.sessions() as session:
        return list(
            session.execute(
                select(ChangeSet.id)
                .where(ChangeSet.status == ChangeSetStatus.OPEN)
                .order_by(ChangeSet.created_at, ChangeSet.id)
            ).scalars()
        )


def _sign_in(client: Any) -> None:
    from tests.integration import reviewing

    page = client.get("/backoffice/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None  # noqa: S101 - the login page has its CSRF token
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": token.group(1), "username": "clerk", "password": reviewing.PASSWORD},
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign in: {response.status_code}")


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    if found is None:
        raise RuntimeError(f"no {name} on the change set page")
    return found.group(1)


def _explain(url: str, sql: str, params: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement as psycopg sent it (rolled back)."""
    plain = make_url(url)
    with psycopg.connect(
        host=plain.host, port=plain.port or 5432, user=plain.username, dbname=plain.database
    ) as connection:
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")):
            plan = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
            connection.rollback()
            return "\n".join(f"      {line}" for (line,) in plan)
    return "      (not explained)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000, help="letters issued")
    parser.add_argument("--open", type=int, default=2000, help="of them answered, waiting")
    parser.add_argument("--events", type=int, default=40000, help="audit events at least")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--statements", action="append", default=[], help="kind to list")
    parser.add_argument("--explain", action="append", default=[], help="kind to EXPLAIN")
    parser.add_argument("--profile", help="request kind to profile (cProfile, CPU time)")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumulative")
    parser.add_argument("--top", type=int, default=30, help="functions shown")
    parser.add_argument("--dump", help="also write the profile to this file (pstats format)")
    options = parser.parse_args()
    admin = os.environ.get(
        "FORMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    from tests.integration.reviewing import add_user

    with (
        tempfile.TemporaryDirectory(prefix="forms-approve-") as work,
        _databases(admin) as (service, crm),
    ):
        started = time.perf_counter()
        app = _app(Path(work), service, crm, options.documents)
        runtime = app.extensions["forms_service"]
        waiting = _fill(runtime, options.documents, options.open, options.events)
        add_user(runtime, "clerk", ["clerk"])
        with psycopg.connect(
            make_url(service).set(drivername="postgresql").render_as_string(hide_password=False)
        ) as db:
            db.execute("ANALYZE")
            counts = db.execute(
                "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM change_sets "
                "WHERE status = 'open'), (SELECT count(*) FROM audit_events), "
                "(SELECT count(*) FROM outbox)"
            ).fetchone()
            assert counts is not None  # noqa: S101 - one row of counts
        print(
            f"filled in {time.perf_counter() - started:.0f} s: {counts[0]} documents, "
            f"{counts[1]} change sets waiting, {counts[2]} audit events, {counts[3]} outbox rows"
        )
        statements = Statements()
        statements.listen(runtime.engine, "service")
        for name, connector in runtime.connectors.items():
            if hasattr(connector, "engine"):
                statements.listen(connector.engine, name)
        client = app.test_client()
        _sign_in(client)
        cpu: dict[str, list[float]] = defaultdict(list)
        backend: dict[str, float] = defaultdict(float)
        trips: dict[str, list[dict[str, int]]] = defaultdict(list)
        last: dict[str, list[tuple[str, str, float, Any]]] = {}
        profiler = cProfile.Profile(time.process_time) if options.profile else None

        def measure(
            kind: str, expected: int, call: Callable[..., Any], *args: Any, **kw: Any
        ) -> Any:
            statements.take()
            server = statements.backend_cpu()
            began = time.process_time()
            if profiler is not None and kind == options.profile:
                response = profiler.runcall(call, *args, **kw)
            else:
                response = call(*args, **kw)
            cpu[kind].append(time.process_time() - began)
            backend[kind] += statements.backend_cpu() - server
            trips[kind].append(statements.counts.copy())
            last[kind] = statements.take()[1]
            if response.status_code != expected:
                raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
            return response

        rounds = min(options.rounds, len(waiting))
        for change_set_id in waiting[:rounds]:
            path = f"/backoffice/change-sets/{change_set_id}"
            page = measure("change set page", 200, client.get, path).text
            measure(
                "approve",
                303,
                client.post,
                f"{path}/approve",
                data={
                    "csrf_token": _hidden(page, "csrf_token"),
                    "version": _hidden(page, "version"),
                },
            )
        measure("queue page", 200, client.get, "/backoffice/")
        runtime.engine.dispose()
        skip = min(3, rounds - 1)
        print(
            f"\n{len(statements.backends)} PostgreSQL backends served the requests; "
            f"{statements.connections} connections opened meanwhile"
        )
        print(f"\nper request, {rounds} rounds (medians after {skip} warm-up; backend CPU: mean)")
        print(
            f"  {'kind':<18} {'CPU ms':>7} {'PostgreSQL ms':>14} {'service stmts':>14} {'CRM stmts':>10}"
        )
        for kind, times in cpu.items():
            kept = times[skip:] if len(times) > skip else times
            counted = trips[kind][skip:] if len(times) > skip else trips[kind]
            print(
                f"  {kind:<18} {statistics.median(kept) * 1000:>7.2f} "
                f"{backend[kind] / len(times) * 1000:>14.2f} "
                f"{statistics.median(c.get('service', 0) for c in counted):>14.0f} "
                f"{statistics.median(c.get('crm', 0) for c in counted):>10.0f}"
            )
        for kind in options.statements:
            print(f"\nstatements of the last {kind!r} (ms, first line):")
            for name, sql, spent, _params in last.get(kind, []):
                print(f"  {spent * 1000:7.2f} {name}: {' '.join(sql.split())[:160]}")
        for kind in options.explain:
            print(f"\nslowest statements of the last {kind!r}, explained:")
            for name, sql, spent, params in sorted(last.get(kind, []), key=lambda s: -s[2])[:3]:
                url = service if name == "service" else crm
                print(f"  {spent * 1000:7.2f} ms {name}: {' '.join(sql.split())[:300]}")
                print(
                    _explain(url, sql, params)
                    if isinstance(params, dict)
                    else "      (several rows)"
                )
        if profiler is not None:
            if options.dump:
                profiler.dump_stats(options.dump)
            stats = pstats.Stats(profiler)
            stats.sort_stats(options.sort).print_stats(options.top)


if __name__ == "__main__":
    main()
