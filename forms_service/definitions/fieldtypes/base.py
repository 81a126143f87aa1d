"""What every field type is: the base class, its rules and choices, and the checks it hands out.

A type knows how to turn raw input (typed, PDF field, OCR text, source value) into one
canonical string, how to check it against the field's rules, how to compare two values,
how to show a value to a person, and what the online, API, PDF and paper channels need:
every per-type decision of the service is an attribute or a method here, overridden by
the type's own module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from forms_service.definitions.fieldtypes.letters import shipped_letters
from ocr.interfaces import PairVerdict


class FieldValueError(ValueError):
    """A value that a field type refuses; `key` names the message in forms_service.core.i18n."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class WidgetKind(StrEnum):
    """How an answer box looks on paper and in a fillable PDF."""

    TEXT = "text"
    COMB = "comb"
    CHECKBOX = "checkbox"
    CHOICES = "choices"
    SIGNATURE = "signature"


class OnlineControl(StrEnum):
    """What the online form shows for a field (the template branches on it)."""

    #: A text input, with the type's HTML attributes.
    INPUT = "input"
    #: One check box: an unticked box is the answer "no".
    TICKBOX = "tickbox"
    #: The options as radio buttons: one answer.
    ONE_OF = "one_of"
    #: The options as check boxes: any number of answers.
    ANY_OF = "any_of"

    @property
    def lists_options(self) -> bool:
        """Whether the field shows its choices, one input per option."""
        return self in (OnlineControl.ONE_OF, OnlineControl.ANY_OF)

    @property
    def option_input(self) -> str:
        """The HTML input type of each option."""
        return "checkbox" if self is OnlineControl.ANY_OF else "radio"


@dataclass(frozen=True)
class Rules:
    """The per-field rules a definition can set (checked when definitions load)."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    country: str | None = None
    countries: tuple[str, ...] = ()
    #: The form's field whose answer (a country code) says which of `countries` applies.
    country_field: str | None = None
    region: str = "FR"
    min_date: str | None = None
    max_date: str | None = None
    must_tick: bool = False

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Rules:
        """Build rules from the YAML mapping; unknown keys raise KeyError naming the key."""
        known = {f for f in cls.__dataclass_fields__}
        for key in raw:
            if key not in known:
                raise KeyError(key)
        values = dict(raw)
        if "countries" in values:
            values["countries"] = tuple(str(c).upper() for c in values["countries"])
        for key in ("min_date", "max_date"):
            if key in values and values[key] is not None:
                values[key] = str(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: the stored value and its labels per locale."""

    value: str
    labels: Mapping[str, str]


_SPACES = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Text in NFC with runs of whitespace as one space, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


#: Unicode categories no answer needs: controls (ESC, DEL…), format characters (bidi
#: overrides that make "gnp.exe" read "exe.png" to a clerk, zero-width spaces that make two
#: values look alike), private use and lone surrogates (which no database can store).
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs"})


def _has_invisible(text: str) -> bool:
    if text.isascii():  # the common case, and the only invisible ASCII are controls (Cc)
        return not text.isprintable()
    return any(unicodedata.category(character) in _INVISIBLE for character in text)


