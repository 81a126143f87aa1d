"""`make prod-local` for real: gunicorn, job worker and outbox on PostgreSQL and Redis, in
production mode behind a (simulated) TLS proxy; one answer goes issue -> answer -> review -> apply
through HTTP only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.prod_stack import PUBLIC_ORIGIN, crm_record, prod_local

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _change_set_of(
    api: requests.Session, base: str, token: str, document_id: str
) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = api.get(
            f"{base}/api/v1/change-sets",
            params={"form": "contact-update", "status": "open"},
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"},
            timeout=30,
        )
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            if item["document_id"] == document_id:
                return dict(item)
        time.sleep(0.5)
    raise AssertionError(f"no change set for document {document_id}")


def test_issue_answer_review_apply_through_the_production_stack(tmp_path: Path) -> None:
    with prod_local(tmp_path, admin_url=POSTGRES_URL, redis_url=REDIS_URL) as stack:
        credentials = stack.credentials()
        customer = stack.client("198.51.100.20")
        key = "C000042"
        before = crm_record(stack, key)

        # Issue through the API: the link is on the public https origin, no personal data in it.
        (document,) = customer.issue(credentials["api_token"], "contact-update", [key], "pl")
        link = document["link"]
        assert link.startswith(f"{PUBLIC_ORIGIN}/f/")
        assert key not in link and before["last_name"] not in link

        # Answer online: identity question, then the prefilled form, each POST with its token.
        challenge = customer.pass_challenge(link, before["birth_date"])
        assert challenge.status_code == 303, challenge.text[:500]
        cookie = challenge.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        page = customer.get(link)
        assert page.status_code == 200
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert before["city"] in page.text
        submitted = customer.submit_contact(
            link, before, address_line="12 rue des Lilas", postcode="69003", city="Lyon"
        )
        assert submitted.status_code == 303, submitted.text[:500]
        done = customer.get(submitted.headers["Location"])
        assert done.status_code == 200 and "Lyon" in done.text
        assert crm_record(stack, key)["city"] == before["city"]  # nothing applied before review

        # A POST without its CSRF token is refused with a clear page.
        forged = customer.post(link, referer=link, data={"city": "Paris"})
        assert forged.status_code == 400 and "Rechargez" in forged.text

        # Review: a clerk signs in to the back office and approves the change set.
        change_set = _change_set_of(
            customer.http, stack.url, credentials["api_token"], document["document_id"]
        )
        clerk = stack.client("198.51.100.30")
        signed = clerk.sign_in(credentials["clerk_user"], credentials["clerk_password"])
        assert signed.status_code == 303, signed.text[:500]
        assert "Secure" in signed.headers["Set-Cookie"]
        approved = clerk.approve(str(change_set["id"]))
        assert approved.status_code == 303, approved.text[:800]

        # Apply: the demo CRM holds the new address, and the change set says so.
        deadline = time.monotonic() + 30
        after = crm_record(stack, key)
        while after["city"] != "Lyon" and time.monotonic() < deadline:
            time.sleep(0.5)
            after = crm_record(stack, key)
        assert (after["address_line"], after["postcode"], after["city"]) == (
            "12 rue des Lilas",
            "69003",
            "Lyon",
        )
        assert after["email"] == before["email"]
        detail = customer.get(
            f"/api/v1/change-sets/{change_set['id']}",
            headers={"Authorization": f"Bearer {credentials['api_token']}"},
        )
        assert detail.status_code == 200
        assert detail.json()["status"] == "applied"
        # Every process of the stack is still running: nothing crashed on the way.
        assert stack.process.poll() is None
        assert stack.job_worker() > 0 and len(stack.gunicorn_workers()) == 2
