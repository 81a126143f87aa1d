"""Sending throughput: the providers (SmtpProvider, KannelProvider) against a bare loop.

For N documents (default 10,000), each channel is measured twice in the same run:
- baseline: the messages sent in a loop with the standard library only (smtplib.sendmail of
  one rendered message's bytes on one session; Kannel's sendsms called with each message's
  query, its own number and DLR URL, built by urlencode, on one kept-alive http.client
  connection);
- provider: the service's provider building, checking (address, number), signing (the DLR
  URL's HMAC, a fresh Message-ID) and sending each message: what a sending job does per
  message, without the job layer (the queue and the message rows, added by delivery/tasks.py).
With one sending process and with two (each sending half the documents).

The SMTP server is aiosmtpd (counting what it receives, in a process of its own); Kannel is a
local bearerbox + smsbox + fakesmsc (forms_service.delivery.local_kannel), whose delivery
reports go to a small HTTP server of this script. Memory: the sending process's peak RSS for
1,000 documents and for N, each in a fresh process.

    .venv/bin/python benchmarks/send.py                  # 10,000 documents
    .venv/bin/python benchmarks/send.py --count 2000 --channels email
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import http.server
import multiprocessing
import resource
import smtplib
import socket
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forms_service.delivery.interfaces import (  # noqa: E402
    EmailRendition,
    OutgoingEmail,
    OutgoingSms,
    Purpose,
    Sender,
    SmsRendition,
)
from forms_service.delivery.providers.kannel import KannelProvider, KannelSettings  # noqa: E402
from forms_service.delivery.providers.smtp import (  # noqa: E402
    SmtpProvider,
    SmtpSettings,
    verp_address,
)

TEXT = (
    "Bonjour Claire Martin,\n\nMutuelle Exemple vous demande de confirmer vos coordonnées "
    "avant le 31 décembre 2026.\n\nConfirmer : https://forms.example.org/r/Ab3dEf6hIj9kLm2n\n\n"
    "Merci,\nLe service adhérents\n"
) * 3
HTML = "<html><body>" + "".join(f"<p>{line}</p>" for line in TEXT.splitlines()) + "</body></html>"
SMS_TEXT = (
    "Mutuelle Exemple : confirmez vos coordonnées avant le 31/12 : https://f.example/r/Ab3dEf6h"
)
SECRET = b"benchmark-dlr-secret-0123456789abcdef"


def email_message(n: int) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=f"m{n}",
        to=f"customer{n}@example.com",
        rendition=EmailRendition(
            subject="Vos coordonnées à confirmer",
            text=TEXT,
            html=HTML,
            sender=Sender(name="Mutuelle Exemple", address="service@mutuelle.example.org"),
            purpose=Purpose.REGULATORY,
            locale="fr",
            unsubscribe_url="https://forms.example.org/u/Zx8",
        ),
    )


def sms_message(n: int) -> OutgoingSms:
    return OutgoingSms(
        message_id=f"s{n}",
        to=f"+336{n % 100_000_000:08d}",
        rendition=SmsRendition(SMS_TEXT, "MUTUELLE", Purpose.SERVICE, "fr"),
    )


# -- the servers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _smtp_server(port: int, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Counting.count += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _dlr_server(port: int, ready: Any, stop: Any) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    stop.wait()
    server.shutdown()


# -- the senders (each run in a fresh process) ----------------------------------------------


@dataclass(frozen=True)
class Job:
    channel: str  # email | sms
    kind: str  # baseline | provider
    first: int
    count: int
    smtp_port: int = 0
    sendsms_url: str = ""
    username: str = ""
    password: str = ""
    dlr_url: str = ""
    #: The e-mail's bytes for the baseline (a file; empty: one built from `email_message`).
    message_file: str = ""


def _smtp_settings(job: Job) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=job.smtp_port, bounce_address="bounces@example.org")


def _kannel_settings(job: Job) -> KannelSettings:
    return KannelSettings(
        sendsms_url=job.sendsms_url,
        username=job.username,
        password=job.password,
        dlr_url=job.dlr_url,
        dlr_secret=SECRET,
    )


def _bare_query(job: Job, n: int) -> str:
    """Message n's sendsms query with the standard library only: its own number and DLR URL.

    Kannel takes longer for varied numbers and DLR URLs than for one message repeated (7 to
    16 ms a request against 5 to 10): the baseline sends what the provider sends, so that the
    ratio is the provider's own cost, not Kannel's.
    """
    message_id = f"s{n}"
    signature = hmac.new(SECRET, message_id.encode(), hashlib.sha256).hexdigest()[:32]
    dlr_url = f"{job.dlr_url}?m={message_id}&s={signature}&type=%d&at=%T"
    return urllib.parse.urlencode(
        {
            "username": job.username,
            "password": job.password,
            "from": "MUTUELLE",
            "to": f"+336{n % 100_000_000:08d}",
            "text": SMS_TEXT,
            "charset": "UTF-8",
            "coding": "0",
            "dlr-mask": "31",
            "dlr-url": dlr_url,
        }
    )


def run_job(job: Job) -> int:
    """Send `job.count` messages; returns the process's peak RSS in KiB."""
    end = job.first + job.count
    if job.channel == "email" and job.kind == "provider":
        provider = SmtpProvider(_smtp_settings(job))
        for n in range(job.first, end):
            provider.send(email_message(n))
        provider.close()
    elif job.channel == "email":
        builder = SmtpProvider(_smtp_settings(job))
        data = (
            Path(job.message_file).read_bytes()
            if job.message_file
            else builder.message_bytes(builder.build(email_message(0)))
        )
        sender = verp_address("bounces@example.org", "m0")
        with smtplib.SMTP("127.0.0.1", job.smtp_port) as session:
            for _ in range(job.count):
                session.sendmail(sender, ["customer0@example.com"], data)
    elif job.kind == "provider":
        sms = KannelProvider(_kannel_settings(job))
        for n in range(job.first, end):
            sms.send(sms_message(n))
        sms.close()
    else:
        url = urllib.parse.urlsplit(job.sendsms_url)
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        for n in range(job.first, end):
            connection.request("GET", f"{url.path}?{_bare_query(job, n)}")
            response = connection.getresponse()
            response.read()
            if response.status != 202:
                raise RuntimeError(f"sendsms answered {response.status}")
            if response.will_close:
                connection.close()
        connection.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(job: Job, workers: int) -> tuple[float, int]:
    """Messages per second of `workers` processes sharing `job.count`; the largest peak RSS."""
    context = multiprocessing.get_context("spawn")
    share = job.count // workers
    jobs = [
        Job(**{**job.__dict__, "first": job.first + w * share, "count": share})
        for w in range(workers)
    ]
    with context.Pool(workers) as pool:
        pool.map(_noop, range(workers))  # the processes are up before the clock starts
        start = time.perf_counter()
        peaks = pool.map(run_job, jobs)
        elapsed = time.perf_counter() - start
    return share * workers / elapsed, max(peaks)


