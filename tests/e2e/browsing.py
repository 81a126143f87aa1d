"""What every browser test shares: Debian's Chromium, an offline page, axe's verdict."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route, expect

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium knocks on closed doors at every start.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def serving(server: socketserver.TCPServer) -> Iterator[str]:
    """Serve `server` (bound to a loopback port) in a thread; its base URL while it runs."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def offline(page: Page, server: str) -> list[str]:
    """Refuse every request that leaves the test server; collect console and page errors."""
    problems: list[str] = []

    def route(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            problems.append(f"outside request: {route.request.url}")
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def serious_violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page now shown."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


def fill_address(page: Page, postcode: tuple[str, str], city: tuple[str, str]) -> None:
    """Type a city, then its postcode (each a (label, value)), and wait for the commune check.

    The check answers while the customer goes on: a hint that appeared under the pointer as
    Submit is pressed would take the click. Once the commune is offered and agrees with the
    city, nothing more moves.
    """
    page.get_by_label(city[0]).fill(city[1])
    page.get_by_label(postcode[0]).fill(postcode[1])
    expect(page.locator("#city-suggestions option")).to_have_count(1)
    expect(page.locator("#city-check")).to_have_text("")
