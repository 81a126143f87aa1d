"""`forms-service mail-server` and `sms-gateway`: the local SMTP server and Kannel of `make run`."""

from __future__ import annotations

import urllib.parse

import click

from forms_service.config import ensure_secrets, load_settings


@click.command("mail-server")
def mail_server() -> None:
    """Receive the service's e-mails on SMTP_HOST:SMTP_PORT and write them under var/mail/.

    One .eml file per message and var/mail/index.jsonl; mail to the bounce address is parsed
    as a bounce too. For development: it relays nothing anywhere.
    """
    from forms_service.delivery.local_mail import LocalMailServer, reporting_bounces

    settings = ensure_secrets(load_settings())
    directory = settings.var_dir / "mail"
    # The report sink: DeliveryService.record_report once delivery/service.py is wired (i13flow).
    hook = reporting_bounces(None, settings.email_bounce_address, log=click.echo)
    server = LocalMailServer(
        directory,
        host=settings.smtp_host,
        port=settings.smtp_port,
        bounce_address=settings.email_bounce_address,
        on_bounce=hook,
    )
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
