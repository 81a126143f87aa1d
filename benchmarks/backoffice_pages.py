"""Back-office cost over HTTP against the bare service calls, and the queue page as it grows.

On SQLite with the demo CRM, one clerk signed in through the real login form:
- review over HTTP: what the keyboard flow costs per change set (GET the change set page,
  POST /decide accepting its fields, follow the redirect to the next page);
- review, service only: the same decisions through ChangeService (view, then accept per
  field), with no Flask, templates or CSRF;
- queue page: GET /backoffice/ with a small and a large queue (same page size).

Prints milliseconds per change set and the ratios: web overhead (HTTP / service) and queue
growth (large / small queue page), so a regression shows as a ratio, not a time.

    .venv/bin/python benchmarks/backoffice_pages.py [--count 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _check(condition: bool, what: object) -> None:
    if not condition:
        raise RuntimeError(f"unexpected: {what}")


def _found(pattern: str, page: str, what: str) -> str:
    """The first group of `pattern` in a page, which must be there."""
    match = re.search(pattern, page)
    if match is None:
        raise RuntimeError(f"unexpected: no {what}")
    return match.group(1)


def _app(work: Path) -> Any:
    from forms_service.app import create_app
    from forms_service.config import DEMO_CRM_RECORD_TYPES
    from forms_service.demo.service import create_demo_crm
    from forms_service.storage import migrate

    migrate.upgrade(f"sqlite:///{work / 'forms.sqlite'}")
    create_demo_crm(f"sqlite:///{work / 'crm.sqlite'}", 1200)
    return create_app(
        {
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'forms.sqlite'}",
            "FILE_STORE_DIR": str(work / "files"),
            "DEFINITIONS_DIR": str(ROOT / "form_definitions"),
            "BASE_URL": "http://localhost",
            "CONNECTORS": {
                "crm": {
                    "type": "sql",
                    "url": f"sqlite:///{work / 'crm.sqlite'}",
                    "record_types": DEMO_CRM_RECORD_TYPES,
                }
            },
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "OUTBOX_DELIVER_IMMEDIATELY": False,
        }
    )


def _answers(runtime: Any, first: int, count: int) -> list[str]:
    from tests.integration.reviewing import answer

    return [
        answer(runtime, "contact-update", {"city": f"Ville {n}"}, f"C{n:06d}")
        for n in range(first, first + count)
    ]


def _sign_in(client: Any) -> None:
    from tests.integration import reviewing

    page = client.get("/backoffice/login").text
    token = _found(r'name="csrf_token" type="hidden" value="([^"]+)"', page, "login CSRF token")
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": token, "username": "clerk", "password": reviewing.PASSWORD},
    )
    _check(response.status_code == 303, response.status_code)


def _review_over_http(client: Any, change_set_id: str) -> None:
    page = client.get(f"/backoffice/change-sets/{change_set_id}").text
    token = _found(r'name="csrf_token" value="([^"]+)"', page, "CSRF token")
    version = _found(r'name="version" value="(\d+)"', page, "version")
    fields = re.findall(r'data-field="([^"]+)" data-waiting="1"', page)
    response = client.post(
        f"/backoffice/change-sets/{change_set_id}/decide",
        data={"csrf_token": token, "version": version, "accept": fields},
    )
    _check(response.status_code == 303, response.status_code)
    client.get(response.headers["Location"])


def _review_in_service(runtime: Any, change_set_id: str) -> None:
    view = runtime.changes.change_set(change_set_id, locale="en")
    version = view.version
    for row in view.rows:
        if row.waiting:
            version = runtime.changes.accept(
                change_set_id, row.field, actor="bench", version=version
            ).version


def _queue_ms(client: Any, rounds: int = 15) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        _check(client.get("/backoffice/").status_code == 200, "queue page")
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    """Run the measurements and print times and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200, help="change sets per measurement")
    args = parser.parse_args()
    from tests.integration.reviewing import add_user

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        runtime = app.extensions["forms_service"]
        add_user(runtime, "clerk", ["clerk"])
        client = app.test_client()
        _sign_in(client)

        small = _answers(runtime, 1, 20)
        queue_small = _queue_ms(client)
        web = _answers(runtime, 21, args.count)
        service = _answers(runtime, 21 + args.count, args.count)
        queue_large = _queue_ms(client)

        start = time.perf_counter()
        for change_set_id in web:
            _review_over_http(client, change_set_id)
        http_ms = (time.perf_counter() - start) * 1000 / len(web)
        start = time.perf_counter()
        for change_set_id in service:
            _review_in_service(runtime, change_set_id)
        service_ms = (time.perf_counter() - start) * 1000 / len(service)
        runtime.engine.dispose()

    waiting_large = len(small) + 2 * args.count
    print(f"review over HTTP (page + decide + next page): {http_ms:.1f} ms per change set")
    print(f"review in the service only:                   {service_ms:.1f} ms per change set")
    print(f"web overhead ratio (HTTP / service):          {http_ms / service_ms:.2f}")
    print(f"queue page, {len(small)} waiting:                    {queue_small:.1f} ms")
    print(f"queue page, {waiting_large} waiting:                   {queue_large:.1f} ms")
    print(f"queue growth ratio (large / small):           {queue_large / queue_small:.2f}")


if __name__ == "__main__":
    main()
