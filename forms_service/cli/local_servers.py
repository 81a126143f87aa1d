"""`forms-service mail-server` and `sms-gateway`: the local SMTP server and Kannel of `make run`."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from forms_service.config import ensure_secrets, load_settings

if TYPE_CHECKING:
    from forms_service.config import Settings
    from forms_service.delivery.interfaces import DeliveryReport
    from forms_service.delivery.local_mail import LocalMailServer
    from forms_service.runtime import Runtime


class DeliveryReports:
    """The report sink of the local mail server: the delivery service of the runtime.

    The runtime is built on the first bounce (the server may start before the database).
    """

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()

    def record_report(self, report: DeliveryReport) -> None:
        """Record `report` on its message (DeliveryService.record_report)."""
        with self._lock:
            delivery = self.runtime().delivery
        delivery.record_report(report)


def local_mail_server(
    settings: Settings, runtime: Callable[[], Runtime], log: Callable[[str], None] = print
) -> LocalMailServer:
    """The local SMTP server of the settings, its bounces recorded by `runtime`'s delivery."""
    from forms_service.delivery.local_mail import LocalMailServer, reporting_bounces

    hook = reporting_bounces(DeliveryReports(runtime), settings.email_bounce_address, log=log)
    return LocalMailServer(
        settings.var_dir / "mail",
        host=settings.smtp_host,
        port=settings.smtp_port,
        bounce_address=settings.email_bounce_address,
        on_bounce=hook,
    )


@click.command("mail-server")
def mail_server() -> None:
    """Receive the service's e-mails on SMTP_HOST:SMTP_PORT and write them under var/mail/.

    One .eml file per message and var/mail/index.jsonl; mail to the bounce address is parsed
    as a bounce and recorded on its message, as /hooks/bounces does (a hard bounce falls back
    to the next channel). Mail to undeliverable.example is bounced. For development: it
    relays nothing anywhere.
    """
    from forms_service.runtime import lazy_runtime

    settings = ensure_secrets(load_settings())
    server = local_mail_server(settings, lazy_runtime(settings), log=click.echo)
    directory = server.mails.directory
    click.echo(
        f"Local SMTP server on {settings.smtp_host}:{settings.smtp_port}: mail in {directory}"
    )
    server.serve_forever()


@click.command("sms-gateway")
def sms_gateway() -> None:
    """Run a local Kannel (bearerbox, smsbox, fakesmsc) on KANNEL_SENDSMS_URL's port.

    What fakesmsc receives goes to var/sms/fakesmsc.log. Without Kannel installed, says so and
    exits: the service then writes SMS as files (SMS_PROVIDER=file).
    """
    from forms_service.delivery.local_kannel import LocalKannel, kannel_installed
    from forms_service.delivery.providers.kannel import kannel_password

    settings = ensure_secrets(load_settings())
    if not kannel_installed():
        click.echo("Kannel is not installed: SMS are written under var/sms/ as text files")
        return
    port = urllib.parse.urlsplit(settings.kannel_sendsms_url).port or 13013
    log = settings.var_dir / "sms" / "fakesmsc.log"
    kannel = LocalKannel(
        settings.var_dir / "kannel",
        username=settings.kannel_username,
        password=kannel_password(settings),
        sms_log=log,
        sendsms_port=port,
    )
    click.echo(f"Local Kannel: sendsms on port {port}; the SMS it delivers are in {log}")
    kannel.serve_forever()
