"""Which channels can reach a customer, and in what order they are tried (pure functions).

A channel is usable when the record holds a usable address for it (a valid e-mail, a valid
mobile number, a complete postal address) and the customer has not refused it (the opt-in
column mapped in the definition's `contact:` section is not false). The order: the record's
preferred channel first when the campaign honours preferences, then the campaign's order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from forms_service.definitions.fieldtypes import FieldValueError, Rules
from forms_service.definitions.fieldtypes.text import EmailType
from forms_service.definitions.model import ContactMapping
from forms_service.delivery.interfaces import Channel, Purpose

#: The campaign's order when it gives none.
DEFAULT_ORDER: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.LETTER)
#: The words CRMs use for a channel, read as the channel.
_CHANNEL_WORDS = {
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "sms": Channel.SMS,
    "mobile": Channel.SMS,
    "text": Channel.SMS,
    "letter": Channel.LETTER,
    "post": Channel.LETTER,
    "paper": Channel.LETTER,
    "postal": Channel.LETTER,
}
#: E-mail addresses are checked as the forms check them (no type name: the class itself).
_EMAIL = EmailType()
_NO_RULES = Rules()
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
_FALSE = frozenset({False, "0", "false", "no", "n", "non", "f"})


class Reason:
    """Why a channel cannot be used for a record: stable codes, shown counted, never values."""

    NO_CONTACT_MAPPING = "no_contact_mapping"
    NO_EMAIL = "no_email"
    INVALID_EMAIL = "invalid_email"
    NO_PHONE = "no_phone"
    INVALID_PHONE = "invalid_phone"
    NOT_MOBILE = "not_mobile"
    NO_ADDRESS = "no_address"
    NOT_OPTED_IN = "not_opted_in"
    RECORD_GONE = "record_gone"


@dataclass(frozen=True)
class Reach:
    """One channel for one record: the recipient when usable, else why not."""

    channel: Channel
    recipient: str | None
    reason: str | None = None

    @property
    def usable(self) -> bool:
        """Whether a message can go this way."""
        return self.recipient is not None


def channel_named(value: object) -> Channel | None:
    """The channel a CRM's word means (`post` is a letter), None when it names none."""
    if not isinstance(value, str):
        return None
    return _CHANNEL_WORDS.get(value.strip().lower())


def reach(
    contact: ContactMapping | None,
    record: Mapping[str, Any],
    channel: Channel,
    purpose: Purpose = Purpose.SERVICE,
) -> Reach:
    """Whether `channel` can reach the customer of `record`, with the recipient.

    A service or regulatory letter ignores the letter opt-in: the postal address is the
    baseline every customer can be written to at. E-mail and SMS need their opt-in (when a
    column is mapped) whatever the purpose.
    """
    if contact is None:
        return Reach(channel, None, Reason.NO_CONTACT_MAPPING)
    column = contact.opt_in.get(channel.value)
    refused = column is not None and _is_false(record.get(column))
    if refused and (channel is not Channel.LETTER or purpose is Purpose.COMMERCIAL):
        return Reach(channel, None, Reason.NOT_OPTED_IN)
    if channel is Channel.EMAIL:
        return _email(contact, record)
    if channel is Channel.SMS:
        return _mobile(contact, record)
    return _letter(contact, record)


def order_for(
    contact: ContactMapping | None,
    record: Mapping[str, Any],
    campaign_order: Sequence[Channel],
    *,
    honour_preference: bool = True,
) -> list[Channel]:
    """The channels to try for `record`, first to last (only the campaign's channels)."""
    order = list(dict.fromkeys(campaign_order))
    if honour_preference and contact is not None and contact.preferred_channel:
        preferred = channel_named(record.get(contact.preferred_channel))
        if preferred in order:
            order.remove(preferred)
            order.insert(0, preferred)
    return order


def plan_channels(
    contact: ContactMapping | None,
    record: Mapping[str, Any],
    campaign_order: Sequence[Channel],
    *,
    honour_preference: bool = True,
    purpose: Purpose = Purpose.SERVICE,
) -> list[Reach]:
    """Every channel of the order with its reach: the first usable one is the one to send on."""
    return [
        reach(contact, record, channel, purpose)
        for channel in order_for(
            contact, record, campaign_order, honour_preference=honour_preference
        )
    ]


