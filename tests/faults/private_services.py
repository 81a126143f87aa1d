"""A private PostgreSQL server for tests that stop and restart it (never the shared one)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.prod_stack import free_port


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1]


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of our own on 127.0.0.1:port (trust auth, fsync off)."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        """The admin URL (SQLAlchemy form)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        command = [str(_bindir() / "pg_ctl"), "-D", str(self.directory / "data"), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60"
        )
        self._ctl("-l", str(self.directory / "pg.log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast` ends sessions; `immediate` is a crash)."""
        self._ctl("-w", "-m", mode, "stop")


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create, start and finally stop and delete a private PostgreSQL server."""
    directory = Path(tempfile.mkdtemp(prefix="forms-faults-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(directory, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(directory, free_port())
    initdb = [
        str(_bindir() / "initdb"),
        "-D",
        str(directory / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    ]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True, timeout=120)
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
