"""The `message:` section of a definition: one content, its e-mail, SMS and letter variants.

```yaml
purpose: service                      # service (default), regulatory or commercial
message:
  organisation: Mutuelle Horizon      # {organisation}, and the sender's name by default
  sender: {name: Mutuelle Horizon, address: contact@horizon.example, reply_to: …}
  sms_sender: HORIZON                 # what the phone shows: 1-11 letters/digits, or a number
  email:
    subject: {fr: …, en: …}
    reminder_subject: {fr: …, en: …}  # optional; else "Rappel : <subject>"
    preheader: {fr: …, en: …}         # the line inboxes show after the subject
    blocks:                           # the content, in order
      - text: {fr: "Bonjour {first_name},", en: "Hello {first_name},"}
      - button: {fr: Vérifier mes coordonnées, en: Check my details}   # the link
      - text: {fr: …, en: …}
        channels: [email]             # default [email, letter]: not in the letter
        parts: [html]                 # default [html, text]: the e-mail parts that carry it
  sms:
    text: {fr: "…{short_link}…", en: …}
    reminder: {fr: …, en: …}          # optional; else "Rappel : " before the text
```

This module checks the section's shape and placeholders only; how long an SMS can grow
(GSM 03.38 segments) is checked by `delivery.messages.check_message`, which knows the
short links' host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from forms_service.core.i18n import LOCALES, pick

Texts = Mapping[str, str]

PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: What a message may quote: three record columns, the document's links and deadline, who
#: writes. Nothing else of the record reaches a message.
PLACEHOLDERS: Final = frozenset(
    {
        "title",
        "first_name",
        "last_name",
        "deadline",
        "link",
        "short_link",
        "organisation",
        "form",
    }
)
#: The placeholders filled from the source record (any letter may be in them).
RECORD_PLACEHOLDERS: Final = frozenset({"title", "first_name", "last_name"})
#: What a subject may quote: it is a header, and nothing of the record goes into headers.
SUBJECT_PLACEHOLDERS: Final = frozenset({"deadline", "organisation", "form"})
_SMS_SENDER: Final = re.compile(r"[A-Za-z0-9]{1,11}|\+?[0-9]{3,15}")


class MessagePurpose(StrEnum):
    """Why a form's messages are sent (delivery.interfaces.Purpose has the same values)."""

    SERVICE = "service"
    REGULATORY = "regulatory"
    COMMERCIAL = "commercial"


class BlockKind(StrEnum):
    """What a block of the e-mail is."""

    TEXT = "text"
    #: The link as a button (HTML) and as a labelled line (plain text).
    BUTTON = "button"


@dataclass(frozen=True)
class MessageBlock:
    """One paragraph or the button of an e-mail, in every language."""

    kind: BlockKind
    texts: Texts
    #: The renditions that carry it: "email", "letter" (a button is the e-mail's only).
    channels: frozenset[str] = frozenset({"email", "letter"})
    #: The e-mail parts that carry it: "html", "text".
    parts: frozenset[str] = frozenset({"html", "text"})

    def text_in(self, locale: str) -> str:
        """The block's text in `locale`."""
        return pick(self.texts, locale)


@dataclass(frozen=True)
class EmailVariant:
    """The e-mail: subject, preheader and the blocks of its body."""

    subject: Texts
    blocks: tuple[MessageBlock, ...]
    preheader: Texts = field(default_factory=dict)
    reminder_subject: Texts = field(default_factory=dict)

    def blocks_for(self, part: str) -> tuple[MessageBlock, ...]:
        """The blocks of one part ("html" or "text") of the e-mail."""
        return tuple(b for b in self.blocks if "email" in b.channels and part in b.parts)


@dataclass(frozen=True)
class SmsVariant:
    """The SMS: the essential only (who writes, what to do, the deadline, the short link)."""

    text: Texts
    reminder: Texts = field(default_factory=dict)


@dataclass(frozen=True)
class MessageTemplate:
    """A form's message, as its definition gives it."""

    organisation: str
    sender_name: str
    sender_address: str = ""
    reply_to: str = ""
    sms_sender: str = ""
    email: EmailVariant | None = None
    sms: SmsVariant | None = None

    def letter_blocks(self) -> tuple[MessageBlock, ...]:
        """The text blocks the letter carries when its own `letter:` gives no body."""
        if self.email is None:
            return ()
        return tuple(
            b for b in self.email.blocks if b.kind is BlockKind.TEXT and "letter" in b.channels
        )