def _noop(_: int) -> None:
    return None


def _started(target: Callable[..., None], *args: Any) -> tuple[Any, Any]:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    process = context.Process(target=target, args=(*args, ready, stop), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError(f"{target.__name__} did not start")
    return process, stop


@contextlib.contextmanager
def local_kannel() -> Iterator[tuple[Any, str]]:
    """A started local Kannel (bearerbox + smsbox + fakesmsc) and the URL of a DLR sink."""
    from forms_service.delivery.local_kannel import LocalKannel

    dlr_port = _free_port()
    dlr, stop = _started(_dlr_server, dlr_port)
    with tempfile.TemporaryDirectory(prefix="send-bench-") as directory:
        kannel = LocalKannel(Path(directory), log_level=2)
        try:
            kannel.start()
            yield kannel, f"http://127.0.0.1:{dlr_port}/dlr"
        finally:
            kannel.stop()
            stop.set()
            dlr.join(10)


def _say(lines: list[str], line: str) -> None:
    """Print a line of the report as soon as it is measured (runs take minutes)."""
    lines.append(line)
    print(line, flush=True)


def bench_channel(
    channel: str, count: int, base: Job, settle: Callable[[], None] = lambda: None
) -> list[str]:
    """Both kinds with 1 and 2 processes, then the memory runs; `settle` waits between runs."""
    lines: list[str] = []
    rates: dict[tuple[str, int], float] = {}
    for workers in (1, 2):
        for kind in ("baseline", "provider"):
            job = Job(**{**base.__dict__, "channel": channel, "kind": kind, "count": count})
            settle()
            rate, _ = measure(job, workers)
            rates[(kind, workers)] = rate
            _say(lines, f"  {kind:9} {workers} process(es): {rate:8.0f} messages/s")
        ratio = rates[("provider", workers)] / rates[("baseline", workers)]
        _say(lines, f"  ratio provider/baseline with {workers}: {ratio:.0%}")
    small_job = Job(**{**base.__dict__, "channel": channel, "kind": "provider", "count": 1000})
    settle()
    _, small = measure(small_job, 1)
    big_job = Job(**{**base.__dict__, "channel": channel, "kind": "provider", "count": count})
    settle()
    _, big = measure(big_job, 1)
    _say(
        lines,
        f"  peak RSS of the sending process: {small / 1024:.1f} MiB for 1,000, "
        f"{big / 1024:.1f} MiB for {count:,} ({big / small - 1:+.1%})",
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--channels", default="email,sms")
    args = parser.parse_args()
    channels = args.channels.split(",")
    report = [f"benchmarks/send.py --count {args.count}"]
    if "email" in channels:
        port = _free_port()
        server, stop = _started(_smtp_server, port)
        try:
            _say(report, "E-mail to a local aiosmtpd server:")
            bench_channel("email", args.count, Job("email", "", 0, 0, smtp_port=port))
        finally:
            stop.set()
            server.join(10)
    if "sms" in channels:
        with local_kannel() as (kannel, dlr_url):
            base = Job(
                "sms",
                "",
                0,
                0,
                sendsms_url=kannel.sendsms_url,
                username=kannel.username,
                password=kannel.password,
                dlr_url=dlr_url,
            )
            _say(report, "SMS to a local Kannel (bearerbox + smsbox + fakesmsc):")
            bench_channel("sms", args.count, base, kannel.wait_idle)


if __name__ == "__main__":
    main()
