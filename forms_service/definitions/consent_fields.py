"""A field that records a consent: `consent: {purpose: commercial, channel: email}`.

Its answer, once applied, is written to the consent ledger with the field's wording (its
label and help, in the language the customer read them). Purposes and channels are the
consent ledger's plain strings (consent/interfaces.py); the definitions sit below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from forms_service.definitions.fieldtypes import FieldType, OnlineControl

#: Purposes a form can ask consent for (service messages are contractual: none).
CONSENT_PURPOSES = ("regulatory", "commercial")
#: Channels a consent is given for.
CONSENT_CHANNELS = ("email", "sms", "letter")


@dataclass(frozen=True)
class FieldConsent:
    """What a ticked (granted) or cleared (withdrawn) box of the field agrees to."""

    purpose: str
    channel: str


def parse_field_consent(
    raw: object, add: Callable[[str], None], field_type: FieldType
) -> FieldConsent | None:
    """Read a field's `consent:`; every problem goes to `add`."""
    if raw is None:
        return None
    # A yes/no box: ticked is granted, cleared is withdrawn (no other answer means either).
    if field_type.control is not OnlineControl.TICKBOX or field_type.multiple:
        type_name = field_type.name
        add(
            f"'consent' needs a checkbox field (ticked: granted, cleared: withdrawn), not {type_name}"
        )
        return None
    if not isinstance(raw, dict) or set(raw) != {"purpose", "channel"}:
        add(
            "'consent' must give 'purpose' and 'channel', e.g. {purpose: commercial, channel: email}"
        )
        return None
    purpose, channel = raw["purpose"], raw["channel"]
    if purpose not in CONSENT_PURPOSES:
        add(f"'consent.purpose' {purpose!r} must be one of {', '.join(CONSENT_PURPOSES)}")
        return None
    if channel not in CONSENT_CHANNELS:
        add(f"'consent.channel' {channel!r} must be one of {', '.join(CONSENT_CHANNELS)}")
        return None
    return FieldConsent(purpose=str(purpose), channel=str(channel))
