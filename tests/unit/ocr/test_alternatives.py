"""The best-first search over per-character alternatives (ocr/alternatives.py)."""

from __future__ import annotations

import itertools
import math

from ocr.alternatives import best_passing, ranked

CELLS = [
    [("6", 0.7), ("5", 0.2), ("8", 0.1)],
    [("9", 0.9), ("4", 0.1)],
    [("0", 0.6), ("8", 0.3), ("6", 0.1)],
]


def test_ranked_lists_every_combination_once_most_probable_first() -> None:
    found = list(ranked(CELLS))
    every = {
        "".join(c for c, _ in combo): math.prod(p for _, p in combo)
        for combo in itertools.product(*CELLS)
    }
    assert found[0][0] == "690"
    assert sorted(text for text, _ in found) == sorted(every)
    probabilities = [p for _, p in found]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(math.isclose(p, every[text]) for text, p in found)


def test_ranked_stops_at_its_limit() -> None:
    assert len(list(ranked(CELLS, limit=5))) == 5


def test_best_passing_takes_the_most_probable_accepted_and_its_share() -> None:
    found = best_passing(CELLS, lambda text: text.endswith("8"))
    assert found is not None
    assert found.value == "698"
    # 698 (0.189) among the accepted 698, 598, 898, 648, 548, 848 (0.3 of the mass)
    assert math.isclose(found.probability, 0.189 / 0.3, abs_tol=1e-3)
    assert math.isclose(found.prior, 0.189, abs_tol=1e-6)


def test_best_passing_is_none_when_nothing_passes() -> None:
    assert best_passing(CELLS, lambda text: False) is None
    assert best_passing([], lambda text: True) is None
