"""Outbound messages: renditions per channel, providers, sending, reports and short links.

Letter, e-mail and SMS renditions; providers (SMTP, Kannel, print); sending jobs; delivery
reports and bounces; fallback; reminders; short links. interfaces.py is what the parts agree
on; the flow is described there.
"""
