"""Access codes (issue 15, point 1): an unambiguous alphabet, a check character, 69 bits."""

from __future__ import annotations

import math

import pytest

from forms_service.issuing.accesscodes import (
    ALPHABET,
    CODE_LENGTH,
    DATA_LENGTH,
    AccessCodeCharacter,
    AccessCodeLength,
    MistypedAccessCode,
    access_code_for,
    grouped,
    read_access_code,
)
from forms_service.issuing.tokens import LinkDamage, LinkSigner, SigningKey, damage_of

SECRET = b"k" * 32


def test_the_alphabet_has_no_look_alikes_and_codes_carry_over_50_bits() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert DATA_LENGTH * math.log2(len(ALPHABET)) > 69


def test_a_code_is_derived_again_identically_and_reads_back_in_any_case() -> None:
    code = access_code_for(SECRET, "document-1")
    assert code == access_code_for(SECRET, "document-1")
    assert code != access_code_for(SECRET, "document-2")
    assert code != access_code_for(b"j" * 32, "document-1")
    assert len(code) == CODE_LENGTH
    printed = grouped(code)
    assert [len(group) for group in printed.split("-")] == [5, 5, 5]
    assert read_access_code(printed.lower()) == code
    assert read_access_code(" " + printed.replace("-", " ") + " ") == code


def test_every_single_typo_and_every_swap_of_neighbours_is_caught() -> None:
    for number in range(40):
        code = access_code_for(SECRET, f"document-{number}")
        for position in range(CODE_LENGTH):
            for other in ALPHABET:
                if other == code[position]:
                    continue
                typo = code[:position] + other + code[position + 1 :]
                with pytest.raises(MistypedAccessCode):
                    read_access_code(typo)
            if position + 1 < CODE_LENGTH and code[position] != code[position + 1]:
                swapped = (
                    code[:position] + code[position + 1] + code[position] + code[position + 2 :]
                )
                with pytest.raises(MistypedAccessCode):
                    read_access_code(swapped)


def test_a_short_code_and_a_look_alike_are_told_apart_from_a_typo() -> None:
    code = access_code_for(SECRET, "document-1")
    with pytest.raises(AccessCodeLength):
        read_access_code(code[:-1])
    with pytest.raises(AccessCodeCharacter):
        read_access_code("0" + code[1:])


def test_a_broken_long_link_is_recognised_as_cut_or_lower_cased() -> None:
    import datetime as dt

    signer = LinkSigner([SigningKey.parse("k1:" + "s" * 32)])
    token = signer.sign("Ab3dEf6hIj9kLm2nOp5qRs", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert damage_of(token.lower()) is LinkDamage.LOWERCASED
    assert damage_of(token[:30].lower()) is LinkDamage.LOWERCASED
    for cut in (10, 22, 30, len(token) - 3):
        assert damage_of(token[:cut]) is LinkDamage.TRUNCATED, cut
    assert damage_of(token[:-4] + "AAAA") is LinkDamage.ALTERED
    assert damage_of("not/a.token!") is LinkDamage.ALTERED
