"""Short link codes: 100 bits of HMAC, typed back with any case, dashes and look-alikes."""

from __future__ import annotations

import math

from forms_service.core.logs import redact
from forms_service.issuing.shortcodes import (
    ALPHABET,
    CODE_BITS,
    CODE_LENGTH,
    ShortCodes,
    normalise_code,
    short_url,
)
from forms_service.issuing.tokens import SigningKey, new_document_id

KEY = SigningKey("k1", b"s" * 40)
OTHER = SigningKey("k2", b"t" * 40)


def test_a_code_is_20_characters_of_crockford_base_32_carrying_100_bits() -> None:
    assert ALPHABET == "0123456789abcdefghjkmnpqrstvwxyz"
    assert not set("ilou") & set(ALPHABET)
    assert CODE_LENGTH == 20 and CODE_BITS == 100
    assert CODE_BITS >= 96 and CODE_LENGTH * math.log2(len(ALPHABET)) == CODE_BITS
    code = ShortCodes([KEY]).code_for(new_document_id())
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)


def test_codes_are_stable_per_document_and_key_and_spread_over_the_alphabet() -> None:
    codes = ShortCodes([KEY])
    ids = [new_document_id() for _ in range(2000)]
    made = [codes.code_for(i) for i in ids]
    assert made == [codes.code_for(i) for i in ids]
    assert len(set(made)) == len(made)
    # Every position takes every symbol (all 100 bits are used, the first ones too).
    for position in range(CODE_LENGTH):
        assert {c[position] for c in made} == set(ALPHABET), position
    assert ShortCodes([OTHER]).code_for(ids[0]) != made[0]
    rotated = ShortCodes([OTHER, KEY])
    assert rotated.code_for(ids[0], "k1") == made[0]


def test_a_typed_code_is_read_whatever_its_case_dashes_or_look_alikes() -> None:
    code = "0123456789abcdefghjk"
    assert normalise_code(code) == code
    assert normalise_code(" O123-4567-89AB-CDEF-GHJK ") == code
    assert normalise_code("oi23456789abcdefghjk") == "0123456789abcdefghjk"
    assert normalise_code("l123456789abcdefghjk") == "1123456789abcdefghjk"


def test_what_cannot_be_a_code_is_refused() -> None:
    for text in ("", "short", "0123456789abcdefghjku", "0123456789abcdefghju", "é" * 20):
        assert normalise_code(text) is None, text


def test_the_short_url_and_its_redaction_in_logs() -> None:
    assert short_url("https://hz.example/", "0123456789abcdefghjk") == (
        "https://hz.example/r/0123456789abcdefghjk"
    )
    line = 'GET /r/0123456789ABCDEFGHJK?x=1 HTTP/1.1" 302 and /r/zz'
    assert redact(line) == 'GET /r/[code]?x=1 HTTP/1.1" 302 and /r/[code]'
