"""Hostile PDFs posted to a real server: refused cheaply, never holding the web process.

The probe of issue 18: a 20 MB file under the size limit, a PDF header followed by millions of
`1 0 obj` tokens, took 73 s of the web process's CPU and 800 MB that stayed, while a health
check took 1.9 s. Here the app runs in a werkzeug server thread of this process, so the
process's own CPU time and resident memory are the web process's; the reading child's are not.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from forms_service.accounts.service import create_api_token
from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.conftest import hidden_fields
from tests.e2e.browsing import serving
from tests.pdf_forms import fill_with_pypdf

#: 20 MB (decimal), under the default upload limit of 20 MiB with the multipart envelope.
HOSTILE = b"%PDF-1.7\n" + b"1 0 obj\n" * 2_499_990 + b"%%EOF\n"
CPU_SECONDS = 5.0
RSS_GROWTH_BYTES = 100 * 1024 * 1024
#: A health check meanwhile may take this many times its own time before the post (at least
#: HEALTH_FLOOR_SECONDS): the probe's 1.9 s was 100 times a quiet one.
HEALTH_FACTOR = 10
HEALTH_FLOOR_SECONDS = 1.0


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app behind a real threaded HTTP server on loopback; its base URL."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _issue(runtime: Runtime, form_id: str = "contact-update") -> tuple[str, str]:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=("C000001",)), "test")
    return issued.document_id, issued.link.removeprefix("http://localhost")


def _birth_date(runtime: Runtime) -> str:
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    return str(record["birth_date"].strftime("%d/%m/%Y"))


def _api_token(runtime: Runtime) -> str:
    with runtime.sessions() as session, session.begin():
        return create_api_token(session, "robot", ["integration"], now=dt.datetime.now(dt.UTC))


def _poster(base: str, runtime: Runtime, via: str, content: bytes) -> Any:
    """A call that posts `content` on `via` ("upload" or "api") and returns the response."""
    if via == "api":
        headers = {"Authorization": f"Bearer {_api_token(runtime)}"}
        return lambda: requests.post(
            f"{base}/api/v1/returns",
            files={"file": ("return.pdf", content, "application/pdf")},
            headers=headers,
            timeout=120,
        )
    _document_id, path = _issue(runtime)
    browser = requests.Session()
    page = browser.get(f"{base}{path}/upload", timeout=10)
    assert page.status_code == 200, page.text
    data = {
        "csrf_token": hidden_fields(page.text)["csrf_token"],
        "birth_date": _birth_date(runtime),
    }
    return lambda: browser.post(
        f"{base}{path}/upload",
        data=data,
        files={"file": ("formulaire.pdf", content, "application/pdf")},
        timeout=120,
    )


def _health_limit(health: requests.Session, base: str) -> float:
    """How long a health check may take while a post is read: relative to this machine's."""
    quiet = []
    for _ in range(10):
        started = time.perf_counter()
        health.get(f"{base}/healthz", timeout=5)
        quiet.append(time.perf_counter() - started)
    return max(HEALTH_FLOOR_SECONDS, HEALTH_FACTOR * sorted(quiet)[len(quiet) // 2])


def _measured(base: str, post: Any) -> tuple[Any, float, int, list[float], float]:
    """Post while /healthz is asked in a loop.

    Returns the response, CPU s, RSS growth, the health latencies and the latency limit.
    """
    health = requests.Session()
    health.get(f"{base}/healthz", timeout=5)  # the connection and the route are warm
    limit = _health_limit(health, base)
    outcome: dict[str, Any] = {}
    cpu, rss = time.process_time(), _rss()
    sender = threading.Thread(target=lambda: outcome.setdefault("response", post()))
    sender.start()
    latencies: list[float] = []
    while sender.is_alive() or len(latencies) < 5:
        started = time.perf_counter()
        assert health.get(f"{base}/healthz", timeout=30).status_code == 200
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    sender.join()
    return outcome["response"], time.process_time() - cpu, _rss() - rss, latencies, limit


@pytest.mark.parametrize("via", ["upload", "api"])
def test_a_flood_of_object_tokens_is_refused_without_holding_the_process(
    server: str, runtime: Runtime, via: str
) -> None:
    response, cpu, growth, latencies, limit = _measured(
        server, _poster(server, runtime, via, HOSTILE)
    )
    assert response.status_code == 422, response.text[:500]
    if via == "api":
        body = response.json()
        assert body["code"] == "pdf_too_complex" and body["field"] == "file"
        assert "objects" in body["reason"]
    else:
        assert 'data-code="pdf_too_complex"' in response.text
    assert cpu < CPU_SECONDS, f"the web process spent {cpu:.1f} s of CPU on one file"
    assert growth < RSS_GROWTH_BYTES, f"the web process grew by {growth // 2**20} MB"
    assert max(latencies) < limit, f"/healthz took {max(latencies):.3f} s meanwhile ({limit:.3f})"


@pytest.mark.parametrize("via", ["upload", "api"])
def test_a_letter_padded_with_a_huge_comment_is_refused_quickly(
    server: str, runtime: Runtime, via: str
) -> None:
    # A real issued letter, filled, with 19 MB of comment between its trailer and startxref:
    # every offset still holds, the readers take 5-10 s to lex the comment. Refused up front.
    document_id, _path = _issue(runtime)
    letter = fill_with_pypdf(runtime.printer.pdf_for(document_id), {"city": "Lyon"})
    cut = letter.rindex(b"startxref")
    padded = letter[:cut] + b"%" + b"x" * 19_000_000 + b"\n" + letter[cut:]
    started = time.monotonic()
    response, cpu, growth, latencies, limit = _measured(
        server, _poster(server, runtime, via, padded)
    )
    assert time.monotonic() - started < 5, "the padded letter was not answered quickly"
    assert response.status_code == 422, response.text[:500]
    if via == "api":
        body = response.json()
        assert body["code"] == "pdf_too_complex" and body["field"] == "file"
        assert "padding" in body["reason"]
    else:
        assert 'data-code="pdf_too_complex"' in response.text
    assert cpu < CPU_SECONDS and growth < RSS_GROWTH_BYTES
    assert max(latencies) < limit, f"/healthz took {max(latencies):.3f} s meanwhile ({limit:.3f})"
