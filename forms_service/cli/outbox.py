"""`forms-service outbox …`: write approved changes back to the source systems."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime


@click.group()
def outbox() -> None:
    """Write approved changes back to the source systems."""


def _counts_line(counts: dict[str, int]) -> str:
    if not counts:
        return "nothing due"
    return ", ".join(f"{count} {what}" for what, count in sorted(counts.items()))


@outbox.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", default=5.0, show_default=True, help="Seconds to wait when idle.")
@with_appcontext
def outbox_run(once: bool, poll: float) -> None:
    """Deliver due outbox messages (and propose answers left without a change set)."""
    import signal
    import time

    from sqlalchemy.exc import InterfaceError, OperationalError

    from forms_service.changes.tasks import deliver_due_messages

    runtime = app_runtime()
    stopping: list[int] = []
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, _frame: stopping.append(number))
    while True:
        try:
            counts = deliver_due_messages(runtime)
            dead = runtime.outbox.dead_letters()
        except (OperationalError, InterfaceError) as exc:
            # The service database is down or restarting: wait, the pool reconnects.
            if once:
                raise
            click.echo(f"outbox: database unavailable ({type(exc).__name__}), retrying", err=True)
            time.sleep(poll)
            continue
        if counts or once:
            click.echo(f"outbox: {_counts_line(counts)}")
        if dead and (once or counts.get("dead")):
            click.echo(
                f"alert: {len(dead)} dead letter(s), message ids "
                f"{', '.join(map(str, dead[:20]))}: repair the source, then "
                "`forms-service outbox requeue ID`",
                err=True,
            )
        if once or stopping:
            return
        if not counts:
            time.sleep(poll)


@outbox.command("requeue")
@click.argument("message_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Who sends it again.")
@with_appcontext
def outbox_requeue(message_id: int, actor: str) -> None:
    """Send a dead-lettered message again."""
    app_runtime().outbox.requeue(message_id, actor=actor)
    click.echo(f"message {message_id} queued again")
