"""The paper reading rule of a choice's option rows (layout 2 on), option by option.

Each option prints its state on record and a Yes and a No box; an empty row means "unchanged"
for that option. The rule belongs to the field type (marks.py); contradictions are problems
that send the field to a clerk.
"""

from __future__ import annotations

import pytest

from forms_service.definitions.fieldtypes import (
    FIELD_TYPES,
    Choice,
    FieldType,
    OptionMarks,
    OptionProblem,
    PaperChoice,
)

CHOICES = tuple(Choice(v, {"fr": v.upper(), "en": v}) for v in ("a", "b", "c", "d"))
YES = OptionMarks(yes=True)
NO = OptionMarks(no=True)
BOTH = OptionMarks(yes=True, no=True)
EMPTY = OptionMarks()
UNSURE_YES = OptionMarks(yes=None)


def _types(multiple: bool) -> FieldType:
    (found,) = (t for t in FIELD_TYPES.values() if t.option_rows and t.multiple is multiple)
    return found


MULTIPLE = _types(True)
SINGLE = _types(False)


def test_only_choice_types_print_option_rows() -> None:
    rows = {t.name for t in FIELD_TYPES.values() if t.option_rows}
    assert rows == {MULTIPLE.name, SINGLE.name}
    assert all(t.takes_choices for t in FIELD_TYPES.values() if t.option_rows)
    other = next(t for t in FIELD_TYPES.values() if not t.option_rows)
    with pytest.raises(NotImplementedError):
        other.read_option_rows(None, {"a": YES}, CHOICES)


@pytest.mark.parametrize(
    ("current", "marks", "expected"),
    [
        # The example: {a, b}, "no" for b, "yes" for c, a left empty -> {a, c}.
        ("a,b", {"b": NO, "c": YES}, "a,c"),
        ("a,b", {"a": EMPTY, "b": NO, "c": YES, "d": EMPTY}, "a,c"),
        # An option left empty keeps its state, whichever it is.
        ("a,b", {"c": YES}, "a,b,c"),
        ("a,b", {"a": NO}, "b"),
        ("a", {"a": NO}, None),
        (None, {"d": YES, "b": YES}, "b,d"),  # canonical order is the definition's
        # Marks that repeat the state on record change nothing.
        ("a,b", {"a": YES, "c": NO}, "a,b"),
    ],
)
def test_multiple_choice_changes_exactly_the_marked_options(
    current: str | None, marks: dict[str, OptionMarks], expected: str | None
) -> None:
    assert MULTIPLE.read_option_rows(current, marks, CHOICES) == PaperChoice(expected, ())


def test_no_ink_is_unchanged_not_an_empty_set() -> None:
    assert MULTIPLE.read_option_rows("a,b", {}, CHOICES) is None
    assert MULTIPLE.read_option_rows("a,b", {"a": EMPTY, "b": EMPTY}, CHOICES) is None
    assert SINGLE.read_option_rows("a", {"a": EMPTY, "c": EMPTY}, CHOICES) is None


def test_both_boxes_of_one_option_go_to_a_clerk_as_a_change() -> None:
    # Proposing the state on record would make the diff drop the ink unseen.
    read = MULTIPLE.read_option_rows("a", {"c": BOTH}, CHOICES)
    assert read == PaperChoice("a,c", (OptionProblem.BOTH_BOXES,))
    read = MULTIPLE.read_option_rows("a", {"a": BOTH, "d": YES}, CHOICES)
    assert read == PaperChoice("d", (OptionProblem.BOTH_BOXES,))


def test_an_unsure_box_counts_as_ink_and_goes_to_a_clerk() -> None:
    read = MULTIPLE.read_option_rows("a", {"b": UNSURE_YES}, CHOICES)
    assert read == PaperChoice("a,b", (OptionProblem.UNSURE_MARK,))
    read = SINGLE.read_option_rows("a", {"b": OptionMarks(no=None)}, CHOICES)
    assert read == PaperChoice("a", (OptionProblem.UNSURE_MARK,))


def test_options_on_record_that_the_page_could_not_print_are_a_problem() -> None:
    read = MULTIPLE.read_option_rows("a,zz", {"b": YES}, CHOICES)
    assert read == PaperChoice("a,b", (OptionProblem.UNPRINTED_VALUE,))


@pytest.mark.parametrize(
    ("current", "marks", "expected"),
    [
        ("a", {"c": YES}, "c"),
        ("a", {"a": NO, "c": YES}, "c"),
        (None, {"b": YES}, "b"),
        ("a", {"a": YES}, "a"),  # "yes" to the option on record: unchanged
        ("a", {"b": NO, "d": NO}, "a"),  # "no" to options not on record: unchanged
        ("a", {"b": NO, "c": YES}, "c"),
    ],
)
def test_single_choice_one_yes_selects_its_option(
    current: str | None, marks: dict[str, OptionMarks], expected: str | None
) -> None:
    assert SINGLE.read_option_rows(current, marks, CHOICES) == PaperChoice(expected, ())


@pytest.mark.parametrize(
    ("current", "marks", "expected"),
    [
        # Two "yes": the clerk sees the first other than the option on record proposed.
        ("a", {"a": YES, "c": YES}, PaperChoice("c", (OptionProblem.SEVERAL_CHOSEN,))),
        ("a", {"b": YES, "c": YES}, PaperChoice("b", (OptionProblem.SEVERAL_CHOSEN,))),
        # "No" to the option on record and "yes" to none: no option, for a clerk to confirm.
        ("a", {"a": NO}, PaperChoice(None, (OptionProblem.NONE_CHOSEN,))),
        # Both boxes of the option on record: taken as "no", and nothing else chosen.
        (
            "a",
            {"a": BOTH},
            PaperChoice(None, (OptionProblem.BOTH_BOXES, OptionProblem.NONE_CHOSEN)),
        ),
        ("a", {"c": BOTH}, PaperChoice("c", (OptionProblem.BOTH_BOXES,))),
    ],
)
def test_single_choice_contradictions_are_problems(
    current: str | None, marks: dict[str, OptionMarks], expected: PaperChoice
) -> None:
    assert SINGLE.read_option_rows(current, marks, CHOICES) == expected


def test_marks_of_unknown_options_are_ignored() -> None:
    assert MULTIPLE.read_option_rows("a", {"zz": YES}, CHOICES) is None
    assert SINGLE.read_option_rows("a", {"zz": YES, "b": YES}, CHOICES) == PaperChoice("b", ())