def _is_false(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _FALSE
    return value is None or value in _FALSE


def _email(contact: ContactMapping, record: Mapping[str, Any]) -> Reach:
    raw = record.get(contact.email) if contact.email else None
    if raw is None or not str(raw).strip():
        return Reach(Channel.EMAIL, None, Reason.NO_EMAIL)
    text = str(raw)
    address: str | None
    try:
        if _PRINTABLE_ASCII.fullmatch(text):
            # Nothing to collapse nor any invisible character: the form's normalisation alone
            # (a plan reads every record's address: this is 3 µs, the full parse 15).
            address = _EMAIL.normalise(text, _NO_RULES, ())
        else:
            address = _EMAIL.parse(text, _NO_RULES, ())
    except FieldValueError:
        return Reach(Channel.EMAIL, None, Reason.INVALID_EMAIL)
    # A line break or a comma would make one address several (or a header): refused.
    if not address or any(c in address for c in '\r\n,;<>"') or len(address) > 254:
        return Reach(Channel.EMAIL, None, Reason.INVALID_EMAIL)
    return Reach(Channel.EMAIL, address)


#: What separates a number's digit groups as CRMs write them.
_SEPARATORS = re.compile(r"[\s.\-()]")


@functools.lru_cache(maxsize=32)
def _mobile_shape(region: str) -> tuple[str, str, re.Pattern[str], int] | None:
    """The region's national prefix, country code and mobile pattern (phonenumbers' own)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.national_prefix:
        return None
    pattern = metadata.mobile.national_number_pattern
    lengths = metadata.mobile.possible_length or ()
    parsing = metadata.national_prefix_for_parsing
    if not pattern or len(lengths) != 1 or parsing not in (None, metadata.national_prefix):
        return None
    return (
        metadata.national_prefix,
        str(metadata.country_code),
        re.compile(f"(?:{pattern})"),
        lengths[0],
    )


def _plain_mobile(raw: str, region: str) -> str | None:
    """The E.164 form of a plainly written mobile number of the region, else None.

    A campaign's plan reads every record's number: the full parse costs ~90 µs, this ~3 µs.
    It answers only for numbers written `06 12 34 56 78` or `+33 6 12 34 56 78` that match
    the region's mobile pattern (phonenumbers' metadata); any other goes to the full parse.
    """
    shape = _mobile_shape(region)
    if shape is None:
        return None
    prefix, country, pattern, length = shape
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+" + country):
        national = digits[1 + len(country) :]
    elif digits.startswith(prefix):
        national = digits[len(prefix) :]
    else:
        return None
    if len(national) != length or not national.isdigit() or not pattern.fullmatch(national):
        return None
    return f"+{country}{national}"


def _mobile(contact: ContactMapping, record: Mapping[str, Any]) -> Reach:
    raw = record.get(contact.mobile) if contact.mobile else None
    if raw is None or not str(raw).strip():
        return Reach(Channel.SMS, None, Reason.NO_PHONE)
    plain = _plain_mobile(str(raw), contact.region)
    if plain is not None:
        return Reach(Channel.SMS, plain)
    try:
        number = phonenumbers.parse(str(raw), contact.region)
    except phonenumbers.NumberParseException:
        return Reach(Channel.SMS, None, Reason.INVALID_PHONE)
    if not phonenumbers.is_valid_number(number):
        return Reach(Channel.SMS, None, Reason.INVALID_PHONE)
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return Reach(Channel.SMS, None, Reason.NOT_MOBILE)
    return Reach(
        Channel.SMS, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )


def _letter(contact: ContactMapping, record: Mapping[str, Any]) -> Reach:
    if not contact.address or any(
        record.get(column) is None or not str(record.get(column)).strip()
        for column in contact.address
    ):
        return Reach(Channel.LETTER, None, Reason.NO_ADDRESS)
    return Reach(Channel.LETTER, "")


def contact_problems(contact: ContactMapping, columns: Collection[str]) -> list[str]:
    """What of a `contact:` mapping names a column the source's record type does not have.

    `columns` are the record type's logical columns (as the connector names them); each
    problem names the mapping's key and the missing column.
    """
    named: list[tuple[str, str | None]] = [
        ("email", contact.email),
        ("mobile", contact.mobile),
        *((f"address[{i}]", column) for i, column in enumerate(contact.address)),
        ("preferred_channel", contact.preferred_channel),
        *((f"opt_in.{channel}", column) for channel, column in contact.opt_in.items()),
        ("locale", contact.locale),
    ]
    known = set(columns)
    return [
        f"contact.{key}: the source has no column {column!r}"
        for key, column in named
        if column and column not in known
    ]
