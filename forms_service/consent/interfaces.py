"""What the consent parts and delivery agree on: customer keys, consent states, the gate.

Channels and purposes are the plain strings of `delivery.interfaces.Channel` and `Purpose`
("email", "sms", "letter"; "service", "regulatory", "commercial"): consent sits below delivery
in the layers and does not import it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

#: The purposes a consent or a message can have (service messages need no consent).
PURPOSES = ("service", "regulatory", "commercial")
#: The channels a consent can be given for.
CHANNELS = ("email", "sms", "letter")


def customer_key(connector: str, record_type: str, record_key: str) -> str:
    """The one name of a customer across forms and campaigns: their source record.

    Two forms reading the same record of the same connector share the customer's consents
    and contact pressure.
    """
    return f"{connector}/{record_type}/{record_key}"


class ConsentState(StrEnum):
    """The current state of one (customer, purpose, channel)."""

    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class ConsentView(Protocol):
    """The ledger's current state, read in bulk by the gate (a campaign batch at a time)."""

    def states(
        self, session: Session, customers: Collection[str], purpose: str, channel: str
    ) -> Mapping[str, ConsentState]:
        """The known state of each customer for (purpose, channel).

        Customers the ledger knows nothing about are absent: the gate then reads the CRM's
        opt-in column.
        """
        ...


class NoLedger:
    """A view that knows nothing: every decision falls back to the CRM's opt-in columns."""

    def states(
        self, session: Session, customers: Collection[str], purpose: str, channel: str
    ) -> Mapping[str, ConsentState]:
        return {}


class Verdict(StrEnum):
    """What the gate decides for one message."""

    SEND = "send"
    DEFER = "defer"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class Decision:
    """The gate's decision for one message, with the rule and the numbers behind it.

    Attributes:
        verdict: send now, defer until `not_before`, or suppress.
        reason: a stable code (`consent_withdrawn`, `frequency_capped`, `quiet_hours`,
            `capacity`, ...), None when sent at once.
        detail: the rule and its numbers, e.g. {"rule": "commercial-3-per-30d", "count": 3,
            "limit": 3, "window": "30d"}; shown on the document's history, never personal data.
        not_before: when a deferred message may go.
    """

    verdict: Verdict
    reason: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)
    not_before: dt.datetime | None = None