def edit_distance(a: str, b: str) -> int:
    """Characters changed, added or dropped to turn `a` into `b` (Levenshtein)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def ascii_forms(text: str) -> str:
    """Compatibility forms folded (NFKC): full-width "６９００３" from a phone keyboard is 69003."""
    return unicodedata.normalize("NFKC", text)


class FieldType:
    """Base of all field types. Subclasses override what differs.

    Canonical values are strings (or None for "no value"); `parse` accepts whatever a channel
    or a source system hands over and returns the canonical string, raising FieldValueError.
    """

    name: ClassVar[str]
    widget: ClassVar[WidgetKind] = WidgetKind.TEXT
    #: Characters the OCR engine may return for this type (None = any printable).
    ocr_charset: ClassVar[str | None] = None
    #: Attributes added to the HTML input (inputmode, autocomplete, type).
    html_attributes: ClassVar[Mapping[str, str]] = {}
    #: Whether a source column can hold it (signatures never go back to a source).
    writable: ClassVar[bool] = True
    #: What the online form shows (a text input, a tick box, radio buttons, check boxes).
    control: ClassVar[OnlineControl] = OnlineControl.INPUT
    #: Whether a definition lists choices for it (and must).
    takes_choices: ClassVar[bool] = False
    #: Whether an answer may hold several of its choices (several marks on paper).
    multiple: ClassVar[bool] = False
    #: Whether a customer can type it from memory as an identity (challenge) answer.
    challengeable: ClassVar[bool] = True
    #: Whether the identity question shows the date-format hint.
    date_hint: ClassVar[bool] = False
    #: Whether a value read on paper is checked by the type (its parsing, as online).
    paper_checked: ClassVar[bool] = False
    #: Whether values are compared in lower case (an e-mail address): paper reads a
    #: handwritten capital as its lower case instead of a box reading mixed case.
    lower_case: ClassVar[bool] = False
    #: Whether that check is a checksum, which no single misread character passes: a
    #: reading that passes it carries its own proof and may be applied without a clerk.
    checksum: ClassVar[bool] = False
    #: The letter model of the type's values read on paper ("email", "text": the models of
    #: fieldtypes/letters.py), None for none.
    letters: ClassVar[str | None] = None
    #: The verification station's name for this type's own check failing on a proposed
    #: value (`iban_checksum`, `phone_invalid`…; changes/station.py), None when it has none.
    check_code: ClassVar[str | None] = None
    #: Whether another field read beside it can confirm it (`confirms` in a definition).
    confirmable: ClassVar[bool] = False
    #: Whether customers see only a masked form of the current value (bank details): the
    #: online box starts empty, an empty answer keeps the value, and the confirmation and
    #: receipts show it masked. Clerks see it whole.
    masked: ClassVar[bool] = False
    #: The AcroForm field kinds (`PdfFieldKind` values: text, checkbox, radio, choice, list,
    #: signature) that an imported organisation's PDF field of that kind becomes.
    acroform_kinds: ClassVar[frozenset[str]] = frozenset()
    #: Words in an imported PDF field's name or tooltip that suggest this type.
    name_hint: ClassVar[re.Pattern[str] | None] = None
    #: Whether paper prints each option on its own row with its state on record and a Yes
    #: and a No box, empty meaning "unchanged" for that option (layout 2 on), read back by
    #: `read_option_rows`. Layout 1 printed one square per option.
    option_rows: ClassVar[bool] = False
    #: The code a paper reading of this type that fails its check is flagged with on the
    #: review screen ("iban_checksum", "phone_invalid"…), None when the type has no check.
    failed_check: ClassVar[str | None] = None

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        """Turn raw input into the canonical string, None when empty."""
        if raw is None:
            return None
        text = collapse(str(raw))
        if not text:
            return None
        if _has_invisible(text):
            raise FieldValueError("invisible_characters")
        value = self.normalise(text, rules, choices)
        self.check(value, rules, choices)
        return value

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        """Put non-empty, whitespace-collapsed text into canonical form."""
        return text

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        """Check a canonical value against the field's rules."""
        if rules.max_length is not None and len(value) > rules.max_length:
            raise FieldValueError("too_long", max=rules.max_length)
        if rules.min_length is not None and len(value) < rules.min_length:
            raise FieldValueError("too_short", min=rules.min_length)
        if rules.pattern is not None and not re.fullmatch(rules.pattern, value):
            raise FieldValueError("pattern")

    def comparison_key(self, value: str | None) -> str | None:
        """What two values must share to count as the same answer."""
        return value

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        """Show a canonical value to a person."""
        return value or ""

    def to_source(self, value: str | None) -> object:
        """The Python value a source system stores for a canonical value."""
        return value

    def masked_display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        """A value as a customer may see it: `display`, masked when the type is `masked`."""
        return self.display(value, locale, choices)

    def comb_cells(self, rules: Rules) -> int | None:
        """Number of comb cells on paper, None for a plain box."""
        return None

    def rule_problems(self, rules: Rules) -> tuple[str, ...]:
        """What is wrong with the field's rules for this type (`definitions check` says it)."""
        if rules.country_field is not None:
            return (f"rule 'country_field' is for postcode fields, not {self.name}",)
        return ()

    def charset(self, rules: Rules) -> str | None:
        """The characters the OCR engine may return for a field with `rules` (ocr_charset)."""
        return self.ocr_charset

    def input_attributes(self, rules: Rules) -> Mapping[str, str]:
        """The attributes of the online input for a field with `rules` (html_attributes)."""
        return self.html_attributes

    def in_country(self, rules: Rules, country: object) -> Rules:
        """The rules of an answer given with `country` chosen in the rules' `country_field`."""
        return rules

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        """Cell indexes after which paper draws a thicker separator (digits in groups)."""
        return ()

    def comb_captions(self) -> tuple[tuple[str, int, int], ...]:
        """Texts printed under comb cells: (text, first cell, end cell), JJ/MM/AAAA say."""
        return ()

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        """What the online form's input holds for a canonical value."""
        return value or ""

    def template_text(self, value: str, max_length: int | None) -> str | None:
        """The text written into an organisation's own PDF text field.

        None writes the canonical value; `max_length` is the field's /MaxLen (a comb's cells).
        """
        return None

    def paper_check(self, rules: Rules, choices: Sequence[Choice]) -> PaperCheck | None:
        """The check of a value read on paper, None when the type has none."""
        if not self.paper_checked:
            return None
        return PaperCheck(self, rules, tuple(choices))

    def options_on_record(self, value: str | None) -> frozenset[str]:
        """The options a canonical value holds (a choice's; the paper prints each's state)."""
        return frozenset({value}) if value else frozenset()

    def read_option_rows(
        self, current: str | None, marks: Mapping[str, OptionMarks], choices: Sequence[Choice]
    ) -> PaperChoice | None:
        """The answer of the option rows read on paper (types with `option_rows`).

        Args:
            current: the value on record the page printed (the snapshot's, canonical).
            marks: option value -> what its two boxes hold (an option absent: both empty).
            choices: the field's options.

        Returns:
            None when no box holds ink (the field is unchanged), else the proposed value
            with the problems that send it to a clerk.
        """
        raise NotImplementedError(f"field type {self.name!r} prints no option rows")

    def confirm(self, value: str, other: str) -> PairVerdict | None:
        """Whether `other`, read beside `value`, confirms it (a definition's `confirms`).

        None when this type confirms nothing.
        """
        return None

    def suggest_confirming(self, value: str) -> str | None:
        """The value of the field it `confirms` that `value` suggests (a postcode's locality).

        None when this type suggests nothing, or nothing for this value.
        """
        return None

    def confirmed_alternative(self, value: str, other: str) -> str | None:
        """The one value a character away from `value` that `other` confirms, if exactly one.

        What a misread character would have been (a postcode one digit from the city's);
        None when this type confirms nothing, or no single such value exists.
        """
        return None

    def plausible(self, value: str, rules: Rules, choices: Sequence[Choice]) -> bool:
        """Whether a valid value read on paper is one to suggest, not just accept.

        Stricter than valid (a listed postcode, an address at a known e-mail provider), and
        never required of a value: it decides which reading to suggest, not what is refused.
        """
        return True

    def repairs(self, text: str) -> tuple[str, ...]:
        """Values a misreading of `text` suggests that no change of characters reaches.

        A known e-mail domain a letter added or dropped away, say; best first, none by default.
        """
        return ()

    def letters_log_probability(self, text: str) -> float:
        """How likely `text`'s letters are, as the type's values are written (log).

        Decides between readings of a value on paper that its checks accept alike (an
        e-mail address's local part, a name: letters that follow one another as in names
        and words); the type's `letters` model (fieldtypes/letters.py), 0 when it has none.
        """
        return 0.0 if self.letters is None else shipped_letters(self.letters).log_probability(text)

    def cell_charsets(self, cells: int, rules: Rules) -> tuple[str, ...] | None:
        """The characters each of `cells` comb cells may hold, None when any of the type's.

        An IBAN's country letters, check digits and its country's BBAN layout, say: a
        reading's alternatives outside them are dropped before the checks search them.
        """
        return None

    def confirmed_by(self, other: str) -> tuple[str, ...]:
        """The values `other` (the field it `confirms`, read beside it) would confirm.

        A city's postcodes; empty when this type confirms nothing.
        """
        return ()

    def is_shown(self, raw: object, shown: str | None, choices: Sequence[Choice]) -> bool:
        """Whether `raw` is the stored value `shown`, sent back as stored or as displayed."""
        if shown is None or not isinstance(raw, str):
            return False
        typed = collapse(raw)
        return typed in (collapse(shown), collapse(self.display(shown, "fr", choices)))


