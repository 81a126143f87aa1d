"""A form's message rendered for e-mail and SMS, and the check of how long its SMS can grow.

The content is the definition's `message:` section (definitions/messages.py). Placeholders
are filled here: the record's title and names (one line, control characters removed; in an
SMS cut to the length the check counted), the deadline (spelled out in an e-mail, numeric in
an SMS), the links, who writes. In HTML every value is escaped (the template is autoescaped
Jinja, and the blocks are escaped piece by piece before they reach it). Nothing of the record
goes into a header: the subject quotes only the texts of the definition and the deadline.
The fixed words (the link's fallback line, "Reminder:", the footer) come from the gettext
catalogues, in the document's language.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from forms_service.config import Settings
from forms_service.core.errors import NotFound
from forms_service.core.i18n import LOCALES, N_, gettext, known_locale, pick
from forms_service.definitions.messages import (
    PLACEHOLDER,
    RECORD_PLACEHOLDERS,
    BlockKind,
    MessageBlock,
    MessageTemplate,
    placeholders_of,
)
from forms_service.definitions.model import FormDefinition
from forms_service.delivery.gsm import count_segments
from forms_service.delivery.interfaces import (
    EmailRendition,
    MessageContext,
    Purpose,
    Sender,
    SmsRendition,
)

#: The most SMS segments a message may take, its placeholders at their longest.
MAX_SMS_SEGMENTS: Final = 2
#: The longest value counted for a record placeholder when no field's rule says more.
DEFAULT_LENGTHS: Final[Mapping[str, int]] = {"title": 12, "first_name": 40, "last_name": 40}
#: The length of a short link's code (delivery/shortlinks.py; checked there).
SHORT_CODE_LENGTH: Final = 20
#: The longest signed token (issuing/tokens.py): id, base-36 expiry, key id, signature.
LONGEST_TOKEN: Final = 22 + 1 + 10 + 1 + 16 + 1 + 22
#: How an SMS spells its deadline: numeric in French (no "août", whose û is outside GSM-7).
SMS_DATE_FORMATS: Final[Mapping[str, str]] = {"fr": "dd/MM/y", "en": "d MMM y"}

_TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ue000-\uf8ff]+")
_LINK_MARK = {"link": "\ue000", "short_link": "\ue001"}
_HTML_PIECES = re.compile("([\ue000\ue001\n])")
#: A link quoted in a paragraph (Markup.format escapes the URL).
_ANCHOR = Markup(
    '<a href="{url}" class="text-link" style="color:#0b57d0;text-decoration:underline;'
    'word-break:break-all">{url}</a>'
)

FALLBACK_LINE: Final = N_("If the button does not work, copy this link into your browser:")
REMINDER_PREFIX: Final = N_("Reminder: %(text)s")
REMINDER_LINE: Final = N_("We have not received your answer yet: this is a reminder.")
SENT_BY: Final = N_("This message was sent to you by %(organisation)s.")
UNSUBSCRIBE_LINE: Final = N_("You no longer wish to receive these messages?")
UNSUBSCRIBE: Final = N_("Unsubscribe")


class NoMessage(NotFound):
    """The form's definition has no message for this channel."""

    code = "no_message"


def one_line(value: object) -> str:
    """A record value as a message may quote it: one line, no control characters."""
    if value is None or value is False:
        return ""
    text = str(value)
    # Already one clean line (no control, separator or private-use character, single spaces):
    # as it is, without the two substitutions (the common case, once per placeholder).
    if text.isprintable() and "  " not in text and text == text.strip():
        return text
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()


@functools.lru_cache(maxsize=256)
def email_date(day: dt.date, locale: str) -> str:
    """`30 septembre 2026`, `September 30, 2026`."""
    return format_date(day, "long", locale=known_locale(locale))


@functools.lru_cache(maxsize=256)
def sms_date(day: dt.date, locale: str) -> str:
    """`30/09/2026`, `30 Sep 2026`: short and in GSM-7."""
    locale = known_locale(locale)
    return format_date(day, SMS_DATE_FORMATS[locale], locale=locale)


def record_lengths(definition: FormDefinition) -> dict[str, int]:
    """The longest value of each record placeholder: a field's max_length, else the default."""
    lengths = dict(DEFAULT_LENGTHS)
    for field in definition.fields:
        if field.maps_to in lengths and field.rules.max_length is not None:
            lengths[field.maps_to] = field.rules.max_length
    return lengths


def _collapse(text: str) -> str:
    """Spaces a missing value leaves ("Bonjour  ," -> "Bonjour,")."""
    if "\t" not in text and "  " not in text and " ," not in text and " ." not in text:
        return text.strip()
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r" +([,.])", r"\1", text).strip()


