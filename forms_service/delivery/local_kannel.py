"""A local Kannel: bearerbox + smsbox + fakesmsc (its test SMSC), for `make run` and the tests.

The Debian packages `kannel` (bearerbox, smsbox) and `kannel-extras` (fakesmsc, the SMSC that
prints what it receives) are run with a kannel.conf written under a directory of ours, on
loopback ports: the service sends through smsbox's sendsms interface as it would in
production, fakesmsc "delivers" each SMS by writing it to its log (`Got message N: <from to
text|ucs-2|data body>`), and Kannel answers the delivery-report URLs it was given. The
bearerbox keeps accepted messages in a store file, so that a restart loses none.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
#: Where Debian's kannel-extras puts the test SMSC.
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
_RECEIVED = re.compile(r"Got message \d+: <(\S+) (\S+) (text|ucs-2|data) (.*)>$")


def kannel_installed() -> bool:
    """Whether bearerbox, smsbox and fakesmsc are all there (Debian: kannel, kannel-extras)."""
    return all(
        path.is_file() and os.access(path, os.X_OK) for path in (BEARERBOX, SMSBOX, FAKESMSC)
    )


@dataclass(frozen=True)
class ReceivedSms:
    """One SMS as fakesmsc printed it."""

    sender: str
    receiver: str
    coding: str
    text: str


def _unquoted(body: str) -> bytes:
    return urllib.parse.unquote_to_bytes(body.replace("+", " "))


#: How fakesmsc prints each coding: as is, UCS-2 URL-encoded, or 8-bit data URL-encoded (GSM
#: text Kannel could not print, in its internal Latin-1).
_DECODERS: dict[str, Callable[[str], str]] = {
    "text": lambda body: body,
    "ucs-2": lambda body: _unquoted(body).decode("utf-16-be"),
    "data": lambda body: _unquoted(body).decode("latin-1"),
}


def parse_fakesmsc_line(line: str) -> ReceivedSms | None:
    """The SMS of one line of fakesmsc's output, None for its other lines."""
    match = _RECEIVED.search(line.rstrip("\n"))
    if not match:
        return None
    sender, receiver, coding, body = match.groups()
    text = _DECODERS[coding](body)
    return ReceivedSms(sender, receiver, coding, text)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalKannel:
    """bearerbox, smsbox and fakesmsc on free loopback ports, configured under `directory`.

    `received()` reads what fakesmsc got (from `sms_log`, var/sms/fakesmsc.log under
    `make run`). Stop it with `stop()` (or use it as a context manager).
    """

    def __init__(
        self,
        directory: Path,
        *,
        username: str = "forms",
        password: str | None = None,
        sms_log: Path | None = None,
        log_level: int = 1,
        sendsms_port: int | None = None,
    ) -> None:
        if not kannel_installed():
            raise RuntimeError("Kannel is not installed (Debian packages kannel, kannel-extras)")
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = password or os.urandom(12).hex()
        self.sms_log = (sms_log or self.directory / "fakesmsc.log").resolve()
        self.sms_log.parent.mkdir(parents=True, exist_ok=True)
        self.log_level = log_level
        self.admin_port, self.smsbox_port, self.smsc_port = (_free_port() for _ in range(3))
        self.sendsms_port = sendsms_port or _free_port()
        self.status_password = "status-" + os.urandom(8).hex()
        self.config = self.directory / "kannel.conf"
        self.config.write_text(self._configuration())
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def _configuration(self) -> str:
        d = self.directory
        return f"""\
# Written by forms_service.delivery.local_kannel: a local Kannel with its test SMSC.
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = admin-{os.urandom(8).hex()}
status-password = {self.status_password}
smsbox-port = {self.smsbox_port}
box-allow-ip = 127.0.0.1
log-file = "{d / "bearerbox.log"}"
log-level = {self.log_level}
access-log = "{d / "access.log"}"
store-type = file
store-location = "{d / "kannel.store"}"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d / "smsbox.log"}"
log-level = {self.log_level}
access-log = "{d / "smsbox-access.log"}"

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
text = ""
"""

    # -- processes -------------------------------------------------------------------------
    def start(self, *, smsc: bool = True) -> LocalKannel:
        """Start the three (fakesmsc unless `smsc` is False) and wait until they answer."""
        self.start_bearerbox()
        if smsc:
            self.start_smsc()
        return self

    def start_bearerbox(self) -> None:
        """Start the bearerbox and its smsbox; wait for the status page and sendsms."""
        self._spawn("bearerbox", [str(BEARERBOX), "-v", "4", str(self.config)])
        self._wait(lambda: self._status() is not None, "bearerbox's status page", "bearerbox")
        self._spawn("smsbox", [str(SMSBOX), "-v", "4", str(self.config)])
        self._wait(lambda: "smsbox:" in self.status(), "smsbox's connection", "smsbox")
        self._wait(lambda: self._accepts(self.sendsms_port), "smsbox's sendsms port", "smsbox")

    def stop_bearerbox(self, sig: int = signal.SIGTERM) -> None:
        """Stop the bearerbox (`sig`: SIGTERM, its orderly shutdown, or SIGKILL) and smsbox.

        fakesmsc exits when its bearerbox goes: `start_bearerbox` then `start_smsc` again.
        """
        for name in ("bearerbox", "smsbox", "fakesmsc"):
            self._end(name, sig if name == "bearerbox" else signal.SIGTERM)

    def start_smsc(self) -> None:
        """Connect fakesmsc (which only listens: `-m 0` sends no message of its own)."""
        self._spawn(
            "fakesmsc",
            [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "0", "1 2 text -"],
            output=self.sms_log,
        )
        self._wait(lambda: "online" in self._smsc_line(), "fakesmsc's connection", "fakesmsc")

    def stop_smsc(self) -> None:
        self._end("fakesmsc", signal.SIGTERM)
        self._wait(lambda: "online" not in self._smsc_line(), "the SMSC going offline", "")

    def stop(self) -> None:
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self._end(name, signal.SIGTERM)

    def __enter__(self) -> LocalKannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run until SIGTERM or Ctrl+C, restarting none (the command of `make run`)."""

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            self.start()
            while all(p.poll() is None for p in self._processes.values()):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def running(self, name: str) -> bool:
        process = self._processes.get(name)
        return process is not None and process.poll() is None

    # -- what it did -----------------------------------------------------------------------
    def received(self) -> list[ReceivedSms]:
        """Every SMS fakesmsc received, in order."""
        if not self.sms_log.is_file():
            return []
        lines = self.sms_log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [sms for line in lines if (sms := parse_fakesmsc_line(line)) is not None]

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until the bearerbox holds no message and no delivery report in its queues."""

        def idle() -> bool:
            status = self.status()
            return "store size 0" in status and "DLR: 0 queued" in status

        self._wait(idle, "idle bearerbox (store and DLR queue empty)", "bearerbox", timeout)

    def status(self) -> str:
        """The bearerbox's status page (status.txt), empty when it does not answer."""
        return self._status() or ""

    # -- internals -------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], output: Path | None = None) -> None:
        if self.running(name):
            return
        log = (output or self.directory / f"{name}.out").open("ab")
        with log:
            self._processes[name] = subprocess.Popen(  # noqa: S603 (fixed binaries)
                argv,
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _end(self, name: str, sig: int) -> None:
        process = self._processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _status(self) -> str | None:
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.status_password}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text: str = response.read().decode("utf-8", "replace")
                return text
        except (OSError, urllib.error.URLError):
            return None

    def _smsc_line(self) -> str:
        return next((line for line in self.status().splitlines() if "FAKE:" in line), "")

    @staticmethod
    def _accepts(port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        return False

    def _wait(
        self, ready: Callable[[], bool], what: str, process: str, timeout: float = 20.0
    ) -> None:
        """Wait until `ready()`; fail early if `process` (just started) exited."""
        deadline = time.monotonic() + timeout
        while not ready():
            dead = bool(process) and not self.running(process)
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"Kannel: no {what}"
                    + (f" ({process} exited)" if dead else f" after {timeout:.0f} s")
                    + f"; see the logs in {self.directory}"
                )
            time.sleep(0.1)

    def logs(self) -> Iterator[Path]:
        yield from sorted(self.directory.glob("*.log"))

    def remove_files(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
