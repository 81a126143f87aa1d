"""GSM 03.38 segment counting, on known vectors and on the code table itself."""

from __future__ import annotations

import pytest

from forms_service.delivery.gsm import (
    BASIC,
    EXTENSION,
    Encoding,
    count_segments,
    is_gsm,
    outside_gsm,
    septets,
)


def test_the_basic_table_has_128_codes_in_their_places() -> None:
    assert len(BASIC) == 128
    # Spot checks against 3GPP TS 23.038 table 6.2.1.
    assert BASIC[0x00] == "@"
    assert BASIC[0x04] == "è"
    assert BASIC[0x05] == "é"
    assert BASIC[0x09] == "Ç"
    assert BASIC[0x0A] == "\n"
    assert BASIC[0x1B] == "\x1b"
    assert BASIC[0x1F] == "É"
    assert BASIC[0x24] == "¤"
    assert BASIC[0x40] == "¡"
    assert BASIC[0x5F] == "§"
    assert BASIC[0x60] == "¿"
    assert BASIC[0x7F] == "à"
    assert len(set(BASIC)) == 128


def test_the_extension_table_is_the_ten_escaped_characters() -> None:
    assert sorted(EXTENSION) == sorted("\f^{}\\[~]|€")
    assert all(septets(c) == 2 for c in EXTENSION)


@pytest.mark.parametrize("character", list("éèùìòàÇÉÄÖÑÜäöñüß£¥§¿¡ØøÅåÆæΔΩ@$_"))
def test_french_accents_and_symbols_of_the_basic_set_are_gsm(character: str) -> None:
    assert is_gsm(character)
    assert septets(character) == 1


@pytest.mark.parametrize("character", [*"çâêîôûëïÿœÀÂÊÎÔÛËÏŒ’‘“”«»…–—", "\xa0", "😀"])
def test_characters_french_texts_often_hold_are_outside_gsm(character: str) -> None:
    assert not is_gsm(character)
    with pytest.raises(ValueError, match="not in the GSM"):
        septets(character)


def test_160_basic_characters_are_one_segment_and_161_two() -> None:
    one = count_segments("a" * 160)
    assert (one.encoding, one.units, one.segments, one.per_segment) == (Encoding.GSM7, 160, 1, 160)
    two = count_segments("a" * 161)
    assert (two.units, two.segments, two.per_segment) == (161, 2, 153)


def test_concatenated_gsm_segments_hold_153_septets() -> None:
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    assert count_segments("é" * 459).segments == 3
    assert count_segments("é" * 460).segments == 4


def test_an_extension_character_counts_two_septets() -> None:
    assert count_segments("€" * 80).units == 160
    assert count_segments("€" * 80).segments == 1
    assert count_segments("a" * 159 + "€").segments == 2
    assert count_segments("a" * 158 + "[").segments == 1


def test_an_escape_pair_is_never_split_across_segments() -> None:
    # 152 septets, then a 2-septet character: it goes whole into the second segment.
    text = "a" * 152 + "€" + "a" * 152
    count = count_segments(text)
    assert count.units == 306
    assert count.segments == 3  # 306 septets would fit 2 segments if the pair could be split


def test_an_empty_text_is_one_segment() -> None:
    assert count_segments("").segments == 1


def test_one_character_outside_gsm_makes_the_whole_text_ucs2() -> None:
    count = count_segments("a" * 69 + "ç")
    assert (count.encoding, count.units, count.segments, count.per_segment) == (
        Encoding.UCS2,
        70,
        1,
        70,
    )
    assert count.forced_by == "ç"
    assert count_segments("a" * 70 + "ç").segments == 2
    assert count_segments("’" * 134).segments == 2
    assert count_segments("’" * 135).segments == 3


def test_a_character_outside_the_bmp_counts_two_code_units_and_stays_whole() -> None:
    assert count_segments("😀" * 35).units == 70
    assert count_segments("😀" * 35).segments == 1
    # 66 units, then a surrogate pair that would straddle the boundary.
    count = count_segments("a" * 66 + "😀" + "a" * 66)
    assert count.units == 134
    assert count.segments == 3


def test_the_description_names_the_character_that_forced_ucs2() -> None:
    text = "Vous n’avez rien à faire " + "x" * 120
    assert count_segments(text).describe() == (
        "’ (U+2019) is outside GSM-7: the SMS is UCS-2, 145 code units, 3 segments of 67"
    )
    assert count_segments("Bonjour").describe() == "the SMS is GSM-7, 7 septets, 1 segment of 160"


def test_outside_gsm_lists_each_offending_character_once() -> None:
    assert outside_gsm("Ça coûte, ça coûte’") == ["û", "ç", "’"]
