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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from forms_service.definitions.fieldtypes import FieldType, PairCheck, PaperCheck, edit_distance
from ocr.alternatives import LIMIT, NEGLIGIBLE, Alternatives, Suggestion, ranked
from ocr.geometry import ZoneKind
from ocr.interfaces import PairCheck as ReadPair
from ocr.interfaces import PairVerdict, ValueCheck
from ocr.model import Reading, ReviewReason

#: Alternatives shown per character (besides the character itself).
SHOWN = 3
#: Probability given to a character the reader did not offer (a repaired e-mail domain's).
UNOFFERED = 0.01
#: Weight of the type's letter model (a name's, an e-mail local part's) against the
#: readers' probabilities: the combination's probability times its letters' to this power
#: (1 would be Bayes' rule; the readers' mixed scores are not calibrated well enough for
#: it: 1 measured worse than 0.5 on the benchmark, docs/ocr.md).
LETTER_WEIGHT = 0.5
#: ... among the combinations at least this share as likely to the readers as the most
#: likely one: below it, the readers saw something else (a clear "B" is not made a "P").
RIVAL = 0.25


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


def within(
    alternatives: list[list[tuple[str, float]]], charsets: Sequence[str] | None
) -> list[list[tuple[str, float]]]:
    """Each cell's alternatives that the cell may hold (an IBAN's bank code: digits).

    A cell left with none keeps its own: the search then fails the check, and says so.
    """
    if charsets is None or len(charsets) != len(alternatives):
        return alternatives
    kept = []
    for choices, allowed in zip(alternatives, charsets, strict=True):
        inside = [(c, p) for c, p in choices if c.upper() in allowed]
        kept.append(inside or choices)
    return kept


Letters = Callable[[str], float]
"""How likely a value's letters are (log), as its field's type writes them (fieldtypes/letters.py)."""


def _search(
    alternatives: Alternatives,
    grade_of: Callable[[str], int],
    confirmed: Callable[[str], bool] | None,
    letters: Letters | None = None,
    target: int | None = None,
) -> Suggestion | None:
    """The likeliest combination of the strictest grade found, in one best-first pass.

    Grades: 1 the type accepts it, 2 it is also plausible (a listed postcode), 3 the field
    read beside it also confirms it (its city). With `letters` (an e-mail's local part, a
    name), each combination's probability is weighed by its letters' against the
    reading's (the readers see the ink, the letter model what people write): it only
    re-ranks the combinations the search reaches, as likely under the readers as before. The probability is the combination's share of all combinations found of that
    grade, weighed alike. `target`: the strictest grade `grade_of` gives (known, the search
    stops sooner).
    """
    target = target or (3 if confirmed is not None else 2)
    best: dict[int, tuple[str, float, float]] = {}
    first: dict[int, float] = {}  # the most probable combination's probability per grade
    mass = dict.fromkeys(range(1, 4), 0.0)
    tried = 0
    reference: float | None = None
    top = 1.0
    for text, probability in ranked(alternatives, LIMIT):
        tried += 1
        if target in first and probability < first[target] * NEGLIGIBLE:
            break
        grade = grade_of(text)
        if grade == 2 and confirmed is not None and confirmed(text):
            grade = 3
        if not grade:
            continue
        weight = probability
        if letters is not None:
            known = letters(text)
            if reference is None:
                reference, top = known, probability
            gain = LETTER_WEIGHT * (known - reference)
            # Letters decide between readings the readers find alike, never against a
            # clear reading: a combination far less likely to them can only lose.
            weight *= math.exp(min(50.0, gain) if probability >= RIVAL * top else min(0.0, gain))
        for level in range(1, grade + 1):
            mass[level] += weight
            first.setdefault(level, probability)
            if level not in best or weight > best[level][1]:
                best[level] = (text, weight, probability)
    if not best:
        return None
    level = max(best)
    text, weight, probability = best[level]
    return Suggestion(text, round(weight / mass[level], 4), round(probability, 6), tried)


def _pair_of(field: str, pairs: Sequence[ReadPair]) -> ReadPair | None:
    return next((pair for pair in pairs if pair.field == field), None)


def _corrected(reading: Reading, value: str) -> Reading:
    """The reading with another value, for a clerk to confirm (never applied as it is)."""
    warnings = reading.warnings
    if ReviewReason.CORRECTED_BY_CHECK not in warnings:
        warnings = (*warnings, ReviewReason.CORRECTED_BY_CHECK)
    return replace(reading, value=value, warnings=warnings, confidence=min(reading.confidence, 0.5))