_MESSAGE_KEYS: Final = frozenset({"organisation", "sender", "sms_sender", "email", "sms"})
_EMAIL_KEYS: Final = frozenset({"subject", "reminder_subject", "preheader", "blocks"})
_SMS_KEYS: Final = frozenset({"text", "reminder"})
_BLOCK_KEYS: Final = frozenset({"text", "button", "channels", "parts"})

#: Reports one problem of the section (the loader's collector, with no field).
Report = Callable[[str], None]
#: Reads a {fr, en} text, reporting what is wrong (the loader's `_texts`).
ReadTexts = Callable[[object, str, bool], dict[str, str]]


def parse_message(raw: object, add: Report, texts: ReadTexts) -> MessageTemplate | None:
    """Build a form's message from the YAML value of `message:`, reporting every problem."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add("'message' must be a mapping (organisation, sender, email, sms)")
        return None
    for key in sorted(set(raw) - _MESSAGE_KEYS):
        add(f"message: unknown key {key!r} (allowed: {', '.join(sorted(_MESSAGE_KEYS))})")
    organisation = raw.get("organisation")
    if not isinstance(organisation, str) or not organisation.strip():
        add("message: 'organisation' must name who writes (e.g. Mutuelle Horizon)")
        organisation = ""
    sender = raw.get("sender", {})
    if not isinstance(sender, dict) or not all(isinstance(v, str) for v in sender.values()):
        add("message: 'sender' must give name, address and reply_to as texts")
        sender = {}
    for key in sorted(set(sender) - {"name", "address", "reply_to"}):
        add(f"message: sender: unknown key {key!r} (allowed: address, name, reply_to)")
    for key in ("name", "address", "reply_to"):
        if any(c in sender.get(key, "") for c in "\r\n"):
            add(f"message: sender {key} must be one line")
    for key in ("address", "reply_to"):
        value = sender.get(key, "")
        if value and not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+", value):
            add(f"message: sender {key} {value!r} is not an e-mail address")
    sms_sender = raw.get("sms_sender", "")
    if not isinstance(sms_sender, str) or (sms_sender and not _SMS_SENDER.fullmatch(sms_sender)):
        add("message: 'sms_sender' must be 1 to 11 letters or digits, or a phone number")
        sms_sender = ""
    email = _email(raw.get("email"), add, texts)
    sms = _sms(raw.get("sms"), add, texts)
    if raw.get("email") is None and raw.get("sms") is None:
        add("message: give an 'email' or an 'sms' variant (or both)")
    return MessageTemplate(
        organisation=organisation,
        sender_name=sender.get("name") or organisation,
        sender_address=sender.get("address", ""),
        reply_to=sender.get("reply_to", ""),
        sms_sender=sms_sender,
        email=email,
        sms=sms,
    )


def parse_purpose(raw: object, add: Report) -> MessagePurpose:
    """The form's `purpose:` (service when absent)."""
    if raw is None:
        return MessagePurpose.SERVICE
    try:
        return MessagePurpose(str(raw))
    except ValueError:
        add(f"'purpose' {raw!r} must be one of service, regulatory, commercial")
        return MessagePurpose.SERVICE


def placeholders_of(text: str) -> set[str]:
    """The placeholder names a text uses."""
    return set(PLACEHOLDER.findall(text))


def _check_placeholders(
    texts: Texts, where: str, add: Report, allowed: frozenset[str] = PLACEHOLDERS
) -> None:
    for locale, text in texts.items():
        unknown = sorted(placeholders_of(text) - allowed)
        if unknown:
            add(
                f"message: {where} ({locale}) uses "
                f"{'unknown ' if allowed is PLACEHOLDERS else 'forbidden '}placeholders "
                f"{', '.join('{' + u + '}' for u in unknown)} "
                f"(allowed: {', '.join('{' + p + '}' for p in sorted(allowed))})"
            )


