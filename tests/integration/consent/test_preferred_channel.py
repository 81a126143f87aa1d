"""Point 2: the preferred channel and the opt-ins come from the source, the form changes them,
and the next campaign plans with the new ones (the ledger records the consent on the way)."""

from __future__ import annotations

from forms_service.connectors.interfaces import Selection
from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.interfaces import Channel, Purpose
from forms_service.runtime import Runtime
from tests.integration.changes_support import issue, submit
from tests.integration.delivery_support import REACHABLE, edit_crm

KEY = "C000009"


def _plan(runtime: Runtime, campaign: str) -> dict[str, int]:
    list(runtime.issuing.issue("contact-update", Selection(keys=(KEY,)), campaign))
    options = CampaignOptions(channels=(Channel.EMAIL, Channel.SMS), purpose=Purpose.COMMERCIAL)
    plan = runtime.delivery.send_campaign(campaign, options, dry_run=True)
    return dict(plan.channels)


def test_a_changed_preference_and_opt_out_steer_the_next_campaign(
    runtime: Runtime, crm_url: str
) -> None:
    edit_crm(crm_url, KEY, **REACHABLE)
    assert _plan(runtime, "before") == {"email": 1}

    # The customer prefers text messages now, and withdraws e-mail: the form applies both.
    document = issue(runtime, "consent-preferences", KEY)
    submit(runtime, document, {"preferred_channel": "sms", "consent_email": False})

    assert _plan(runtime, "after") == {"sms": 1}
    customer = customer_key("crm", "customer", KEY)
    with runtime.sessions() as session:
        email = runtime.consent_ledger.states(session, [customer], "commercial", "email")
    assert email == {customer: ConsentState.WITHDRAWN}
