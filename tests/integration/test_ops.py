"""Health, readiness and metrics endpoints, and token-free request logs."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json is not None and ready.json["checks"]["database"] == "ok"


def test_readiness_fails_when_the_database_is_gone(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.url.get_backend_name() == "postgresql":
        broken = runtime.engine.url.set(host="127.0.0.1", port=1)
    else:
        broken = runtime.engine.url.set(database="/nonexistent-dir/forms.sqlite")
    monkeypatch.setattr(runtime, "engine", create_engine(broken))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None and response.json["checks"]["database"] == "unavailable"


def test_metrics_count_requests_by_rule_not_path(client: FlaskClient, runtime: Runtime) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000002",)), "m")
    path = issued.link.removeprefix("http://localhost")
    assert client.get(path).status_code == 200
    body = client.get("/metrics").text
    assert 'endpoint="/f/<token>"' in body
    assert path.split("/")[-1] not in body
    assert "forms_review_queue_depth" in body
    assert "forms_outbox_dead_letters" in body


def test_metrics_refused_to_remote_clients(client: FlaskClient) -> None:
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403


def test_request_log_has_no_token(
    client: FlaskClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000003",)), "l")
    token = issued.link.rsplit("/", 1)[-1]
    with caplog.at_level(logging.INFO, logger="forms_service.requests"):
        client.get(f"/f/{token}")
    records = [r for r in caplog.records if r.name == "forms_service.requests"]
    assert records and all(token not in r.getMessage() for r in records)
    assert any(getattr(r, "endpoint", None) == "/f/<token>" for r in records)


def test_requests_refused_before_the_view_are_counted_and_logged(
    client: FlaskClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # Regression: the timer ran after Flask-WTF's CSRF check, so a refused POST (or a NUL
    # character) had no request log line and no metric.
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000004",)), "l")
    path = issued.link.removeprefix("http://localhost")
    with caplog.at_level(logging.INFO, logger="forms_service.requests"):
        assert client.post(path, data={"consent_email": "y"}).status_code == 400
        assert client.get(path + "?lang=%00").status_code == 422
    records = [r for r in caplog.records if r.name == "forms_service.requests"]
    assert [(r.method, r.endpoint, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("POST", "/f/<token>", 400),
        ("GET", "/f/<token>", 422),
    ]
    assert all(isinstance(r.duration_ms, float) for r in records)  # type: ignore[attr-defined]
    body = client.get("/metrics").text
    assert 'forms_http_requests_total{endpoint="/f/<token>",method="POST",status="400"}' in body
