"""The steps of opening a link, per purpose: only the form page shows personal values."""

from __future__ import annotations

from forms_service.intake.online.model import OPENINGS, Purpose


def test_every_purpose_has_its_steps() -> None:
    assert set(OPENINGS) == set(Purpose)


def test_only_the_form_page_prefills_and_signs() -> None:
    assert [p for p in Purpose if OPENINGS[p].shows_values] == [Purpose.SHOW]


def test_the_identity_question_is_never_asked_of_its_own_answer() -> None:
    assert not OPENINGS[Purpose.IDENTIFY].asks_identity
    assert all(OPENINGS[p].asks_identity for p in Purpose if p is not Purpose.IDENTIFY)


def test_answers_are_refused_once_processed_but_the_confirmation_still_shows() -> None:
    assert OPENINGS[Purpose.SHOW].must_be_open and OPENINGS[Purpose.ANSWER].must_be_open
    assert not OPENINGS[Purpose.CONFIRM].must_be_open
    assert not OPENINGS[Purpose.IDENTIFY].must_be_open
