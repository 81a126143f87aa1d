"""A campaign's delivery options: channels and their order, purpose, reminders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forms_service.core.errors import InvalidInput
from forms_service.delivery.channels import DEFAULT_ORDER
from forms_service.delivery.interfaces import Channel, Purpose


@dataclass(frozen=True)
class CampaignOptions:
    """How a campaign is to be sent (stored with it by `configure`).

    Attributes:
        channels: the channels that may be used, in order (default email, sms, letter).
        force: True: the order is the campaign's alone (the record's preference is ignored);
            a single channel is then forced.
        purpose: service, regulatory or commercial.
        reminders: days after the first message when reminders go out.
        remind_channel: "same" (the last message's channel) or "next" (the next usable one).
    """

    channels: tuple[Channel, ...] = DEFAULT_ORDER
    force: bool = False
    purpose: Purpose = Purpose.SERVICE
    reminders: tuple[int, ...] = ()
    remind_channel: str = "same"

    def __post_init__(self) -> None:
        if not self.channels:
            raise InvalidInput("give at least one channel", field="channels")
        if self.remind_channel not in ("same", "next"):
            raise InvalidInput("remind channel must be 'same' or 'next'", field="remind_channel")
        if any(day < 1 or day > 365 for day in self.reminders) or list(self.reminders) != sorted(
            set(self.reminders)
        ):
            raise InvalidInput(
                "reminders are increasing whole numbers of days from 1 to 365, e.g. 7,21",
                field="remind",
            )


def parse_channels(text: str | Sequence[str] | None) -> tuple[Channel, ...]:
    """`email,sms` as channels; InvalidInput naming the unknown one."""
    if text is None:
        return DEFAULT_ORDER
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    channels: list[Channel] = []
    for name in filter(None, names):
        try:
            channels.append(Channel(name))
        except ValueError:
            raise InvalidInput(
                f"unknown channel {name!r} (channels: email, sms, letter)", field="channels"
            ) from None
    if len(set(channels)) != len(channels):
        raise InvalidInput("a channel is given twice", field="channels")
    return tuple(channels) or DEFAULT_ORDER


def parse_reminders(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """`7,21` as days; InvalidInput when not whole numbers."""
    if text is None or text == "":
        return ()
    if isinstance(text, str):
        try:
            return tuple(int(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise InvalidInput("reminders are days such as 7,21", field="remind") from None
    return tuple(int(day) for day in text)
