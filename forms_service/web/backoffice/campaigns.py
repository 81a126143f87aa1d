"""The closed-loop dashboard: per campaign, form and channel, from issue to applied."""

from __future__ import annotations

import datetime as dt

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from forms_service.accounts.service import Role
from forms_service.delivery import dashboard
from forms_service.delivery.dashboard import STAGES, FunnelRow
from forms_service.storage.service import reading
from forms_service.web.backoffice.auth import role_required
from forms_service.web.backoffice.locale import named, office_locale
from forms_service.web.backoffice.views import blueprint
from forms_service.web.charts import BarChart, bar_chart
from forms_service.web.context import runtime
from forms_service.web.formatting import format_duration, format_number, format_percent

#: Managers read the dashboard (administrators too, as everywhere).
DASHBOARD_READERS = (Role.SUPERVISOR,)
#: Campaign names are at most 64 characters (documents.campaign).
_MAX_NAME = 64


@blueprint.get("/campaigns")
@role_required(*DASHBOARD_READERS)
def campaigns() -> ResponseReturnValue:
    """Every campaign with its documents and answers, newest first."""
    with reading(runtime().sessions) as session:
        summaries = dashboard.campaigns(session)
    return render_template("backoffice/campaigns.html", campaigns=summaries)


@blueprint.get("/campaigns/<name>")
@role_required(*DASHBOARD_READERS)
def campaign(name: str) -> ResponseReturnValue:
    """One campaign's funnel, rates and times, per form and channel, as charts and a table."""
    if len(name) > _MAX_NAME:
        abort(404)
    with reading(runtime().sessions) as session:
        rows = dashboard.funnel(session, campaign=name)
    if not rows:
        abort(404)
    locale = office_locale()
    definitions = runtime().definitions
    forms = sorted({row.form_id for row in rows})
    sections = []
    for form_id in forms:
        form_rows = [row for row in rows if row.form_id == form_id]
        total = dashboard.totals(form_rows)
        title = definitions[form_id].title_in(locale) if form_id in definitions else form_id
        sections.append(
            {
                "form_id": form_id,
                "title": title,
                "rows": form_rows,
                "total": total,
                "charts": _charts(form_rows, total, locale),
            }
        )
    return render_template(
        "backoffice/campaign.html",
        name=name,
        sections=sections,
        stages=STAGES,
        overall=dashboard.totals(rows),
        seconds=_seconds,
        ratio=_ratio,
    )


def _charts(rows: list[FunnelRow], total: FunnelRow, locale: str) -> list[BarChart]:
    channels = [*rows, total] if len(rows) > 1 else rows
    funnel = [
        bar_chart(
            gettext("Funnel, %(channel)s", channel=_channel_name(row.channel)),
            [
                (
                    named("stage", stage),
                    row.stage(stage),
                    _count_and_share(row.stage(stage), row.issued, locale),
                )
                for stage in STAGES
            ],
            scale=row.issued,
            tones=range(len(STAGES)),
        )
        for row in channels
    ]
    rates = bar_chart(
        gettext("Response rate by channel"),
        [
            (
                _channel_name(row.channel),
                row.response_rate or 0.0,
                _ratio(row.response_rate, locale),
            )
            for row in channels
        ],
        scale=1.0,
    )
    straight = bar_chart(
        gettext("Straight-through rate by channel (answers applied with no clerk)"),
        [
            (
                _channel_name(row.channel),
                row.straight_through_rate or 0.0,
                _ratio(row.straight_through_rate, locale),
            )
            for row in channels
        ],
        scale=1.0,
    )
    times_rows = []
    for row in (row for row in channels if row.answered):
        for label, value in (
            (gettext("answer p50"), row.answer_p50),
            (gettext("answer p90"), row.answer_p90),
            (gettext("apply p50"), row.apply_p50),
            (gettext("apply p90"), row.apply_p90),
        ):
            times_rows.append(
                (f"{_channel_name(row.channel)} · {label}", value or 0.0, _seconds(value, locale))
            )
    times = bar_chart(
        gettext("Time to answer and to apply"),
        times_rows,
        tones=[index % 4 for index in range(len(times_rows))],
    )
    return [*funnel, rates, straight, times]


def _channel_name(channel: str) -> str:
    if channel == "all":
        return str(gettext("all channels"))
    return named("outbound", channel)


def _count_and_share(count: int, issued: int, locale: str) -> str:
    number = format_number(count, locale)
    if not issued:
        return number
    return f"{number} ({format_percent(count / issued, locale)})"


def _ratio(value: float | None, locale: str) -> str:
    return "—" if value is None else format_percent(value, locale)


def _seconds(value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    return format_duration(dt.timedelta(seconds=value), locale)
