"""The most probable strings built from per-character alternatives, and the best that passes.

A comb read cell by cell gives each character's alternatives with calibrated probabilities;
the strings they make are enumerated best first (the product of the characters'
probabilities: cells are written and read independently), bounded, and the first one a
field's check accepts is the suggestion. Its probability is the share it holds of the
probability of all the accepted strings found: how likely it is the value written, knowing
that the value written passes the check.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

Alternatives = Sequence[Sequence[tuple[str, float]]]
"""Per character, (candidate, probability) best first."""

#: Candidates enumerated at most, and how much less probable than the best accepted one a
#: candidate may be before the search stops (it could no longer change the suggestion).
LIMIT = 4000
NEGLIGIBLE = 1e-4


def ranked(alternatives: Alternatives, limit: int = LIMIT) -> Iterator[tuple[str, float]]:
    """The strings the alternatives make, most probable first, at most `limit` of them."""
    if not alternatives or any(not choices for choices in alternatives):
        return
    logs = [[math.log(max(p, 1e-12)) for _, p in choices] for choices in alternatives]
    chars = [[char for char, _ in choices] for choices in alternatives]
    start = tuple(0 for _ in alternatives)
    # (-log probability, indexes, first position that may still move): every combination
    # is reached once, from the one differing only at its last moved position.
    heap = [(-sum(row[0] for row in logs), start, 0)]
    count = 0
    while heap and count < limit:
        cost, indexes, first = heapq.heappop(heap)
        count += 1
        yield "".join([chars[i][j] for i, j in enumerate(indexes)]), math.exp(-cost)
        for position in range(first, len(indexes)):
            index = indexes[position] + 1
            if index < len(logs[position]):
                moved = (*indexes[:position], index, *indexes[position + 1 :])
                step = logs[position][indexes[position]] - logs[position][index]
                heapq.heappush(heap, (cost + step, moved, position))


@dataclass(frozen=True)
class Suggestion:
    """The best string a check accepts, and how probable it is.

    Attributes:
        value: the accepted string.
        probability: its share of the probability of all accepted strings found.
        prior: its probability before the check (the product of its characters').
        tried: how many candidates were looked at.
    """

    value: str
    probability: float
    prior: float
    tried: int


def best_passing(
    alternatives: Alternatives,
    accept: Callable[[str], bool],
    limit: int = LIMIT,
    negligible: float = NEGLIGIBLE,
) -> Suggestion | None:
    """The most probable string of the alternatives that `accept` passes, None if none is.

    The search stops after `limit` candidates, or once candidates have become `negligible`
    beside the best accepted one.
    """
    best: tuple[str, float] | None = None
    accepted = 0.0
    tried = 0
    for text, probability in ranked(alternatives, limit):
        tried += 1
        if best is not None and probability < best[1] * negligible:
            break
        if accept(text):
            accepted += probability
            if best is None:
                best = (text, probability)
    if best is None:
        return None
    return Suggestion(best[0], round(best[1] / accepted, 4), round(best[1], 6), tried)
