"""Bounces and Kannel DLRs parsed into DeliveryReports, on samples written like real MTAs' mail.

The samples are written for these tests after the shapes Postfix, Exim, Gmail and feedback
loops (ARF, RFC 5965) produce; the addresses are example.com ones.
"""

from __future__ import annotations

import datetime as dt

import pytest

from forms_service.delivery.interfaces import Channel, ForgedReport, ReportStatus
from forms_service.delivery.reports import (
    UnreadableReport,
    kannel_dlr_url,
    parse_bounce,
    parse_kannel_dlr,
)

OURS = "<m42.0123456789abcdef@mutuelle.example.org>"

POSTFIX_DSN = b"""\
Return-Path: <>
Delivered-To: bounces+m42@bounce.example.org
Date: Mon,  7 Dec 2026 10:12:01 +0100 (CET)
From: MAILER-DAEMON@mx1.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces+m42@bounce.example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4B1C23E0F.1765098721/mx1.example.com"
Message-Id: <20261207091201.5A2B23E0F@mx1.example.com>

This is a MIME-encapsulated message.

--4B1C23E0F.1765098721/mx1.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<claire.martin@example.com>: host mx2.example.com[192.0.2.7] said: 550 5.1.1
    <claire.martin@example.com>: Recipient address rejected: User unknown

--4B1C23E0F.1765098721/mx1.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.com
X-Postfix-Queue-ID: 4B1C23E0F
Arrival-Date: Mon,  7 Dec 2026 10:11:58 +0100 (CET)

Final-Recipient: rfc822; claire.martin@example.com
Original-Recipient: rfc822;claire.martin@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx2.example.com
Diagnostic-Code: smtp; 550 5.1.1 <claire.martin@example.com>: Recipient address
    rejected: User unknown

--4B1C23E0F.1765098721/mx1.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces+m42@bounce.example.org>
From: Mutuelle Exemple <service@mutuelle.example.org>
To: claire.martin@example.com
Subject: =?utf-8?q?Votre_formulaire_=C3=A0_confirmer?=
Message-ID: <m42.0123456789abcdef@mutuelle.example.org>

--4B1C23E0F.1765098721/mx1.example.com--
"""

POSTFIX_DELAYED = POSTFIX_DSN.replace(
    b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1"
)

EXIM_FREE_FORM = b"""\
Return-path: <>
Envelope-to: bounces+m77@bounce.example.org
From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: bounces+m77@bounce.example.org
Subject: Mail delivery failed: returning message to sender
Date: Mon, 07 Dec 2026 09:30:00 +0000
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  jean.dupont@example.net
    host mx.example.net [198.51.100.4]
    SMTP error from remote mail server after RCPT TO:<jean.dupont@example.net>:
    550 No such user here

------ This is a copy of the message, including all the headers. ------

Return-path: <bounces+m77@bounce.example.org>
Message-ID: <m77.fedcba9876543210@mutuelle.example.org>
From: Mutuelle Exemple <service@mutuelle.example.org>
Subject: Votre formulaire
"""

EXIM_RETRYING = b"""\
From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: bounces+m78@bounce.example.org
Subject: Warning: message 1vAbCd-0001xY-Ab delayed 24 hours
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mail.example.net.

The message identifier is:     1vAbCd-0001xY-Ab
The address to which the message has not yet been delivered is:

  jean.dupont@example.net
    Delay reason: mailbox is full

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""

# Gmail answers with a DSN whose envelope recipient is the VERP address and whose original
# message is attached whole (message/rfc822); no VERP in the To: here, only the quoted id.
GMAIL_LIKE = b"""\
Delivered-To: bounces@bounce.example.org
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: bounces@bounce.example.org
Subject: Delivery Status Notification (Failure)
Date: Mon, 07 Dec 2026 01:02:03 -0800
References: <m91.00aa11bb22cc33dd@mutuelle.example.org>
In-Reply-To: <m91.00aa11bb22cc33dd@mutuelle.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000gmail"; report-type=delivery-status

