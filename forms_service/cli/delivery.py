"""`forms-service send` (a campaign's messages) and `forms-service delivery` (sweep, letters)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from forms_service.cli.context import app_runtime
from forms_service.delivery.campaigns import CampaignOptions, parse_channels, parse_reminders
from forms_service.delivery.interfaces import Channel, Purpose
from forms_service.delivery.model import GATE_COLUMNS, SendPlan
from forms_service.delivery.reminders import DeliverySweep


@click.command("send")
@click.option("--campaign", required=True, help="The campaign whose documents are sent.")
@click.option(
    "--channels",
    help="Channels that may be used, in order (default email,sms,letter).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Use --channels in that order, ignoring the records' preferred channel.",
)
@click.option("--remind", help="Reminders after these days, e.g. 7,21.")
@click.option(
    "--remind-channel",
    type=click.Choice(["same", "next"]),
    default="same",
    show_default=True,
    help="Reminders on the last message's channel, or on the next usable one.",
)
@click.option(
    "--purpose",
    type=click.Choice([p.value for p in Purpose]),
    default=Purpose.SERVICE.value,
    show_default=True,
)
@click.option("--dry-run", is_flag=True, help="Count what would go on each channel; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_appcontext
def send(
    campaign: str,
    channels: str | None,
    force: bool,
    remind: str | None,
    remind_channel: str,
    purpose: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send a campaign's documents by e-mail, SMS or letter (a rerun resumes)."""
    runtime = app_runtime()
    options = CampaignOptions(
        channels=parse_channels(channels),
        force=force,
        purpose=Purpose(purpose),
        reminders=parse_reminders(remind),
        remind_channel=remind_channel,
    )
    delivery = runtime.delivery
    total = delivery.count_documents(campaign)
    with tqdm(total=total, unit="doc", desc=f"send {campaign}", disable=as_json) as bar:
        plan = delivery.send_campaign(campaign, options, dry_run=dry_run, progress=bar.update)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2))
        return
    click.echo(describe(plan))


def describe(plan: SendPlan) -> str:
    """The plan as lines a person reads: per channel, then why the others cannot be reached."""
    verb = "would go" if plan.dry_run else "queued"
    lines = [f"campaign {plan.campaign!r}: {plan.documents} documents"]
    for channel in Channel:
        lines.append(f"  {channel.value}: {plan.channels.get(channel.value, 0)} {verb}")
    unreachable = sum(plan.unreachable.values())
    lines.append(f"  unreachable: {unreachable}")
    for reason, count in plan.unreachable.most_common():
        lines.append(f"    {reason}: {count}")
    if plan.skipped:
        lines.append("  channels passed over for the next one:")
        for reason, count in plan.skipped.most_common():
            lines.append(f"    {reason}: {count}")
    lines.extend(describe_gate(plan))
    lines.append(f"  already sent: {plan.already}; answered, expired or revoked: {plan.closed}")
    if plan.dry_run:
        lines.append("dry run: nothing was sent or written")
    return "\n".join(lines)


#: The gate's columns as a person reads them.
_GATE_LABELS = {
    "selected": "selected",
    "sendable_now": "sendable now",
    "deferred": "deferred by a cap or the calendar",
    "capacity": "deferred by capacity",
    "suppressed_consent": "suppressed by consent",
    "suppressed_cap": "suppressed by a cap",
    "unreachable": "unreachable",
}


def describe_gate(plan: SendPlan) -> list[str]:
    """The consent gate's table: per channel, where each selected document goes."""
    if not plan.gate:
        return []
    lines = ["  contact rules and consent, per channel:"]
    for channel in Channel:
        row = plan.gate.get(channel.value)
        if not row:
            continue
        figures = ", ".join(f"{_GATE_LABELS[c]} {row.get(c, 0)}" for c in GATE_COLUMNS)
        lines.append(f"    {channel.value}: {figures}")
        if channel.value in plan.deferred_until:
            first, last = plan.deferred_until[channel.value]
            lines.append(
                f"      deferred until {first.isoformat(timespec='minutes')}"
                + (f" ... {last.isoformat(timespec='minutes')}" if last != first else "")
            )
    for reason, count in plan.decisions.most_common():
        lines.append(f"    {reason}: {count}")
    return lines


@click.group("delivery")
def delivery() -> None:
    """Follow sent messages: the sweep, letters handed to the printer, unknown outcomes."""


@delivery.command("sweep")
@with_appcontext
def sweep() -> None:
    """One round of the workers' sweep now: retries due, stalled sends, reminders due."""
    counts = DeliverySweep(app_runtime().delivery).run()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do")


@delivery.command("mark-printed")
@click.option("--campaign", help="Only the letters of this campaign (default: every queued one).")
@click.option(
    "--out",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the print files go (default var/print/); a folder per day.",
)
@with_appcontext
def mark_printed(campaign: str | None, directory: Path | None) -> None:
    """Write the queued letters into today's print files; record each handed to the printer."""
    from forms_service.delivery.letters import LetterPrints

    runtime = app_runtime()
    prints = LetterPrints(
        runtime.sessions,
        runtime.printer,
        directory or runtime.settings.var_dir / "print",
        clock=runtime.clock,
        delivery=runtime.delivery,
    )
    run = prints.print_queued(campaign, actor="cli")
    for path in run.files:
        click.echo(f"print file: {path}")
    if run.recovered:
        click.echo(f"{run.recovered} letter(s) already in today's files, recorded now")
    click.echo(f"{run.printed + run.recovered} letter(s) recorded as handed to the printer")


@delivery.command("resolve")
@click.argument("message_id")
@click.option(
    "--sent/--not-sent",
    required=True,
    help="What the provider's log says of a message whose outcome is unknown.",
)
@with_appcontext
def resolve(message_id: str, sent: bool) -> None:
    """Settle a message left `unknown`: sent (recorded) or not sent (queued again)."""
    outcome = app_runtime().delivery.resolve_unknown(message_id, sent=sent, actor="cli")
    click.echo(outcome)
