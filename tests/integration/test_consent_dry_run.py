"""`forms-service send --dry-run` and the API print the gate's table, with the shipped rules.

The shipped rules (form_definitions/consent/contact_rules.yaml) allow no commercial SMS on a
Sunday: a dry run on Sunday 13 December 2026 shows every SMS deferred to Monday 08:00.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms_service.cli.delivery import send
from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.integration.delivery_support import REACHABLE, edit_crm
from tests.integration.reviewing import add_token

PARIS = dt.timezone(dt.timedelta(hours=1))
SUNDAY = dt.datetime(2026, 12, 13, 11, 0, tzinfo=PARIS).astimezone(dt.UTC)
KEYS = [f"C{n:06d}" for n in range(1, 6)]
ARGS = ["--campaign", "spring", "--dry-run", "--purpose", "commercial", "--channels", "sms,email"]


@pytest.fixture
def campaign(runtime: Runtime, crm_url: str) -> None:
    for key in KEYS:
        edit_crm(crm_url, key, **{**REACHABLE, "preferred_channel": "sms"})
    edit_crm(crm_url, KEYS[3], consent_sms=False, consent_email=False)
    edit_crm(crm_url, KEYS[4], phone=None, email=None)
    list(runtime.issuing.issue("contact-update", Selection(keys=tuple(KEYS)), "spring"))
    runtime.delivery.clock = lambda: SUNDAY


def test_the_dry_run_prints_per_channel_what_the_rules_do(app: Flask, campaign: None) -> None:
    result = app.test_cli_runner().invoke(send, ARGS)
    assert result.exit_code == 0, result.output
    assert (
        "    sms: selected 5, sendable now 0, deferred by a cap or the calendar 3, deferred by "
        "capacity 0, suppressed by consent 1, suppressed by a cap 0, unreachable 1"
    ) in result.output
    assert "      deferred until 2026-12-14T07:00+00:00\n" in result.output
    assert "    quiet_hours: commercial-sms-hours: 3" in result.output


def test_the_api_gives_the_same_table(
    client: FlaskClient, runtime: Runtime, campaign: None
) -> None:
    token = add_token(runtime, "crm", ["integration"])
    body: dict[str, Any] = client.post(
        "/api/v1/campaigns/spring/send",
        json={"dry_run": True, "purpose": "commercial", "channels": ["sms", "email"]},
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert body["gate"]["sms"] == {
        "selected": 5,
        "sendable_now": 0,
        "deferred": 3,
        "capacity": 0,
        "suppressed_consent": 1,
        "suppressed_cap": 0,
        "unreachable": 1,
    }
    assert body["deferred_until"]["sms"]["first"] == "2026-12-14T07:00:00+00:00"
    assert body["decisions"] == {"quiet_hours: commercial-sms-hours": 3}