--000000000000gmail
Content-Type: multipart/related; boundary="000000000000inner"

--000000000000inner
Content-Type: multipart/alternative; boundary="000000000000alt"

--000000000000alt
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to someone@example.com because the address couldn't be
found, or is unable to receive mail.

The response was:

The email account that you tried to reach does not exist.

--000000000000alt--
--000000000000inner--
--000000000000gmail
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; relay.mutuelle.example.org
Arrival-Date: Mon, 07 Dec 2026 01:02:02 -0800 (PST)

Final-Recipient: rfc822; someone@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; The email account that you tried to reach does not exist.
Last-Attempt-Date: Mon, 07 Dec 2026 01:02:03 -0800 (PST)

--000000000000gmail
Content-Type: message/rfc822

Message-ID: <m91.00aa11bb22cc33dd@mutuelle.example.org>
From: Mutuelle Exemple <service@mutuelle.example.org>
To: someone@example.com
Subject: Votre formulaire

Bonjour
--000000000000gmail--
"""

ARF_COMPLAINT = b"""\
From: <staff@feedback.example.com>
Date: Mon, 07 Dec 2026 12:00:00 +0000
Subject: FW: Votre formulaire
To: <abuse@mutuelle.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
203.0.113.9 on Mon, 07 Dec 2026 11:58:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <bounces+m55@bounce.example.org>
Arrival-Date: Mon, 07 Dec 2026 11:58:00 +0000
Source-IP: 203.0.113.9
Reported-Domain: mutuelle.example.org

--part1_13d.2e68ed54_boundary
Content-Type: text/rfc822-headers

Return-Path: <bounces+m55@bounce.example.org>
From: Mutuelle Exemple <service@mutuelle.example.org>
Message-ID: <m55.5555aaaa5555aaaa@mutuelle.example.org>
Subject: Votre formulaire

--part1_13d.2e68ed54_boundary--
"""

VACATION_REPLY = b"""\
From: Claire Martin <claire.martin@example.com>
To: bounces+m42@bounce.example.org
Subject: Absence du bureau
Auto-Submitted: auto-replied
In-Reply-To: <m42.0123456789abcdef@mutuelle.example.org>

