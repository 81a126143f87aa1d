"""The real Kannel (bearerbox + smsbox + fakesmsc) and a DLR receiver, shared by the session."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.delivery.local_kannel import LocalKannel, kannel_installed
from tests.e2e.browsing import serving


class DlrReceiver:
    """An HTTP server standing for the service's DLR webhook: it keeps every callback's query."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                with receiver.arrived:
                    receiver.calls.append(query)
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def for_message(self, message_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [call for call in self.calls if call.get("m") == message_id]

    def wait_for(self, message_id: str, dlr_type: str, timeout: float = 15.0) -> dict[str, str]:
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: any(
                    c.get("m") == message_id and c.get("type") == dlr_type for c in self.calls
                ),
                timeout,
            )
        assert found, f"no DLR type {dlr_type} for {message_id}: {self.for_message(message_id)}"
        return next(c for c in self.for_message(message_id) if c.get("type") == dlr_type)


@pytest.fixture(scope="session")
def dlr_receiver() -> Iterator[tuple[DlrReceiver, str]]:
    receiver = DlrReceiver()
    with serving(receiver.server) as url:
        yield receiver, url + "/hooks/kannel/dlr"


def _require_kannel() -> None:
    if not kannel_installed():
        pytest.fail(
            "Kannel is not installed: `scripts/install-system-packages.sh --tests` installs "
            "the Debian packages kannel and kannel-extras"
        )


@pytest.fixture(scope="session")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKannel]:
    """One local Kannel for the session (it takes seconds to start)."""
    _require_kannel()
    local = LocalKannel(tmp_path_factory.mktemp("kannel"))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def own_kannel(tmp_path: Path) -> Iterator[LocalKannel]:
    """A Kannel of the test's own, for the tests that stop and restart it."""
    _require_kannel()
    local = LocalKannel(tmp_path / "kannel")
    yield local
    local.stop()