def suggest(
    reading: Reading,
    check: ValueCheck | None,
    pair: ReadPair | None,
    other: str | None,
    letters: Letters | None = None,
) -> Suggested:
    """Search one reading's alternatives with its field's check (and the pair's, if any).

    Args:
        reading: a text or comb reading from ocr/.
        check: the field's paper check (the registry's PaperCheck), if any.
        pair: the check confirming the field by another read beside it (postcode, city).
        other: the value read in that other field.
        letters: how likely a value's letters are, when the field's type knows
            (FieldType.letters_log_probability): a text box with no check is then
            searched with it alone.
    """
    read = reading.read or reading.value or ""
    alternatives = probabilities(reading)
    prior = math.prod(choices[0][1] for choices in alternatives) if alternatives else 0.0
    evidence: dict[str, Any] = {"ocr_value": read}
    if not isinstance(check, PaperCheck) and letters is not None and read:
        found = _search(alternatives, lambda _text: 1, None, letters, target=1)
        value = found.value if found else read
        evidence.update(
            characters=characters(value, alternatives),
            suggestion_probability=found.probability if found else round(prior, 4),
            cross_checks=[],
        )
        return Suggested(
            reading if value == reading.value else _corrected(reading, value), evidence
        )
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

    charsets = check.cell_charsets(len(alternatives)) if reading.kind is ZoneKind.COMB else None
    found = _search(
        within(alternatives, charsets), check.grade, confirmed if paired else None, letters
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
        reading = _corrected(reading, value)
    return Suggested(reading, evidence)


def suggest_page(
    readings: Sequence[Reading],
    checks: Mapping[str, ValueCheck],
    pairs: Sequence[ReadPair | PairCheck] = (),
    letters: Mapping[str, Letters] | None = None,
) -> list[Suggested]:
    """Every reading of a page with its suggestion; marks and empty boxes as they are.

    `letters` gives, per field whose type has a letter model (`letters_of`), how likely a
    value's letters are.
    """
    values = {r.field: r.value for r in readings if r.value is not None}
    suggested = []
    for reading in readings:
        if reading.kind not in (ZoneKind.TEXT, ZoneKind.COMB) or reading.value is None:
            suggested.append(Suggested(reading, {}))
            continue
        pair = _pair_of(reading.field, pairs)
        other = values.get(pair.other) if pair is not None else None
        suggested.append(
            suggest(
                reading, checks.get(reading.field), pair, other, (letters or {}).get(reading.field)
            )
        )
    return [_confirming(s, suggested, pairs) for s in suggested]


def letters_of(types: Mapping[str, FieldType]) -> dict[str, Letters]:
    """Per field (name -> its type), how likely its values' letters are, for the types that know."""
    return {
        field: field_type.letters_log_probability
        for field, field_type in types.items()
        if field_type.letters is not None
    }


def _confirming(
    found: Suggested, page: Sequence[Suggested], pairs: Sequence[ReadPair | PairCheck]
) -> Suggested:
    """A field that confirms another (a city), corrected to what the other one names.

    When the postcode suggested names a locality a letter or two from the city read (a
    quarter of its letters at most), and the two do not confirm each other, the locality
    is suggested: Tesseract's misreadings of handwritten names are mostly one letter.
    """
    reading = found.reading
    pair = next((p for p in pairs if p.other == reading.field), None)
    value = reading.value
    if not isinstance(pair, PairCheck) or value is None or reading.kind is not ZoneKind.TEXT:
        return found
    by_field = {s.reading.field: s.reading.value for s in page}
    code = by_field.get(pair.field)
    if code is None or pair(code, value) is PairVerdict.CONFIRMED:
        return found
    listed = pair.field_type.suggest_confirming(code)
    # The reading as read, or as its letters suggested (the two may differ by a letter).
    near = (
        min(edit_distance(text.upper(), listed) for text in {value, reading.read or value})
        if listed
        else 0
    )
    if listed is None or near > max(1, len(listed) // 4):
        return found
    cross = {"code": pair.field_type.failed_check, "fields": [pair.field, pair.other]}
    evidence = {
        "ocr_value": reading.read or value,
        "suggestion_probability": round(min(reading.confidence, 0.5), 4),
        "characters": [],
        "cross_checks": [{**cross, "alternative": listed}],
    }
    warnings = reading.warnings
    if ReviewReason.CORRECTED_BY_CHECK not in warnings:
        warnings = (*warnings, ReviewReason.CORRECTED_BY_CHECK)
    corrected = replace(
        reading, value=listed, warnings=warnings, confidence=min(reading.confidence, 0.5)
    )
    return Suggested(corrected, evidence)
