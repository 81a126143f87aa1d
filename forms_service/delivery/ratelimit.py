"""A per-channel send rate shared by every worker: the next free slot lives in the database.

Each send reserves the channel's next slot (one short transaction: read the row locked, move
it on by 1/rate seconds) and waits for it. Two workers, or twenty, together never send more
than `rate` messages a second on a channel, whatever the broker; no Redis is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from forms_service.storage.messages import SendSchedule


class SendRate:
    """Reserves send slots of a channel at `rate` messages a second (0: no limit)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.sleep = sleep

    def reserve(self, channel: str, rate: float, count: int = 1) -> float:
        """Reserve the channel's next `count` slots; return the first one's time (epoch seconds).

        The others follow it 1/rate apart (a batch reserves its slots in one transaction).
        """
        if rate <= 0:
            return self.now()
        for _ in range(3):
            try:
                with self.sessions() as session, session.begin():
                    row = session.scalars(
                        select(SendSchedule)
                        .where(SendSchedule.channel == channel)
                        .with_for_update()
                    ).one_or_none()
                    # The time once the row is ours: read before, it would be stale by the
                    # wait for the lock, and two sends would leave a slot apart or less.
                    now = self.now()
                    if row is None:
                        row = SendSchedule(channel=channel, next_slot=0.0)
                        session.add(row)
                    # An idle channel does not bank slots: a burst after a pause is not allowed.
                    slot = max(now, row.next_slot)
                    row.next_slot = slot + count / rate
                    return slot
            except IntegrityError:  # two first reservations of a channel at once
                continue
        raise RuntimeError(f"cannot reserve a send slot on {channel}")

    def wait(self, channel: str, rate: float) -> None:
        """Reserve the next slot and sleep until it comes."""
        self.wait_until(self.reserve(channel, rate))

    def wait_until(self, slot: float) -> None:
        """Sleep until a reserved slot comes."""
        delay = slot - self.now()
        if delay > 0:
            self.sleep(delay)