def _email(raw: object, add: Report, texts: ReadTexts) -> EmailVariant | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add("message: 'email' must be a mapping (subject, preheader, blocks)")
        return None
    for key in sorted(set(raw) - _EMAIL_KEYS):
        add(f"message: email: unknown key {key!r} (allowed: {', '.join(sorted(_EMAIL_KEYS))})")
    subject = texts(raw.get("subject"), "message email subject", True)
    preheader = texts(raw.get("preheader"), "message email preheader", False)
    reminder = texts(raw.get("reminder_subject"), "message email reminder_subject", False)
    headers = (("subject", subject), ("reminder_subject", reminder))
    for where, value in (*headers, ("preheader", preheader)):
        allowed = SUBJECT_PLACEHOLDERS if where != "preheader" else PLACEHOLDERS
        _check_placeholders(value, f"email {where}", add, allowed)
        if any("\n" in t or "\r" in t for t in value.values()):
            add(f"message: email {where} must be one line")
    raw_blocks = raw.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        add("message: email 'blocks' must be a non-empty list of text and button blocks")
        return None
    blocks = [b for i, item in enumerate(raw_blocks) if (b := _block(item, i, add, texts))]
    variant = EmailVariant(
        subject=subject,
        blocks=tuple(blocks),
        preheader=preheader,
        reminder_subject=reminder,
    )
    _check_email_link(variant, add)
    return variant


def _block(item: object, index: int, add: Report, texts: ReadTexts) -> MessageBlock | None:
    where = f"email blocks[{index}]"
    if not isinstance(item, dict):
        add(f"message: {where} must be a mapping with 'text' or 'button'")
        return None
    for key in sorted(set(item) - _BLOCK_KEYS):
        add(f"message: {where}: unknown key {key!r} (allowed: {', '.join(sorted(_BLOCK_KEYS))})")
    kinds = [k for k in BlockKind if k.value in item]
    if len(kinds) != 1:
        add(f"message: {where} must have exactly one of 'text' or 'button'")
        return None
    kind = kinds[0]
    values = texts(item[kind.value], f"message {where} {kind.value}", True)
    _check_placeholders(values, where, add)
    channels = _choices(item.get("channels"), {"email", "letter"}, f"{where} channels", add)
    parts = _choices(item.get("parts"), {"html", "text"}, f"{where} parts", add)
    if kind is BlockKind.BUTTON:
        channels = frozenset({"email"})
        if any("\n" in t for t in values.values()):
            add(f"message: {where}: a button's label must be one line")
    return MessageBlock(kind, values, channels, parts)


def _choices(raw: object, allowed: set[str], where: str, add: Report) -> frozenset[str]:
    if raw is None:
        return frozenset(allowed)
    if not isinstance(raw, list) or not raw or not set(raw) <= allowed:
        add(f"message: {where} must be a list among {', '.join(sorted(allowed))}")
        return frozenset(allowed)
    return frozenset(str(x) for x in raw)


def _carries_link(blocks: tuple[MessageBlock, ...], locale: str) -> bool:
    return any(
        b.kind is BlockKind.BUTTON or "link" in placeholders_of(b.text_in(locale)) for b in blocks
    )


def _check_email_link(variant: EmailVariant, add: Report) -> None:
    """Refuse an e-mail without a plain-text part, or a part without the link."""
    if not variant.blocks_for("text"):
        add("message: the e-mail has no plain-text part (every block is 'parts: [html]')")
        return
    for part, name in (("html", "HTML"), ("text", "plain-text")):
        for locale in LOCALES:
            if not _carries_link(variant.blocks_for(part), locale):
                add(
                    f"message: the e-mail's {name} part ({locale}) lacks the link: "
                    "add a 'button' block or {link}"
                )


def _sms(raw: object, add: Report, texts: ReadTexts) -> SmsVariant | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add("message: 'sms' must be a mapping (text, reminder)")
        return None
    for key in sorted(set(raw) - _SMS_KEYS):
        add(f"message: sms: unknown key {key!r} (allowed: {', '.join(sorted(_SMS_KEYS))})")
    text = texts(raw.get("text"), "message sms text", True)
    reminder = texts(raw.get("reminder"), "message sms reminder", False)
    for where, values in (("sms text", text), ("sms reminder", reminder)):
        _check_placeholders(values, where, add)
        for locale, value in values.items():
            if "short_link" not in placeholders_of(value):
                add(f"message: the {where} ({locale}) lacks the link: add {{short_link}}")
    return SmsVariant(text=text, reminder=reminder)
