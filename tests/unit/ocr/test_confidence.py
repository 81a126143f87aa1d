"""Confidence: engine confidence, agreement of two readings, checks, and check-guided correction."""

from __future__ import annotations

from forms_service.definitions.fieldtypes import FIELD_TYPES, PaperCheck, Rules
from ocr.confidence import choose_passing, judge
from ocr.interfaces import EngineReading
from ocr.model import ReviewReason

IBAN = "FR7630006000011234567890189"

#: The IBAN type's own paper check (the registry's, as the mailroom hands it to ocr/).
iban_valid = PaperCheck(FIELD_TYPES["iban"], Rules())


def _alternatives(text: str, swaps: dict[int, str]) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Per-character choices: the read character first, the true one second where swapped."""
    return tuple(
        ((char, 0.9), (swaps[i], 0.6)) if i in swaps else ((char, 0.99),)
        for i, char in enumerate(text)
    )


def test_agreeing_confident_readings_are_applied_at_the_lower_confidence() -> None:
    verdict = judge([EngineReading("33000", 0.99), EngineReading("33000", 0.98)], threshold=0.97)
    assert verdict.value == "33000"
    assert verdict.confidence == 0.98  # same engine twice: agreement proves little
    assert verdict.reasons == ()


def test_agreeing_but_unsure_readings_go_to_a_clerk() -> None:
    verdict = judge([EngineReading("0571700337", 0.97), EngineReading("0571700337", 0.6)])
    assert verdict.reasons == (ReviewReason.LOW_CONFIDENCE,)


def test_disagreeing_readings_go_to_a_clerk() -> None:
    verdict = judge([EngineReading("33000", 0.95), EngineReading("38000", 0.9)])
    assert ReviewReason.READINGS_DISAGREE in verdict.reasons


def test_low_confidence_goes_to_a_clerk() -> None:
    verdict = judge([EngineReading("MARTIN", 0.6)])
    assert verdict.value == "MARTIN"
    assert ReviewReason.LOW_CONFIDENCE in verdict.reasons


def test_empty_reading_is_unreadable() -> None:
    assert judge([EngineReading("", 0.0)]).reasons == (ReviewReason.UNREADABLE,)


def test_a_passing_checksum_raises_confidence() -> None:
    verdict = judge(
        [EngineReading(IBAN, 0.96), EngineReading(IBAN, 0.95)], iban_valid, 0.97, checksum=True
    )
    assert verdict.value == IBAN
    assert verdict.confidence == 0.975  # the lower 0.95, its doubt halved
    assert verdict.reasons == ()


def test_the_reading_that_passes_the_check_wins_but_is_still_reviewed() -> None:
    wrong = IBAN[:10] + "8" + IBAN[11:]
    verdict = judge([EngineReading(wrong, 0.97), EngineReading(IBAN, 0.9)], iban_valid)
    assert verdict.value == IBAN
    assert ReviewReason.READINGS_DISAGREE in verdict.reasons


def test_failed_check_is_never_applied() -> None:
    wrong = IBAN[:10] + "8" + IBAN[11:]
    verdict = judge([EngineReading(wrong, 0.99)], iban_valid)
    assert verdict.value == wrong
    assert ReviewReason.FAILED_CHECK in verdict.reasons
    assert verdict.confidence <= 0.3


def test_alternative_characters_that_pass_the_checksum_are_proposed_for_review() -> None:
    wrong = IBAN[:10] + "8" + IBAN[11:]
    reading = EngineReading(wrong, 0.9, _alternatives(wrong, {10: IBAN[10]}))
    verdict = judge([reading], iban_valid)
    assert verdict.value == IBAN
    assert ReviewReason.CORRECTED_BY_CHECK in verdict.reasons
    assert ReviewReason.LOW_CONFIDENCE in verdict.reasons


def test_choose_passing_fixes_two_characters_and_no_more() -> None:
    two_wrong = "FR7630006000O11234567890I89"
    fixed = choose_passing(_alternatives(two_wrong, {12: "0", 24: "1"}), iban_valid)
    assert fixed == IBAN
    three_wrong = "FR7630006000O11234567890I8B"
    assert (
        choose_passing(_alternatives(three_wrong, {12: "0", 24: "1", 26: "9"}), iban_valid) is None
    )


def test_choose_passing_without_alternatives() -> None:
    assert choose_passing((), iban_valid) is None
    assert choose_passing(_alternatives(IBAN, {}), iban_valid) == IBAN


def test_a_garbled_reading_is_not_forced_through_the_checksum() -> None:
    # Seven unsure characters: some 2-character change would pass mod 97 by chance.
    garbled = tuple(
        ((char, 0.6), ("8", 0.5), ("1", 0.4)) if i % 4 == 0 else ((char, 0.99),)
        for i, char in enumerate("FR7630006000O11234567890I89")
    )
    assert choose_passing(garbled, iban_valid) is None
