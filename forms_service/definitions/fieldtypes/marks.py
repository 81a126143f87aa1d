"""Fields answered by marks: one choice, several choices, a yes/no box, a signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    OnlineControl,
    OptionMarks,
    OptionProblem,
    PaperChoice,
    Rules,
    WidgetKind,
    option_intents,
)


def _ordered(marks: Mapping[str, OptionMarks], choices: Sequence[Choice]) -> dict[str, OptionMarks]:
    """The marks of the field's options in the definition's order (others are ignored)."""
    return {c.value: marks[c.value] for c in choices if c.value in marks}


class SingleChoiceType(FieldType):
    """One option among the field's choices (radio buttons online, squares on paper)."""

    name = "choice"
    widget = WidgetKind.CHOICES
    control = OnlineControl.ONE_OF
    takes_choices = True
    acroform_kinds = frozenset({"radio", "choice", "list"})
    challengeable = False
    option_rows = True

    def read_option_rows(
        self, current: str | None, marks: Mapping[str, OptionMarks], choices: Sequence[Choice]
    ) -> PaperChoice | None:
        """One "yes" selects its option; "no" alone on the option on record is a question.

        Nothing inked: unchanged. "No" on options not on record changes nothing. Two "yes"
        (or "no" on the option on record with no "yes" elsewhere) go to a clerk, who sees
        the first option marked "yes" other than the one on record (or no option) proposed.
        """
        ordered = _ordered(marks, choices)
        if not any(m.inked for m in ordered.values()):
            return None
        chosen = self.options_on_record(current)
        yes, no, problems = option_intents(chosen, ordered)
        if len(yes) > 1:
            problems.append(OptionProblem.SEVERAL_CHOSEN)
            value = next((o for o in yes if o != current), yes[0])
        elif yes:
            value = yes[0]
        elif current in no:
            problems.append(OptionProblem.NONE_CHOSEN)
            value = None
        else:
            value = current
        return PaperChoice(value, tuple(problems))

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        for choice in choices:
            if text == choice.value or text.casefold() == choice.value.casefold():
                return choice.value
        raise FieldValueError("choice")

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        for choice in choices:
            if choice.value == value:
                return choice.labels.get(locale) or next(iter(choice.labels.values()))
        return value or ""


class MultipleChoiceType(FieldType):
    """Several options; canonical form lists them comma-separated in the definition's order."""

    name = "multiple_choice"
    widget = WidgetKind.CHOICES
    control = OnlineControl.ANY_OF
    takes_choices = True
    multiple = True
    acroform_kinds = frozenset({"choice", "list"})
    challengeable = False
    option_rows = True

    def read_option_rows(
        self, current: str | None, marks: Mapping[str, OptionMarks], choices: Sequence[Choice]
    ) -> PaperChoice | None:
        """Each option on its own: "yes" adds it, "no" removes it, nothing keeps its state.

        The proposal is the value on record with exactly the options the customer marked
        changed: on record {a, b}, "no" for b and "yes" for c, a left empty: {a, c}.
        """
        ordered = _ordered(marks, choices)
        if not any(m.inked for m in ordered.values()):
            return None
        known = {c.value for c in choices}
        chosen = set(self.options_on_record(current))
        yes, no, problems = option_intents(frozenset(chosen), ordered)
        if not chosen <= known:
            # Options the page could not print would silently disappear from the proposal.
            problems.append(OptionProblem.UNPRINTED_VALUE)
        chosen = (chosen | set(yes)) - set(no)
        value = ",".join(c.value for c in choices if c.value in chosen)
        return PaperChoice(value or None, tuple(problems))

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, list | tuple | set | frozenset):
            raw = ",".join(str(item) for item in raw)
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        picked = {part.strip().casefold() for part in text.split(",") if part.strip()}
        known = {choice.value.casefold() for choice in choices}
        if not picked <= known:
            raise FieldValueError("choice")
        return ",".join(c.value for c in choices if c.value.casefold() in picked)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        single = SingleChoiceType()
        return ", ".join(single.display(v, locale, choices) for v in (value or "").split(",") if v)

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        return [v for v in (value or "").split(",") if v]

    def options_on_record(self, value: str | None) -> frozenset[str]:
        return frozenset(v for v in (value or "").split(",") if v)


_TRUE = frozenset({"true", "1", "yes", "oui", "on", "y", "x", "t"})
_FALSE = frozenset({"false", "0", "no", "non", "off", "n", "f"})


class CheckboxType(FieldType):
    """A yes/no box (a consent, say); canonical "true" or "false"."""

    name = "checkbox"
    widget = WidgetKind.CHECKBOX
    control = OnlineControl.TICKBOX
    acroform_kinds = frozenset({"checkbox"})
    challengeable = False

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, (bool, int)):
            raw = "true" if raw else "false"
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        lowered = text.casefold().lstrip("/")
        if lowered in _TRUE:
            return "true"
        if lowered in _FALSE:
            return "false"
        raise FieldValueError("checkbox")

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        if rules.must_tick and value != "true":
            raise FieldValueError("must_tick")

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if value is None:
            return ""
        yes_no = {"fr": ("Oui", "Non"), "en": ("Yes", "No")}.get(locale, ("Oui", "Non"))
        return yes_no[0] if value == "true" else yes_no[1]

    def to_source(self, value: str | None) -> object:
        return None if value is None else value == "true"

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        return value == "true"


class SignatureType(FieldType):
    """A signature box: present or not. Never written to a source system."""

    name = "signature"
    widget = WidgetKind.SIGNATURE
    writable = False
    challengeable = False
    acroform_kinds = frozenset({"signature"})

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        if text.casefold() in _TRUE or text == "signed":
            return "signed"
        raise FieldValueError("signature")