Je suis absente jusqu'au 4 janvier.
"""


def test_a_postfix_dsn_is_a_hard_bounce_found_by_verp() -> None:
    report = parse_bounce(POSTFIX_DSN)
    assert report is not None
    assert (report.message_id, report.channel, report.status, report.code) == (
        "m42",
        Channel.EMAIL,
        ReportStatus.HARD_BOUNCE,
        "5.1.1",
    )
    assert report.detail == {
        "found_by": "verp",
        "quoted_message_id": OURS,
        "action": "failed",
        "smtp_code": "550",
    }
    assert report.at == dt.datetime(2026, 12, 7, 9, 12, 1, tzinfo=dt.UTC)
    assert "claire" not in repr(report)  # no personal data


def test_a_delayed_dsn_is_a_soft_bounce() -> None:
    report = parse_bounce(POSTFIX_DELAYED)
    assert report is not None
    assert (report.status, report.code) == (ReportStatus.SOFT_BOUNCE, "4.4.1")


def test_the_envelope_recipient_wins_over_the_headers() -> None:
    report = parse_bounce(POSTFIX_DSN, envelope_recipients=["bounces+m43@bounce.example.org"])
    assert report is not None and report.message_id == "m43"


def test_an_exim_free_form_bounce_is_a_hard_bounce() -> None:
    report = parse_bounce(EXIM_FREE_FORM)
    assert report is not None
    assert (report.message_id, report.status, report.code) == (
        "m77",
        ReportStatus.HARD_BOUNCE,
        "550",
    )
    assert report.detail["quoted_message_id"] == "<m77.fedcba9876543210@mutuelle.example.org>"


def test_an_exim_delay_warning_is_a_soft_bounce() -> None:
    report = parse_bounce(EXIM_RETRYING)
    assert report is not None
    assert (report.message_id, report.status) == ("m78", ReportStatus.SOFT_BOUNCE)


def test_a_gmail_like_dsn_is_found_by_the_message_id_it_quotes() -> None:
    report = parse_bounce(GMAIL_LIKE)
    assert report is not None
    assert (report.message_id, report.status, report.code) == (
        "m91",
        ReportStatus.HARD_BOUNCE,
        "5.1.1",
    )
    assert report.detail["found_by"] == "message-id"
    assert report.detail["quoted_message_id"] == "<m91.00aa11bb22cc33dd@mutuelle.example.org>"


def test_an_arf_report_is_a_complaint() -> None:
    report = parse_bounce(ARF_COMPLAINT)
    assert report is not None
    assert (report.message_id, report.status, report.code) == (
        "m55",
        ReportStatus.COMPLAINT,
        "abuse",
    )


def test_mail_that_is_no_bounce_gives_no_report() -> None:
    assert parse_bounce(VACATION_REPLY) is None
    assert parse_bounce(b"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n") is None
    # A bounce about a message that is not ours (no VERP, no Message-ID of ours).
    foreign = POSTFIX_DSN.replace(b"bounces+m42", b"someone").replace(
        b"<m42.0123456789abcdef@", b"<20261207.ABC@"
    )
    assert parse_bounce(foreign) is None
    assert parse_bounce(b"") is None
    assert parse_bounce(b"\xff\xfe garbage \x00") is None


SECRET = b"a-test-secret-of-thirty-two-bytes!!"


def _callback(url: str, dlr_type: int, at: int = 1_765_100_000) -> dict[str, str]:
    """What Kannel calls: the URL with %d and %T filled in, as query parameters."""
    from urllib.parse import parse_qsl, urlsplit

    filled = url.replace("%d", str(dlr_type)).replace("%T", str(at))
    return dict(parse_qsl(urlsplit(filled).query))


@pytest.mark.parametrize(
    ("dlr_type", "status"),
    [
        (1, ReportStatus.DELIVERED),
        (2, ReportStatus.HARD_BOUNCE),
        (4, ReportStatus.ACCEPTED),
        (8, ReportStatus.ACCEPTED),
        (16, ReportStatus.HARD_BOUNCE),
    ],
)
def test_kannel_dlr_types(dlr_type: int, status: ReportStatus) -> None:
    url = kannel_dlr_url("https://forms.example.org/hooks/kannel/dlr", "m7", SECRET)
    report = parse_kannel_dlr(_callback(url, dlr_type), SECRET)
    assert (report.message_id, report.channel, report.status, report.code) == (
        "m7",
        Channel.SMS,
        status,
        str(dlr_type),
    )
    assert report.at == dt.datetime.fromtimestamp(1_765_100_000, dt.UTC)


def test_a_forged_or_unsigned_dlr_is_refused() -> None:
    url = kannel_dlr_url("https://forms.example.org/hooks/kannel/dlr", "m7", SECRET)
    params = _callback(url, 1)
    with pytest.raises(ForgedReport):
        parse_kannel_dlr(params, b"another-secret-another-secret-xx")
    with pytest.raises(ForgedReport):
        parse_kannel_dlr({**params, "m": "m8"}, SECRET)  # a signature of m7 for m8
    with pytest.raises(ForgedReport):
        parse_kannel_dlr({k: v for k, v in params.items() if k != "s"}, SECRET)
    with pytest.raises(ForgedReport):
        parse_kannel_dlr({}, SECRET)
    with pytest.raises(UnreadableReport):
        parse_kannel_dlr({**params, "type": "3"}, SECRET)


def test_a_dlr_url_refuses_ids_that_would_need_quoting() -> None:
    for bad in ("m 7", "m%41", "m&s=x", "", "é"):
        with pytest.raises(ValueError):
            kannel_dlr_url("https://forms.example.org/dlr", bad, SECRET)
    with pytest.raises(ValueError):
        kannel_dlr_url("https://forms.example.org/dlr%20x", "m7", SECRET)