#: Characters a line of the plain-text part holds at most (links are never cut).
TEXT_WIDTH: Final = 76


def wrap(line: str) -> str:
    """A paragraph's line of the plain-text part wrapped at TEXT_WIDTH, as textwrap.fill does.

    A line short enough and without tabs or other control characters needs no wrapping: it
    comes back as textwrap.fill gives it (its trailing spaces dropped) without textwrap's cost.
    """
    if not line.isprintable():
        return textwrap.fill(line, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
    if len(line) <= TEXT_WIDTH:
        return line.rstrip(" ")
    return "\n".join(_wrapped(line))


_SPACES = re.compile("( +)")


def _wrapped(line: str) -> list[str]:
    """The lines textwrap gives a printable line (its only whitespace the space), in its steps.

    TextWrapper._wrap_chunks with break_long_words and break_on_hyphens off: words and runs
    of spaces are the chunks; a line's leading run is dropped (but the first's), so is its
    trailing one; a word longer than the width has a line of its own. Compared with
    textwrap.fill in tests/unit/delivery/test_messages.py.
    """
    chunks = [chunk for chunk in _SPACES.split(line) if chunk]
    chunks.reverse()
    lines: list[str] = []
    while chunks:
        if lines and chunks[-1][0] == " ":
            chunks.pop()
        current: list[str] = []
        length = 0
        while chunks and length + len(chunks[-1]) <= TEXT_WIDTH:
            length += len(chunks[-1])
            current.append(chunks.pop())
        if chunks and not current and len(chunks[-1]) > TEXT_WIDTH:
            current.append(chunks.pop())
        if current and current[-1][0] == " ":
            current.pop()
        if current:
            lines.append("".join(current))
    return lines


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _collapse(PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template))


@dataclass(frozen=True)
class _Values:
    """The placeholders' values for one message, the links as marks for the HTML part."""

    plain: Mapping[str, str]

    def marked(self) -> dict[str, str]:
        return {**self.plain, **_LINK_MARK}


#: What a page shows the same in every message of a form and language (its shape's key).
_PAGE_FIXED: Final = ("lang", "organisation", "sender_address")
#: The page's values of each message's own (the templates test only whether they are set).
_PAGE_OWN: Final = ("subject", "preheader", "link", "unsubscribe_url")
#: A mark standing for the n-th value of a message's own: private-use characters, which no
#: value holds (`one_line` and `_CONTROL` remove them) nor the templates.
_MARK = re.compile("\uf8f0([0-9]+)\uf8f1")


def _mark(n: int) -> Markup:
    return Markup("\uf8f0{}\uf8f1").format(n)


def _block_value(block: Mapping[str, Any]) -> Any:
    return block["label"] if block["kind"] == "button" else block.get("html", block.get("text"))


@dataclass(frozen=True)
class _Skeleton:
    """A template rendered once for a shape of page: its text between the values' marks."""

    #: Text, value index, text, value index, ... text.
    pieces: tuple[str | int, ...]
    #: The fixed text held a mark itself: each message is rendered whole.
    whole: bool = False

    @classmethod
    def of(cls, template: Any, page: Mapping[str, Any], blocks: list[dict[str, Any]]) -> _Skeleton:
        marks = {key: _mark(n) for n, key in enumerate(_PAGE_OWN)}
        first = len(_PAGE_OWN)
        marked_blocks = [
            {"kind": b["kind"], "label": _mark(first + n), "html": _mark(first + n),
             "text": _mark(first + n)}
            for n, b in enumerate(blocks)
        ]  # fmt: skip
        # A value only tested (`{% if preheader %}`) keeps its truth: the shape says it.
        rendered = template.render(
            **{**page, **{k: (marks[k] if page[k] else page[k]) for k in _PAGE_OWN}},
            blocks=marked_blocks,
        )
        parts = _MARK.split(rendered)
        pieces: list[str | int] = [int(part) if n % 2 else part for n, part in enumerate(parts)]
        fixed = "".join(p for p in pieces if isinstance(p, str))
        if "\uf8f0" in fixed or "\uf8f1" in fixed:
            return cls((), whole=True)
        return cls(tuple(pieces))

    def fill(self, values: list[Any]) -> str:
        return "".join(p if isinstance(p, str) else values[p] for p in self.pieces)


