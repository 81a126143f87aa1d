"""`consent import`: the CRM's opt-in columns into the ledger, a rerun, disagreements settled."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from forms_service.cli.consent import consent
from forms_service.connectors.interfaces import Selection
from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.consent.ledger import ConsentEntry, Source
from forms_service.runtime import Runtime


def _crm(runtime: Runtime) -> dict[str, Any]:
    crm = runtime.connectors["crm"]
    keys = list(crm.keys("customer", Selection(all=True)))
    return dict(crm.read_many("customer", keys))


def _import(app: Flask, *args: str) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(
        consent, ["import", "--form", "contact-update", "--json", *args]
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def test_import_reads_every_opt_in_column_once_and_settles_disagreements(
    app: Flask, runtime: Runtime
) -> None:
    records = _crm(runtime)
    columns = {"email": "consent_email", "sms": "consent_sms", "letter": "consent_post"}
    filled = sum(1 for r in records.values() for c in columns.values() if r[c] is not None)
    first = _import(app)
    assert first["records"] == len(records) == 40
    assert first["imported"] == filled and first["imported"] + first["blank"] == 120
    keys = [customer_key("crm", "customer", k) for k in records]
    with runtime.sessions() as session:
        states = runtime.consent_ledger.states(session, keys, "commercial", "email")
    for key, record in records.items():
        if record["consent_email"] is not None:
            expected = ConsentState.GRANTED if record["consent_email"] else ConsentState.WITHDRAWN
            assert states[customer_key("crm", "customer", key)] is expected
    # A rerun adds nothing: everything agrees.
    again = _import(app)
    assert (again["imported"], again["agreed"], again["disagreed"]) == (0, filled, 0)

    # The customer withdrew (an unsubscribe): the CRM still says yes until settled.
    key = next(k for k, r in records.items() if r["consent_email"])
    customer = customer_key("crm", "customer", key)
    with runtime.sessions() as session, session.begin():
        runtime.consent_ledger.record(
            session,
            [
                ConsentEntry(
                    customer,
                    "commercial",
                    "email",
                    ConsentState.WITHDRAWN,
                    runtime.clock(),
                    Source.UNSUBSCRIBE,
                )
            ],
        )
    # A customer only the ledger knows (gone from the CRM): kept and counted.
    with runtime.sessions() as session, session.begin():
        runtime.consent_ledger.record(
            session,
            [
                ConsentEntry(
                    customer_key("crm", "customer", "GONE"),
                    "commercial",
                    "email",
                    ConsentState.WITHDRAWN,
                    runtime.clock(),
                    Source.UNSUBSCRIBE,
                    unknown_customer=True,
                )
            ],
        )
    counted = _import(app)
    assert counted["disagreed"] == 1 and counted["not_in_source"] == 1
    assert runtime.connectors["crm"].read("customer", key)["consent_email"] is True  # type: ignore[index]
    settled = _import(app, "--prefer", "ledger")
    assert settled["written_to_source"] == 1
    assert runtime.connectors["crm"].read("customer", key)["consent_email"] is False  # type: ignore[index]
    assert _import(app)["disagreed"] == 0
    unknown = app.test_cli_runner().invoke(consent, ["unknown"])
    assert "1 event(s)" in unknown.output and "crm/customer/GONE" in unknown.output
