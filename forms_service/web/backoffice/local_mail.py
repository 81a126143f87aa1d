"""The local mailbox of `make run`: the messages the local SMTP server wrote under var/mail/.

Development mode only (404 in production, where mail goes to a real relay), for admins: the
messages are the customers' e-mails. The HTML part is never rendered here: its text part is
shown, and the whole message is downloadable as .eml for a mail client.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue

from forms_service.accounts.service import Role
from forms_service.delivery.local_mail import MailDirectory
from forms_service.web.backoffice.auth import role_required
from forms_service.web.backoffice.views import blueprint
from forms_service.web.context import runtime


def _mails() -> MailDirectory:
    settings = runtime().settings
    if settings.env != "development":
        abort(404)
    return MailDirectory(settings.var_dir / "mail")


@blueprint.get("/dev/mail")
@role_required(Role.ADMIN)
def local_mail() -> ResponseReturnValue:
    """The messages received, newest first."""
    entries = list(_mails().entries())[::-1][:500]
    return render_template("backoffice/local_mail.html", entries=entries)


@blueprint.get("/dev/mail/<name>")
@role_required(Role.ADMIN)
def local_mail_message(name: str) -> ResponseReturnValue:
    """One message: its headers and text part."""
    try:
        raw = _mails().read(name)
    except KeyError:
        abort(404)
    message = message_from_bytes(raw, policy=default_policy)
    body = message.get_body(("plain",))
    headers = [
        (header, str(message[header]))
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe")
        if message[header] is not None
    ]
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return render_template(
        "backoffice/local_mail_message.html",
        name=name,
        headers=headers,
        subject=str(message["Subject"] or ""),
        text=text,
    )


@blueprint.get("/dev/mail/<name>/raw")
@role_required(Role.ADMIN)
def local_mail_raw(name: str) -> ResponseReturnValue:
    """The message as received, to open in a mail client."""
    try:
        raw = _mails().read(name)
    except KeyError:
        abort(404)
    return Response(
        raw,
        mimetype="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