class MessageRenderer:
    """Renders the forms' messages (implements delivery.interfaces.Renderer)."""

    def __init__(
        self, definitions: Mapping[str, FormDefinition], settings: Settings | None = None
    ) -> None:
        """Take the loaded definitions and the settings (kept for the providers' wiring)."""
        self.definitions = definitions
        self.settings = settings
        self._jinja = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=select_autoescape(["html"]),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the package's own templates: no stat of the file per message
        )
        self._skeletons: dict[tuple[Any, ...], _Skeleton] = {}

    def _message(self, form_id: str) -> tuple[FormDefinition, MessageTemplate]:
        definition = self.definitions.get(form_id)
        if definition is None or definition.message is None:
            raise NoMessage(f"form {form_id!r} has no message", field="form")
        return definition, definition.message

    def _values(
        self,
        definition: FormDefinition,
        message: MessageTemplate,
        context: MessageContext,
        date: Callable[[dt.date, str], str],
        *,
        cut: bool,
    ) -> _Values:
        lengths = record_lengths(definition)
        values = {
            "organisation": message.organisation,
            "form": definition.title_in(context.locale),
            "deadline": date(context.deadline, context.locale),
            "link": context.link,
            "short_link": context.short_link,
        }
        for name in RECORD_PLACEHOLDERS:
            value = one_line(context.record.get(name))
            values[name] = value[: lengths[name]].rstrip() if cut else value
        return _Values(values)

    # -- e-mail -----------------------------------------------------------------------------

    def render_email(self, context: MessageContext) -> EmailRendition:
        """The e-mail of a document: subject, HTML and plain-text parts, sender, purpose.

        Raises:
            NoMessage: the form has no e-mail variant.
        """
        definition, message = self._message(context.form_id)
        email = message.email
        if email is None:
            raise NoMessage(f"form {context.form_id!r} has no e-mail message", field="form")
        locale = known_locale(context.locale)
        values = self._values(definition, message, context, email_date, cut=False)
        subject = _fill(pick(email.subject, locale), values.plain)
        if context.reminder > 0:
            subject = (
                _fill(pick(email.reminder_subject, locale), values.plain)
                if email.reminder_subject
                else gettext(REMINDER_PREFIX, locale, text=subject)
            )
        words = {
            "fallback": gettext(FALLBACK_LINE, locale),
            "reminder": gettext(REMINDER_LINE, locale) if context.reminder > 0 else "",
            "sent_by": gettext(SENT_BY, locale, organisation=message.organisation),
            "unsubscribe_line": gettext(UNSUBSCRIBE_LINE, locale),
            "unsubscribe": gettext(UNSUBSCRIBE, locale),
        }
        page = {
            "lang": locale,
            "subject": subject,
            "preheader": _fill(pick(email.preheader, locale), values.plain)
            if email.preheader
            else "",
            "link": context.link,
            "organisation": message.organisation,
            "sender_address": message.sender_address,
            "unsubscribe_url": context.unsubscribe_url,
            "words": words,
        }
        html = self._page(
            "email.html",
            page,
            [self._html_block(b, values, locale) for b in email.blocks_for("html")],
        )
        text = (
            self._page(
                "email.txt",
                page,
                [self._text_block(b, values, locale) for b in email.blocks_for("text")],
            ).rstrip("\n")
            + "\n"
        )
        return EmailRendition(
            subject=one_line(subject),
            text=text,
            html=html,
            sender=Sender(message.sender_name, message.sender_address, message.reply_to),
            purpose=Purpose(definition.purpose.value),
            locale=locale,
            unsubscribe_url=context.unsubscribe_url,
        )

    def _page(self, name: str, page: Mapping[str, Any], blocks: list[dict[str, Any]]) -> str:
        """Template `name` rendered with `page` and `blocks`, as Jinja renders it.

        A campaign's messages of one form, language and kind share the whole page but for
        its few values of their own (subject, preheader, links, the blocks' texts): the page
        is rendered once with a mark in place of each (`_Skeleton`) and each message's
        values, escaped as Jinja escapes them, are put in the marks' places.
        """
        shape = (
            name,
            *(page[key] for key in _PAGE_FIXED),
            *(bool(page[key]) for key in _PAGE_OWN),
            tuple(sorted(page["words"].items())),
            tuple(block["kind"] for block in blocks),
        )
        skeleton = self._skeletons.get(shape)
        if skeleton is None:
            skeleton = self._skeletons[shape] = _Skeleton.of(
                self._jinja.get_template(name), page, blocks
            )
        if skeleton.whole:
            return self._jinja.get_template(name).render(**page, blocks=blocks)
        html = name.endswith(".html")
        own = [page[key] for key in _PAGE_OWN] + [_block_value(block) for block in blocks]
        return skeleton.fill([escape(v) if html else str(v) for v in own])

    @staticmethod
    def _html_block(block: MessageBlock, values: _Values, locale: str) -> dict[str, Any]:
        if block.kind is BlockKind.BUTTON:
            return {"kind": "button", "label": _fill(block.text_in(locale), values.plain)}
        filled = _fill(block.text_in(locale), values.marked())
        links = {mark: values.plain[name] for name, mark in _LINK_MARK.items()}
        pieces = []
        for piece in _HTML_PIECES.split(filled):
            if piece in links:
                pieces.append(_ANCHOR.format(url=links[piece]))
            elif piece == "\n":
                pieces.append(Markup("<br>\n"))
            else:
                pieces.append(escape(piece))
        return {"kind": "text", "html": Markup("").join(pieces)}

    @staticmethod
    def _text_block(block: MessageBlock, values: _Values, locale: str) -> dict[str, Any]:
        text = _fill(block.text_in(locale), values.plain)
        if block.kind is BlockKind.BUTTON:
            return {"kind": "button", "label": text}
        return {"kind": "text", "text": "\n".join(wrap(line) for line in text.split("\n"))}

    # -- SMS ------------------------------------------------------------------------------

    def render_sms(self, context: MessageContext) -> SmsRendition:
        """The SMS of a document: its text and the sender the phone shows.

        Raises:
            NoMessage: the form has no SMS variant.
        """
        definition, message = self._message(context.form_id)
        if message.sms is None:
            raise NoMessage(f"form {context.form_id!r} has no SMS message", field="form")
        locale = known_locale(context.locale)
        values = self._values(definition, message, context, sms_date, cut=True)
        return SmsRendition(
            text=sms_text(message, locale, values.plain, reminder=context.reminder > 0),
            sender=message.sms_sender or re.sub(r"[^A-Za-z0-9]", "", message.organisation)[:11],
            purpose=Purpose(definition.purpose.value),
            locale=locale,
        )


