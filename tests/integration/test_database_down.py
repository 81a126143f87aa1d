"""The service database unreachable: every kind of page answers a clean 503, never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_pages_and_api_answer_503_while_the_database_is_unreachable(
    app: Flask, runtime: Runtime
) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000005",)), "d")
    link = "/f/" + issued.link.rsplit("/f/", 1)[1]
    gone = create_engine("sqlite:////nonexistent-dir/forms.sqlite")
    runtime.sessions.configure(bind=gone)
    client = app.test_client()

    page = client.get(link)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "Nos systèmes ne répondent pas" in page.text.replace("&#39;", "'")
    # The language switch links to the same address; what the page says names no document.
    assert issued.document_id not in page.text.split("<main", 1)[1].split("</main>", 1)[0]

    api = client.get("/api/v1/change-sets", headers={"Authorization": "Bearer fst_whatever"})
    assert api.status_code == 503
    assert api.json == {
        "status": 503,
        "code": "unavailable",
        "field": None,
        "reason": "the service database is not answering; try again shortly",
    }

    runtime.sessions.configure(bind=runtime.engine)  # back: the same app serves again
    assert client.get(link).status_code == 200