@dataclass(frozen=True)
class PaperCheck:
    """A field's check of a value read on paper: exactly what the type accepts online.

    Picklable (the reading context goes to worker processes); ocr/ calls it as a
    `ValueCheck` (ocr/interfaces.py) without knowing any type.
    """

    field_type: FieldType
    rules: Rules
    choices: tuple[Choice, ...] = ()

    @property
    def checksum(self) -> bool:
        """Whether the check is a checksum (see FieldType.checksum)."""
        return self.field_type.checksum

    @property
    def lower_case(self) -> bool:
        """Whether the value is read in lower case (see FieldType.lower_case)."""
        return self.field_type.lower_case

    def __call__(self, text: str) -> bool:
        """Whether the type accepts `text`."""
        try:
            return self.field_type.parse(text, self.rules, self.choices) is not None
        except FieldValueError:
            return False

    def plausible(self, text: str) -> bool:
        """Whether the type accepts `text` and finds it plausible (see FieldType.plausible)."""
        return self.grade(text) == 2

    def grade(self, text: str) -> int:
        """0 when the type refuses `text`, 1 when it accepts it, 2 when it is also plausible."""
        try:
            value = self.field_type.parse(text, self.rules, self.choices)
        except FieldValueError:
            return 0
        if value is None:
            return 0
        return 2 if self.field_type.plausible(value, self.rules, self.choices) else 1

    def cell_charsets(self, cells: int) -> tuple[str, ...] | None:
        """What each comb cell may hold (see FieldType.cell_charsets)."""
        return self.field_type.cell_charsets(cells, self.rules)