def sms_text(
    message: MessageTemplate, locale: str, values: Mapping[str, str], *, reminder: bool
) -> str:
    """An SMS's text: the reminder variant, or "Reminder:" before the text, when a reminder."""
    assert message.sms is not None  # noqa: S101 - callers check
    if reminder and message.sms.reminder:
        return _fill(pick(message.sms.reminder, locale), values)
    text = _fill(pick(message.sms.text, locale), values)
    return gettext(REMINDER_PREFIX, locale, text=text) if reminder else text


# -- the check of `definitions check` ---------------------------------------------------------


def longest_sms_date(locale: str) -> str:
    """The longest deadline an SMS can show in `locale` (over every day of a year)."""
    start = dt.date(2028, 1, 1)
    days = (start + dt.timedelta(days=n) for n in range(366))
    return max((sms_date(day, locale) for day in days), key=len)


def check_message(
    definition: FormDefinition, *, base_url: str, short_link_base_url: str = ""
) -> list[str]:
    """What is wrong with a definition's SMS once its placeholders are at their longest.

    Each SMS variant, in each language, must take at most `MAX_SMS_SEGMENTS` segments with:
    the record's title and names at their longest (a field's `max_length`, else
    `DEFAULT_LENGTHS`) and, as a name may hold any letter (ç, ï…), in UCS-2; the short link
    at its real length on its host; the longest signed link; the longest deadline.
    """
    message = definition.message
    if message is None or message.sms is None:
        return []
    short_origin = (short_link_base_url or base_url).rstrip("/")
    lengths = record_lengths(definition)
    problems = []
    for locale in LOCALES:
        values = {
            "organisation": message.organisation,
            "form": definition.title_in(locale),
            "deadline": longest_sms_date(locale),
            "link": f"{base_url.rstrip('/')}/f/{'x' * LONGEST_TOKEN}",
            "short_link": f"{short_origin}/r/{'x' * SHORT_CODE_LENGTH}",
            **{name: "x" * lengths[name] for name in RECORD_PLACEHOLDERS},
        }
        for where, reminder in (("SMS", False), ("reminder SMS", True)):
            text = sms_text(message, locale, values, reminder=reminder)
            template = message.sms.reminder if reminder and message.sms.reminder else None
            used = placeholders_of(pick(template or message.sms.text, locale))
            names = sorted(used & RECORD_PLACEHOLDERS)
            counted = count_segments(text, ucs2=bool(names))
            if counted.segments <= MAX_SMS_SEGMENTS:
                continue
            if counted.forced_by is None and names:
                why = (
                    f"{', '.join('{' + n + '}' for n in names)} may hold any letter (ç, ï…), "
                    f"so it is counted in UCS-2: {counted.units} code units, "
                    f"{counted.segments} segments of {counted.per_segment}"
                )
            else:
                why = counted.describe()
            problems.append(
                f"message: the {where} ({locale}) takes more than {MAX_SMS_SEGMENTS} "
                f"segments at its longest: {why}"
            )
    return problems
