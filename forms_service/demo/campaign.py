"""The demo's campaign sent on every channel: an e-mail, an SMS, and a bounce that falls back.

`demo init` issues the demo documents (campaign "demo") to the first three customers and gives
them contact details that show each channel: C000001 prefers e-mail, C000002 SMS, and
C000003's e-mail address is at undeliverable.example, which the local mail server bounces
(delivery/local_mail.py), so that its documents fall back to SMS. `demo send` (run by `make
run` once the local mail server and SMS gateway are started) waits until they answer, then
queues the campaign: the job worker sends it, as it would any campaign.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from sqlalchemy import MetaData, update

from forms_service.config import Settings
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.local_mail import UNDELIVERABLE_DOMAIN
from forms_service.delivery.model import SendPlan
from forms_service.demo.service import customers_table
from forms_service.runtime import Runtime
from forms_service.storage.service import make_engine

DEMO_CAMPAIGN = "demo"
_EVERY_CHANNEL = {"consent_email": True, "consent_sms": True, "consent_post": True}
#: The demo customers' contact details, set by `demo init` (key -> columns).
DEMO_CONTACTS: Mapping[str, Mapping[str, Any]] = {
    "C000001": {**_EVERY_CHANNEL, "preferred_channel": "email"},
    "C000002": {**_EVERY_CHANNEL, "preferred_channel": "sms"},
    # Its e-mail is bounced by the local mail server: the documents fall back to SMS.
    "C000003": {**_EVERY_CHANNEL, "preferred_channel": "email", "email": UNDELIVERABLE_DOMAIN},
}


def prepare_demo_contacts(crm_url: str) -> None:
    """Give the demo customers of the campaign the contact details of DEMO_CONTACTS.

    The undeliverable customer keeps the local part of their address, at undeliverable.example.
    """
    engine = make_engine(crm_url)
    table = customers_table(MetaData())
    with engine.begin() as connection:
        for key, values in DEMO_CONTACTS.items():
            changed = dict(values)
            if changed.get("email") == UNDELIVERABLE_DOMAIN:
                current = connection.execute(
                    table.select().where(table.c.customer_no == key)
                ).first()
                local = str(current.email).partition("@")[0] if current and current.email else key
                changed["email"] = f"{local.lower()}@{UNDELIVERABLE_DOMAIN}"
            connection.execute(update(table).where(table.c.customer_no == key).values(**changed))
    engine.dispose()


def local_servers(settings: Settings) -> dict[str, tuple[str, int]]:
    """The local servers the demo's messages go to: name -> (host, port)."""
    servers = {}
    if settings.email_provider == "smtp":
        servers["mail server"] = (settings.smtp_host, settings.smtp_port)
    if settings.sms_provider == "kannel":
        url = urllib.parse.urlsplit(settings.kannel_sendsms_url)
        servers["SMS gateway"] = (url.hostname or "127.0.0.1", url.port or 13013)
    return servers


def wait_for_servers(settings: Settings, timeout: float) -> list[str]:
    """Wait until every local server accepts connections; the names of those that did not."""
    waiting = local_servers(settings)
    deadline = time.monotonic() + timeout
    while waiting:
        for name, address in list(waiting.items()):
            try:
                socket.create_connection(address, timeout=1.0).close()
            except OSError:
                continue
            del waiting[name]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return sorted(waiting)


def send_demo_campaign(runtime: Runtime) -> SendPlan:
    """Queue the demo campaign's messages (a rerun queues nothing twice): the worker sends."""
    return runtime.delivery.send_campaign(DEMO_CAMPAIGN, CampaignOptions())


def where_to_read(settings: Settings) -> list[str]:
    """Where a newcomer reads what the demo sent (lines to print)."""
    var = settings.var_dir
    lines = [f"E-mails: {settings.base_url}/backoffice/dev/mail (user admin), {var}/mail/*.eml"]
    if settings.sms_provider == "kannel":
        lines.append(f"SMS: {var}/sms/fakesmsc.log (what the local Kannel's test SMSC received)")
    else:
        lines.append(f"SMS: {var}/sms/*.txt (one file per SMS)")
    return lines
