"""Operations endpoints: liveness, readiness and Prometheus metrics, plus request logging."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from forms_service.runtime import Runtime
from forms_service.web.context import runtime

blueprint = Blueprint("ops", __name__)
log = logging.getLogger("forms_service.requests")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "forms_http_requests_total",
    "HTTP requests",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "forms_http_request_seconds",
    "HTTP request duration",
    ["endpoint"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class StorageCollector(Collector):
    """Gauges read from the database at scrape time: queue depth, outbox lag, dead letters.

    And the scan pages whose job has not run yet, with the age of the oldest: a page whose job
    message was lost shows here until the workers' recovery sweep sends it again.
    """

    def __init__(self, built: Runtime) -> None:
        self.runtime = built

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from forms_service.storage.model import (
            ChangeSet,
            ChangeSetStatus,
            OutboxMessage,
            OutboxStatus,
        )
        from forms_service.storage.scans import PENDING_PAGE_STATUSES, ScanPage

        try:
            with self.runtime.sessions() as session:
                open_sets = session.execute(
                    select(func.count())
                    .select_from(ChangeSet)
                    .where(ChangeSet.status == ChangeSetStatus.OPEN)
                ).scalar_one()
                counts = dict(
                    session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
                oldest = session.execute(
                    select(func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.status == OutboxStatus.PENDING
                    )
                ).scalar_one()
                waiting, oldest_page = session.execute(
                    select(func.count(), func.min(ScanPage.updated_at)).where(
                        ScanPage.status.in_(PENDING_PAGE_STATUSES)
                    )
                ).one()
        except SQLAlchemyError:
            return
        yield GaugeMetricFamily(
            "forms_review_queue_depth", "Change sets waiting for a clerk", value=open_sets
        )
        outbox = GaugeMetricFamily("forms_outbox_messages", "Outbox messages", labels=["status"])
        for status in OutboxStatus:
            outbox.add_metric([status.value], counts.get(status, 0))
        yield outbox
        now = self.runtime.clock().timestamp()
        lag = 0.0 if oldest is None else max(0.0, now - oldest.timestamp())
        yield GaugeMetricFamily(
            "forms_outbox_lag_seconds", "Age of the oldest undelivered outbox message", value=lag
        )
        yield GaugeMetricFamily(
            "forms_outbox_dead_letters",
            "Outbox messages given up on",
            value=counts.get(OutboxStatus.DEAD, 0),
        )
        yield GaugeMetricFamily(
            "forms_mailroom_pages_waiting",
            "Scan pages queued or being read",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "forms_mailroom_oldest_waiting_seconds",
            "Time since the oldest waiting scan page was queued (or sent again)",
            value=0.0 if oldest_page is None else max(0.0, now - _aware(oldest_page)),
        )


class HistoryCollector(Collector):
    """Documents' events per kind and channel, and messages per status and channel.

    Read from the database at scrape time; history rows are only ever added, hence counters.
    """

    def __init__(self, built: Runtime) -> None:
        self.runtime = built

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        from forms_service.delivery.history import event_counts, message_counts

        try:
            with self.runtime.sessions() as session:
                events = event_counts(session)
                messages = message_counts(session)
        except SQLAlchemyError:
            return
        counter = CounterMetricFamily(
            "forms_document_events",
            "Events of documents' histories (issued, sent, delivered, opened, submitted...)",
            labels=["kind", "channel"],
        )
        for (kind, channel), count in sorted(events.items()):
            counter.add_metric([kind, channel], count)
        yield counter
        gauge = GaugeMetricFamily(
            "forms_delivery_messages", "Outbound messages by status", labels=["status", "channel"]
        )
        for (status, channel), count in sorted(messages.items()):
            gauge.add_metric([status, channel], count)
        yield gauge


def _aware(moment: Any) -> float:
    """POSIX time of a stored moment (SQLite gives naive UTC datetimes back)."""
    import datetime as dt

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return float(moment.timestamp())


def install(app: Flask) -> None:
    """Register the blueprint, the collectors and the per-request timing and logging."""
    app.register_blueprint(blueprint)
    app.extensions["forms_metrics"] = _registry_for(app.extensions["forms_service"])

    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    # First of the hooks: a request refused by an earlier one (CSRF, a NUL character) is
    # still timed, counted and logged.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.after_request
    def _observe(response: Any) -> Any:
        started = g.pop("request_started", None)
        if started is None:
            return response
        elapsed = time.perf_counter() - started
        # The rule, never the path: paths carry link tokens.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        duration_ms = round(elapsed * 1000, 1)
        log.info(
            "%s %s %s %sms",
            request.method,
            endpoint,
            response.status_code,
            duration_ms,
            extra={
                "endpoint": endpoint,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response


def _registry_for(built: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StorageCollector(built))
    registry.register(HistoryCollector(built))
    return registry


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: the database answers and the definitions are loaded."""
    built = runtime()
    checks: dict[str, str] = {}
    try:
        with built.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unavailable"
    checks["definitions"] = f"{len(built.definitions)} loaded"
    ready = checks["database"] == "ok" and len(built.definitions) > 0
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


@blueprint.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics, for the loopback or a bearer of METRICS_TOKEN only."""
    expected = runtime().settings.metrics_token
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return {
                "status": 401,
                "code": "unauthorized",
                "field": None,
                "reason": "metrics need 'Authorization: Bearer <METRICS_TOKEN>'",
            }, 401
    elif request.remote_addr not in ("127.0.0.1", "::1"):
        return {
            "status": 403,
            "code": "forbidden",
            "field": None,
            "reason": "metrics are served to the loopback only unless METRICS_TOKEN is set",
        }, 403
    body = generate_latest(REGISTRY) + generate_latest(current_app.extensions["forms_metrics"])
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
