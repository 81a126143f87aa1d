"""The suggestion a clerk confirms: a reading's per-character alternatives meet its field's checks.

ocr/ reads each comb cell with calibrated alternatives (ocr/handprint.py) and each text box
with Tesseract's. Here they are searched, most probable combination first
(ocr/alternatives.py), with the checks of the field's type in the registry: an IBAN's
mod-97 and country length, a postcode in the list and confirmed by the city read on the
same page, a phone number of the numbering plan, a real date, an e-mail address at a known
provider. The first combination that passes becomes the suggestion, with its probability.

A suggestion other than what the reader read carries `corrected_by_check`: it goes to a
clerk, who confirms it with one key. Nothing here makes a value apply automatically that
ocr/ would have sent to a clerk: warnings are only added.

The evidence each stored reading gains (the review screen's contract):
- "ocr_value": what the reader read, before the search;
- "suggestion_probability": the probability of the suggested value;
- "characters": per character of the suggestion, {"c", "p", "alt": [[char, p], ...]};
- "cross_checks": the failed checks, [{"code", "fields", "alternative"}], the alternative
  being the value that would pass, when one is found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from forms_service.definitions.fieldtypes import PairCheck, PaperCheck
from ocr.alternatives import Alternatives, Suggestion, best_passing
from ocr.geometry import ZoneKind
from ocr.interfaces import PairCheck as ReadPair
from ocr.interfaces import PairVerdict, ValueCheck
from ocr.model import Reading, ReviewReason

#: Alternatives shown per character (besides the character itself).
SHOWN = 3
#: Probability given to a character the reader did not offer (a repaired e-mail domain's).
UNOFFERED = 0.01


@dataclass(frozen=True)
class Suggested:
    """A reading with its suggested value, and the evidence the review screen shows."""

    reading: Reading
    evidence: Mapping[str, Any]


def probabilities(reading: Reading) -> list[list[tuple[str, float]]]:
    """The reading's alternatives as probabilities per character.

    Comb cells come calibrated; Tesseract's scores are only scaled so that a character's
    add up to at most 1. A reading without alternatives gets its confidence per character.
    """
    read = reading.read or ""
    if len(reading.alternatives) != len(read) or not read:
        share = reading.confidence ** (1 / max(1, len(read)))
        return [[(char, share)] for char in read]
    rows = []
    for choices in reading.alternatives:
        total = sum(p for _, p in choices)
        scale = 1 / total if total > 1 else 1.0
        rows.append([(char, p * scale) for char, p in choices if p > 0] or [(choices[0][0], 0.0)])
    return rows


def characters(value: str, alternatives: Alternatives) -> list[dict[str, Any]]:
    """Per character of `value`: its probability and the other candidates (same length only)."""
    if len(value) != len(alternatives):
        return []
    shown = []
    for char, choices in zip(value, alternatives, strict=True):
        found = dict(choices)
        others = [[c, round(p, 4)] for c, p in choices if c != char][:SHOWN]
        shown.append({"c": char, "p": round(found.get(char, 0.0), 4), "alt": others})
    return shown


def _likelihood(value: str, alternatives: Alternatives) -> float:
    """The probability of `value` under the alternatives (unoffered characters: UNOFFERED)."""
    if len(value) != len(alternatives):
        return 0.0
    return math.prod(
        dict(choices).get(char, UNOFFERED)
        for char, choices in zip(value, alternatives, strict=True)
    )


def _pair_of(field: str, pairs: Sequence[ReadPair]) -> ReadPair | None:
    return next((pair for pair in pairs if pair.field == field), None)


def suggest(
    reading: Reading, check: ValueCheck | None, pair: ReadPair | None, other: str | None
) -> Suggested:
    """Search one reading's alternatives with its field's check (and the pair's, if any).

    Args:
        reading: a text or comb reading from ocr/.
        check: the field's paper check (the registry's PaperCheck), if any.
        pair: the check confirming the field by another read beside it (postcode, city).
        other: the value read in that other field.
    """
    read = reading.read or reading.value or ""
    alternatives = probabilities(reading)
    prior = math.prod(choices[0][1] for choices in alternatives) if alternatives else 0.0
    evidence: dict[str, Any] = {"ocr_value": read}
    if not isinstance(check, PaperCheck) or not read:
        evidence.update(
            characters=characters(read, alternatives) if reading.kind is ZoneKind.COMB else [],
            suggestion_probability=round(prior, 4),
            cross_checks=[],
        )
        return Suggested(reading, evidence)
    paired = pair is not None and other is not None

    def confirmed(text: str) -> bool:
        return pair is not None and other is not None and pair(text, other) is PairVerdict.CONFIRMED

    found: Suggestion | None = None
    if paired:
        found = best_passing(alternatives, lambda t: check.plausible(t) and confirmed(t))
    found = (
        found or best_passing(alternatives, check.plausible) or best_passing(alternatives, check)
    )
    value, probability = (found.value, found.probability) if found else (read, prior)
    if not check.plausible(value):
        repaired = check.field_type.repairs(value)
        if len(repaired) == 1 and check.plausible(repaired[0]):
            value, probability = repaired[0], round(0.5 * prior, 4)
    cross: list[dict[str, Any]] = []
    code = check.field_type.failed_check
    both = [reading.field, pair.other] if pair is not None and paired else [reading.field]
    if code is not None and not check.plausible(read):
        alternative = value if value != read and check.plausible(value) else None
        cross.append({"code": code, "fields": both, "alternative": alternative})
    elif code is not None and paired and not confirmed(read):
        alternative = value if value != read and confirmed(value) else None
        if alternative is None and other is not None:
            # The city read beside it names its postcodes: the likeliest under the cells'
            # alternatives is the value that would pass.
            codes = sorted(
                check.field_type.confirmed_by(other), key=lambda c: -_likelihood(c, alternatives)
            )
            alternative = codes[0] if codes else None
        cross.append({"code": code, "fields": both, "alternative": alternative})
    evidence.update(
        characters=characters(value, alternatives),
        suggestion_probability=round(probability, 4),
        cross_checks=cross,
    )
    if value != reading.value:
        warnings = reading.warnings
        if ReviewReason.CORRECTED_BY_CHECK not in warnings:
            warnings = (*warnings, ReviewReason.CORRECTED_BY_CHECK)
        reading = replace(
            reading, value=value, warnings=warnings, confidence=min(reading.confidence, 0.5)
        )
    return Suggested(reading, evidence)


def suggest_page(
    readings: Sequence[Reading],
    checks: Mapping[str, ValueCheck],
    pairs: Sequence[ReadPair | PairCheck] = (),
) -> list[Suggested]:
    """Every reading of a page with its suggestion; marks and empty boxes as they are."""
    values = {r.field: r.value for r in readings if r.value is not None}
    suggested = []
    for reading in readings:
        if reading.kind not in (ZoneKind.TEXT, ZoneKind.COMB) or reading.value is None:
            suggested.append(Suggested(reading, {}))
            continue
        pair = _pair_of(reading.field, pairs)
        other = values.get(pair.other) if pair is not None else None
        suggested.append(suggest(reading, checks.get(reading.field), pair, other))
    return suggested
