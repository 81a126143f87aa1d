"""The text-box model's training glyphs, cut from written lines as the reader cuts them (issue 16)."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

import handprint_words

from ocr.glyphs import Glyph, Mask
from ocr.handprint import GLYPH_BOX, SIZE, TEXT_CLASSES

#: A training font of the text-box model (Debian fonts-dejavu-core, a service dependency).
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_a_written_line_gives_one_labelled_glyph_per_character_left_to_right() -> None:
    rng, np_rng = random.Random(3), np.random.default_rng(3)
    made: list[tuple[tuple[np.ndarray, np.ndarray], int]] = []
    while not made:  # a cut gone wrong gives nothing: another draw
        made = handprint_words.line_glyphs(FONT, "Rue 12.ab", TEXT_CLASSES, rng, np_rng)
    assert [TEXT_CLASSES[label] for _, label in made] == list("Rue12.ab")
    (image, _features), _ = made[0]
    assert image.shape == (SIZE, SIZE)
    assert image.max() > 0.5
    assert image[:, : (SIZE - GLYPH_BOX) // 2 - 1].max() == 0  # centred in its margins
    heights = {TEXT_CLASSES[label]: f[0] for (_, f), label in made}
    # The place in the box is kept: a capital is taller than a lower-case "e", a "." tiny.
    assert heights["R"] > heights["e"] > heights["."]


def test_a_cut_that_does_not_find_where_each_character_was_written_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def draw() -> list[object]:
        rng, np_rng = random.Random(5), np.random.default_rng(5)
        return list(handprint_words.line_glyphs(FONT, "abcdef", TEXT_CLASSES, rng, np_rng))

    assert len(draw()) == 6
    real = handprint_words.segment

    def misplaced(mask: Mask, count: int | None = None) -> list[Glyph]:
        # The right count, one letter split and two others merged: labels would be wrong.
        glyphs = real(mask, count)
        merged = replace(glyphs[3], left=glyphs[3].left, right=glyphs[4].right)
        first = replace(glyphs[0], right=(glyphs[0].left + glyphs[0].right) // 2)
        second = replace(glyphs[0], left=first.right)
        return [first, second, *glyphs[1:3], merged, glyphs[5]]

    monkeypatch.setattr(handprint_words, "segment", misplaced)
    assert draw() == []


def test_random_texts_use_the_models_classes_only() -> None:
    rng = random.Random(1)
    texts = [handprint_words.random_text(TEXT_CLASSES, rng) for _ in range(300)]
    assert all(set(t.replace(" ", "")) <= set(TEXT_CLASSES) for t in texts)
    assert any(t.islower() for t in texts) and any(t.isupper() for t in texts)
    assert all(t == " ".join(t.split()) and t for t in texts)
