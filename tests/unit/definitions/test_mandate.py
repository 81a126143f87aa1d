"""The SEPA mandate of a definition: a real creditor identifier, its field, its type."""

from __future__ import annotations

import pytest

from forms_service.definitions.mandate import SepaMandate, creditor_id_is_valid, parse_mandate


@pytest.mark.parametrize("value", ["FR72ZZZ123456", "DE98ZZZ09999999999"])
def test_real_creditor_identifiers_check(value: str) -> None:
    assert creditor_id_is_valid(value)


@pytest.mark.parametrize("value", ["FR73ZZZ123456", "FR72ZZZ12345#", "fr72zzz123456", ""])
def test_a_mistyped_creditor_identifier_is_refused(value: str) -> None:
    assert not creditor_id_is_valid(value)


def test_every_problem_of_a_mandate_is_said() -> None:
    problems: list[str] = []
    raw = {"field": "nope", "creditor_id": "FR73ZZZ123456", "type": "monthly", "colour": 1}
    assert parse_mandate(raw, problems.append, {"mandate"}) is None
    text = " | ".join(problems)
    assert "unknown key 'colour'" in text
    assert "'sepa_mandate.field' must name the agreement field" in text
    assert "'sepa_mandate.creditor_name' is missing" in text
    assert "'FR73ZZZ123456' is not a valid creditor identifier" in text
    assert "'sepa_mandate.type' must be one of recurrent, one-off" in text


def test_the_mandate_reference_is_unique_per_document_and_at_most_35_characters() -> None:
    mandate = SepaMandate("mandate", "Mutuelle Horizon", "FR72ZZZ123456", "recurrent", "MH-")
    assert mandate.reference("AB12CD34") == "MH-AB12CD34"
    assert (
        len(SepaMandate("m", "x", "FR72ZZZ123456", "one-off", "P" * 20).reference("R" * 30)) == 35
    )
