"""From zone readings to a paper answer: empty means unchanged, doubt never auto-applies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from forms_service.changes.model import UNREAD
from forms_service.changes.policy import PolicySettings
from forms_service.changes.proposal import Answer, Proposal, plan
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.core.i18n import field_message
from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition
from forms_service.definitions.service import DefinitionSet, load_definitions
from forms_service.intake.mailroom.answers import REVIEW_CAP, answer_of
from forms_service.storage.model import ChangeSetStatus, FieldChangeStatus

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


def _paper_checkbox(definitions: DefinitionSet) -> tuple[FormDefinition, FieldDefinition]:
    """A yes/no field answered on paper, and its form."""
    return next(
        (d, f)
        for d in definitions.values()
        for f in d.fields
        if f.type_name == "checkbox" and Channel.PAPER in f.channels
    )


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
    form, checkbox = _paper_checkbox(definitions)

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


def _proposal(form: FormDefinition, zones: list[dict[str, Any]], base: dict[str, Any]) -> Proposal:
    """The change set the mailroom would propose for these readings, against `base`."""
    answer = answer_of(form, zones)
    record = {str(form.field(name).maps_to): value for name, value in base.items()}
    return plan(
        form,
        Answer(
            submission_id="S1",
            document_id="D1",
            record_key="C000001",
            channel="paper",
            base={name: base.get(name) for name in answer.values},
            values=answer.values,
            evidence=answer.evidence,
        ),
        record,
        PolicySettings(),
        dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize("base", [None, "+33478000000"])
def test_an_inked_box_without_a_value_is_a_change_line_to_key(
    definitions: DefinitionSet, base: str | None
) -> None:
    """Regression (issue 17): ink the reader flagged and could not read was taken for an
    empty box ("unchanged"): the customer's new value was lost and no clerk saw it."""
    form = definitions["contact-update"]
    unreadable = _zone("phone", None, kind="comb", warnings=["unreadable"], ink=0.034)
    answer = answer_of(form, [unreadable, _zone("address_line", None, ink=0.0004)])
    # The empty box (no value, no warning) is "unchanged"; the inked one is not.
    assert answer.values == {"phone": None}
    assert answer.evidence["phone"] == {
        "kind": "scan",
        "crop": "phone-None.png",
        "confidence": 0.0,
        "engine": "fake",
        "warnings": ["unreadable"],
        "read": None,
        "verdict": UNREAD,
    }

    proposal = _proposal(form, [unreadable], {"phone": base})
    (line,) = proposal.fields
    # A line for a clerk whatever the customer had before, never applied as it stands.
    assert line["field"] == "phone" and line["proposed"] is None
    assert (line["outcome"], line["policy"], line["verdict"]) == ("change", "review", UNREAD)
    assert line["status"] is FieldChangeStatus.PENDING
    assert line["evidence"]["crop"] == "phone-None.png"
    assert proposal.outbox is None and proposal.state.status is ChangeSetStatus.OPEN
    # What the clerk reads as the verdict, in the office's languages.
    assert field_message(UNREAD, "en") == (
        "Written but not readable: type the value shown in the scan."
    )


def test_any_warning_without_a_value_is_ink_for_a_clerk(definitions: DefinitionSet) -> None:
    form = definitions["contact-update"]
    # A faint scrawl, the readings disagreeing to nothing: whatever the reason, ink reaches
    # a clerk; only the ink detector's "empty" (no value, no warning) means unchanged.
    answer = answer_of(form, [_zone("city", None, warnings=["faint_ink", "low_confidence"])])
    assert answer.values == {"city": None}
    assert answer.evidence["city"]["verdict"] == UNREAD
    assert answer.evidence["city"]["warnings"] == ["faint_ink", "low_confidence", "unreadable"]
    # An ambiguous square with no clear tick beside it: the clerk says what was meant.
    form, checkbox = _paper_checkbox(definitions)
    unsure = answer_of(
        form,
        [
            _zone(checkbox.name, None, kind="checkbox", choice="true", warnings=["ambiguous_mark"]),
            _zone(checkbox.name, "false", kind="checkbox", choice="false"),
        ],
    )
    assert unsure.values == {checkbox.name: None}
    assert unsure.evidence[checkbox.name]["verdict"] == UNREAD
    assert _proposal(form, [], {}).fields == ()  # nothing read: nothing proposed


def test_readings_of_a_field_not_answered_on_paper_are_left_out(
    definitions: DefinitionSet,
) -> None:
    """A page read before a field left the paper channel proposes nothing for it."""
    bank = definitions["bank-details"]
    assert Channel.PAPER not in bank.field("mandate").channels
    ticked = [
        _zone("mandate", "true", kind="checkbox", choice="true"),
        _zone("mandate", "false", kind="checkbox", choice="false"),
    ]
    assert answer_of(bank, ticked).values == {}
    # A flattened PDF return read by scan answers on the PDF channel: the mandate counts.
    assert answer_of(bank, ticked, channel=Channel.PDF).values == {"mandate": "true"}


def test_the_recognisers_notes_reach_the_evidence_for_the_station(
    definitions: DefinitionSet,
) -> None:
    notes = {
        "characters": [{"c": "7", "p": 0.99, "alt": []}, {"c": "6", "p": 0.6, "alt": [["5", 0.4]]}],
        "suggestion_probability": 0.58,
        "ocr_value": "7b",
        "cross_checks": [{"code": "postcode_city_mismatch", "fields": ["postcode", "city"]}],
    }
    answer = answer_of(
        definitions["contact-update"],
        [_zone("postcode", "75011", kind="comb", **notes), _zone("city", "PARIS")],
    )
    postcode = answer.evidence["postcode"]
    assert {key: postcode[key] for key in notes} == notes
    # A reading without them (Tesseract alone) has none: the station shows what it has.
    assert not {"characters", "suggestion_probability"} & set(answer.evidence["city"])