@dataclass(frozen=True)
class PairCheck:
    """A field confirmed by another read beside it (a postcode by its city).

    An ocr/interfaces.py `PairCheck`, built from the definition's `confirms` rule.
    """

    field_type: FieldType
    field: str
    other: str

    def __call__(self, value: str, other: str) -> PairVerdict:
        """The type's verdict on the two values (UNCONFIRMED when it has none)."""
        return self.field_type.confirm(value, other) or PairVerdict.UNCONFIRMED


@dataclass(frozen=True)
class OptionMarks:
    """What one option's Yes and No boxes hold on paper: each marked, empty or unsure.

    Attributes:
        yes: True when the Yes box is marked, False when empty, None when the ink detector
            cannot tell.
        no: the same for the No box.
    """

    yes: bool | None = False
    no: bool | None = False

    @property
    def inked(self) -> bool:
        """Whether either box holds ink (marked or unsure)."""
        return self.yes is not False or self.no is not False

    @property
    def unsure(self) -> bool:
        """Whether the ink detector could not tell for either box."""
        return self.yes is None or self.no is None


class OptionProblem(StrEnum):
    """Why option rows read on paper go to a clerk (evidence warnings; never auto-applied)."""

    #: Both boxes of one option hold ink: "yes" and "no" at once (or a correction).
    BOTH_BOXES = "both_boxes_marked"
    #: A single choice with "yes" on two options or more.
    SEVERAL_CHOSEN = "several_options_chosen"
    #: A single choice whose option on record got "no" and no other option a "yes".
    NONE_CHOSEN = "no_option_chosen"
    #: A box the ink detector cannot call marked or empty (the ocr/ warning of the same name).
    UNSURE_MARK = "ambiguous_mark"
    #: The value on record holds options the page could not print (no longer choices).
    UNPRINTED_VALUE = "unprinted_current_value"


@dataclass(frozen=True)
class PaperChoice:
    """A choice field's answer read from its option rows.

    Attributes:
        value: the proposed canonical value (None: no option).
        problems: why a clerk must look; empty when every mark is clear and consistent.
    """

    value: str | None
    problems: tuple[OptionProblem, ...] = ()


def option_intents(
    chosen: frozenset[str], marks: Mapping[str, OptionMarks]
) -> tuple[list[str], list[str], list[OptionProblem]]:
    """The options the marks say "yes" and "no" to, in `marks` order, and the problems seen.

    Unsure ink counts as a mark (and is a problem), so that no ink is ever dropped unseen.
    An option with ink in both boxes is taken as a change of its state on record (`chosen`
    holds the options on record): proposing the state it already has would make the diff
    drop it, and the customer's contradictory marks would never reach a clerk.
    """
    yes: list[str] = []
    no: list[str] = []
    problems: list[OptionProblem] = []
    for option, mark in marks.items():
        if not mark.inked:
            continue
        if mark.unsure and OptionProblem.UNSURE_MARK not in problems:
            problems.append(OptionProblem.UNSURE_MARK)
        if mark.yes is not False and mark.no is not False:
            if OptionProblem.BOTH_BOXES not in problems:
                problems.append(OptionProblem.BOTH_BOXES)
            (no if option in chosen else yes).append(option)
        elif mark.yes is not False:
            yes.append(option)
        else:
            no.append(option)
    return yes, no, problems
