"""From zone readings to a paper answer: empty means unchanged, doubt never auto-applies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.service import DefinitionSet, load_definitions
from forms_service.intake.mailroom.answers import REVIEW_CAP, answer_of

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def definitions() -> DefinitionSet:
    return load_definitions(ROOT / "form_definitions", connectors={"crm": DEMO_CRM_RECORD_TYPES})


def _zone(field: str, value: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "field": field,
        "kind": extra.pop("kind", "text"),
        "value": value,
        "confidence": extra.pop("confidence", 0.97),
        "crop": f"{field}-{extra.get('choice')}.png",
        "warnings": extra.pop("warnings", []),
        "engine": "fake",
        **extra,
    }


def test_empty_boxes_are_left_out_and_inked_ones_parsed(definitions: DefinitionSet) -> None:
    form = definitions["contact-update"]
    answer = answer_of(
        form,
        [
            _zone("address_line", None),
            _zone("city", "bordeaux"),
            _zone("phone", "0612345678", kind="comb"),
            _zone("signature", "signed", kind="signature"),
        ],
    )
    assert answer.values == {"city": "bordeaux", "phone": "+33612345678", "signature": "signed"}
    assert answer.raw_values["phone"] == "0612345678"
    city = answer.evidence["city"]
    # Handwritten text nothing can cross-check always waits for a clerk.
    assert city == {
        "kind": "scan",
        "crop": "city-None.png",
        "confidence": REVIEW_CAP,
        "engine": "fake",
        "warnings": ["unverifiable"],
        "read": "bordeaux",
    }
    assert answer.evidence["phone"]["confidence"] == REVIEW_CAP
    assert answer.evidence["signature"]["confidence"] == 0.97


def test_only_self_checking_readings_keep_their_confidence(definitions: DefinitionSet) -> None:
    bank = definitions["bank-details"]
    iban_field = next(f.name for f in bank.fields if f.type_name == "iban")
    iban = answer_of(bank, [_zone(iban_field, "FR7630006000011234567890189", kind="comb")])
    assert iban.evidence[iban_field]["confidence"] == 0.97
    assert iban.evidence[iban_field]["warnings"] == []

    form = definitions["contact-update"]
    alone = answer_of(form, [_zone("postcode", "33000", kind="comb")])
    assert alone.evidence["postcode"]["confidence"] == REVIEW_CAP
    confirmed = answer_of(
        form, [_zone("postcode", "33000", kind="comb"), _zone("city", "BORDEAUX")]
    )
    assert confirmed.evidence["postcode"]["confidence"] == 0.97
    assert confirmed.evidence["city"]["confidence"] == REVIEW_CAP
    doubted = answer_of(
        form,
        [
            _zone("postcode", "33000", kind="comb", warnings=["unconfirmed"]),
            _zone("city", "LYON", warnings=["unconfirmed"]),
        ],
    )
    assert doubted.evidence["postcode"]["confidence"] == REVIEW_CAP


def test_refused_values_and_flagged_readings_are_capped_below_auto_apply(
    definitions: DefinitionSet,
) -> None:
    form = definitions["contact-update"]
    answer = answer_of(
        form,
        [
            _zone("email", "jean@@example", confidence=0.99),
            _zone("city", "LYON", confidence=0.99, warnings=["readings_disagree"]),
        ],
    )
    assert answer.values["email"] == "jean@@example"
    assert answer.evidence["email"]["verdict"] == "email"
    assert answer.evidence["email"]["confidence"] == REVIEW_CAP
    assert answer.evidence["city"]["confidence"] == REVIEW_CAP
    assert "verdict" not in answer.evidence["city"]


def test_squares_of_yes_no_and_choice_fields(definitions: DefinitionSet) -> None:
    form = next(d for d in definitions.values() if any(f.type_name == "checkbox" for f in d.fields))
    checkbox = next(f for f in form.fields if f.type_name == "checkbox")

    def squares(yes: str | None, no: str | None) -> list[dict[str, Any]]:
        return [
            _zone(checkbox.name, yes, kind="checkbox", choice="true"),
            _zone(checkbox.name, no, kind="checkbox", choice="false"),
        ]

    assert answer_of(form, squares("false", "false")).values == {}
    ticked_no = answer_of(form, squares("false", "true"))
    assert ticked_no.values == {checkbox.name: "false"}
    assert ticked_no.evidence[checkbox.name]["crop"] == f"{checkbox.name}-false.png"
    both = answer_of(form, squares("true", "true"))
    assert both.evidence[checkbox.name]["confidence"] <= REVIEW_CAP
    assert "ambiguous_mark" in both.evidence[checkbox.name]["warnings"]
    unsure = answer_of(form, squares(None, "false"))
    assert "ambiguous_mark" in unsure.evidence[checkbox.name]["warnings"]
    assert unsure.evidence[checkbox.name]["confidence"] <= REVIEW_CAP


def _rows(
    field: str, options: tuple[str, ...], marked: dict[tuple[str, str], str | None]
) -> list[dict[str, Any]]:
    """The Yes and No boxes of every option, as the reader stores them (layout 2 on)."""
    return [
        _zone(
            field,
            marked.get((option, answer), "false"),
            kind="checkbox",
            choice=option,
            answer=answer,
            confidence=0.5 if marked.get((option, answer), "false") is None else 0.99,
        )
        for option in options
        for answer in ("yes", "no")
    ]


INTERESTS = ("savings", "insurance", "credit", "retirement")


def test_option_rows_change_exactly_the_marked_options(definitions: DefinitionSet) -> None:
    form = definitions["consent-preferences"]
    zones = _rows("interests", INTERESTS, {("insurance", "no"): "true", ("credit", "yes"): "true"})
    answer = answer_of(form, zones, {"interests": "savings,insurance"})
    assert answer.values == {"interests": "savings,credit"}
    assert answer.raw_values == {"interests": "insurance: no, credit: yes"}
    evidence = answer.evidence["interests"]
    assert evidence["warnings"] == []
    assert evidence["confidence"] == 0.99  # clear marks: an auto-apply field may go through
    assert evidence["read"] == "insurance: no, credit: yes"
    assert evidence["crop"] == "interests-insurance.png"


def test_option_rows_left_empty_are_no_answer(definitions: DefinitionSet) -> None:
    form = definitions["consent-preferences"]
    answer = answer_of(form, _rows("interests", INTERESTS, {}), {"interests": "savings"})
    assert answer.values == {}
    # Without a snapshot the options on record are none: still nothing marked, no answer.
    assert answer_of(form, _rows("interests", INTERESTS, {})).values == {}


def test_doubtful_option_rows_never_auto_apply(definitions: DefinitionSet) -> None:
    form = definitions["consent-preferences"]
    channels = ("email", "sms", "post")
    two_yes = answer_of(
        form,
        _rows("preferred_channel", channels, {("sms", "yes"): "true", ("post", "yes"): "true"}),
        {"preferred_channel": "email"},
    )
    assert two_yes.values == {"preferred_channel": "sms"}
    assert two_yes.evidence["preferred_channel"]["warnings"] == ["several_options_chosen"]
    assert two_yes.evidence["preferred_channel"]["confidence"] == REVIEW_CAP
    unsure = answer_of(
        form,
        _rows("interests", INTERESTS, {("credit", "yes"): None}),
        {"interests": "savings"},
    )
    assert unsure.values == {"interests": "savings,credit"}
    assert unsure.evidence["interests"]["warnings"] == ["ambiguous_mark"]
    assert unsure.evidence["interests"]["read"] == "credit: ?"
    assert unsure.evidence["interests"]["confidence"] <= REVIEW_CAP
    refused = answer_of(
        form,
        _rows("preferred_channel", channels, {("email", "no"): "true"}),
        {"preferred_channel": "email"},
    )
    assert refused.values == {"preferred_channel": None}
    assert refused.evidence["preferred_channel"]["warnings"] == ["no_option_chosen"]
    assert refused.evidence["preferred_channel"]["confidence"] == REVIEW_CAP


def test_layout_1_squares_still_read_as_the_whole_answer(definitions: DefinitionSet) -> None:
    # A page printed before layout 2 said "tick your interests": its reading is unchanged.
    form = definitions["consent-preferences"]
    squares = [
        _zone(
            "interests", "true" if option == "credit" else "false", kind="checkbox", choice=option
        )
        for option in INTERESTS
    ]
    answer = answer_of(form, squares, {"interests": "savings,insurance"})
    assert answer.values == {"interests": "credit"}
    assert answer.evidence["interests"]["read"] == "credit"
