"""Confidence of a reading: the engine's, agreement of two readings, and the field's checks.

A value is applied automatically only when it is confident enough AND passes its check;
everything else carries the reasons a clerk must look at it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ocr.interfaces import EngineReading
from ocr.model import ReviewReason

#: Confidence under which a value always goes to a clerk. Measured with
#: benchmarks/scan_accuracy.py (90 pages, 319 values read): Tesseract misreads of
#: handwriting-like fonts reach 0.98 with both readings agreeing; at 0.99 none was applied.
DEFAULT_THRESHOLD = 0.99

Check = Callable[[str], bool]
"""Whether a value read is acceptable (a `ValueCheck` of ocr/interfaces.py, say)."""


@dataclass(frozen=True)
class Verdict:
    """The value chosen among the readings, how sure it is, and why a clerk must look."""

    value: str
    confidence: float
    reasons: tuple[str, ...]


def choose_passing(
    alternatives: Sequence[Sequence[tuple[str, float]]],
    check: Check,
    max_changes: int = 2,
    limit: int = 50,
    uncertain_below: float = 0.95,
) -> str | None:
    """The most likely string built from per-character alternatives that passes `check`.

    Only characters the engine was unsure of (best score under `uncertain_below`) may be
    replaced, and only when there are at most `max_changes` of them; candidates are tried
    best first (the sum of score losses), at most `limit` of them. Without these bounds a
    garbled reading would "pass" a mod-97 checksum by chance about once in 97 tries.
    """
    if not alternatives or any(not choices for choices in alternatives):
        return None
    uncertain = {i for i, choices in enumerate(alternatives) if choices[0][1] < uncertain_below}
    if len(uncertain) > max_changes:
        return None
    best = [choices[0][0] for choices in alternatives]
    # (loss, changes as ((position, choice index), ...))
    heap: list[tuple[float, tuple[tuple[int, int], ...]]] = [(0.0, ())]
    seen: set[tuple[tuple[int, int], ...]] = set()
    tries = 0
    while heap and tries < limit:
        loss, changes = heapq.heappop(heap)
        if changes in seen:
            continue
        seen.add(changes)
        tries += 1
        candidate = list(best)
        for position, index in changes:
            candidate[position] = alternatives[position][index][0]
        text = "".join(candidate)
        if check(text):
            return text
        if len(changes) >= max_changes:
            continue
        changed = {position for position, _ in changes}
        start = max((p for p, _ in changes), default=-1)
        for position in range(start + 1, len(alternatives)):
            if position in changed or position not in uncertain:
                continue
            choices = alternatives[position]
            for index in range(1, len(choices)):
                cost = max(0.0, choices[0][1] - choices[index][1]) + 0.01 * index
                heapq.heappush(heap, (loss + cost, (*changes, (position, index))))
    return None


def _raise(confidence: float, factor: float = 0.5) -> float:
    """Move a confidence towards 1 by shrinking its doubt."""
    return 1.0 - (1.0 - confidence) * factor


def judge(
    readings: Sequence[EngineReading],
    check: Check | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    checksum: bool = False,
) -> Verdict:
    """Combine one or two readings of a box and the field's check into one verdict.

    Two readings by the same engine make errors together more often than chance, so their
    agreement does not raise the confidence: it is the lower of the two, and disagreement
    sends the value to a clerk. Only a checksum (IBAN), which no single misread character
    can pass, raises it.

    Args:
        readings: the box's readings, the first being the primary one (the whole line);
            the second, when present, an independent reading (cell by cell, or rescaled).
        check: the field's check (the caller's rules for the field), if it has one.
        threshold: confidence under which the value goes to a clerk.
        checksum: whether `check` is a checksum.
    """
    usable = [r for r in readings if r.text]
    if not usable:
        return Verdict("", 0.0, (ReviewReason.UNREADABLE,))
    reasons: list[str] = []
    passing = [r for r in usable if check(r.text)] if check is not None else []
    if check is not None and passing:
        chosen = max(passing, key=lambda r: r.confidence)
        confirming = [
            r
            for r in usable
            if r.text == chosen.text
            # a reading whose alternative characters give the same passing value
            # (a cell read "O" with "0" as its second choice, say)
            or (r.alternatives and choose_passing(r.alternatives, check) == chosen.text)
        ]
        confidence = min(r.confidence for r in confirming if r.text == chosen.text)
        if checksum:
            confidence = _raise(confidence)
        if len(confirming) < len(usable):
            reasons.append(ReviewReason.READINGS_DISAGREE)
        return _finish(chosen.text, confidence, reasons, threshold)
    if len({r.text for r in usable}) > 1:
        reasons.append(ReviewReason.READINGS_DISAGREE)
    if check is not None:
        for reading in sorted(usable, key=lambda r: -r.confidence):
            corrected = (
                choose_passing(reading.alternatives, check) if reading.alternatives else None
            )
            if corrected is not None:
                reasons.append(ReviewReason.CORRECTED_BY_CHECK)
                return _finish(
                    corrected, min(reading.confidence, threshold * 0.9), reasons, threshold
                )
        best = max(usable, key=lambda r: r.confidence)
        reasons.append(ReviewReason.FAILED_CHECK)
        return _finish(best.text, min(best.confidence, 0.3), reasons, threshold)
    if reasons:
        best = max(usable, key=lambda r: r.confidence)
        return _finish(best.text, best.confidence * 0.5, reasons, threshold)
    return _finish(usable[0].text, min(r.confidence for r in usable), reasons, threshold)


def _finish(value: str, confidence: float, reasons: list[str], threshold: float) -> Verdict:
    if confidence < threshold and ReviewReason.LOW_CONFIDENCE not in reasons:
        reasons.append(ReviewReason.LOW_CONFIDENCE)
    return Verdict(value, round(confidence, 4), tuple(dict.fromkeys(reasons)))
