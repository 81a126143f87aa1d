"""Issue 16's table for benchmarks/scan_accuracy.py: before (Tesseract alone) and after.

"Before" reads every box with Tesseract as the pipeline did before issue 16 (combs as a
closed-up line and cell by cell); "after" reads comb cells with the shipped handprint model
(ocr/handprint.py), Tesseract being the second opinion, then searches each reading's
alternatives with its field's checks (forms_service/intake/mailroom/suggestions.py): the
value compared is the suggestion a clerk confirms with one key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ocr.geometry import ZoneKind

COMB_TYPES = ("postcode", "phone", "date", "iban")
#: Targets of issue 16, point 3.
TARGETS = {"comb": 0.85, "text": 0.60, "email": 0.50}
#: (field, kind, choice, value, warnings, confidence) as the benchmark's workers return them.
Row = tuple[str, ZoneKind, str | None, str | None, tuple[str, ...], float]


def _rate(good: int, total: int) -> str:
    return f"{good}/{total} = {100 * good / total:5.1f}%" if total else "n/a"


def font_group(font_kind: str, held_out: Collection[str]) -> str:
    """typed, benchmark fonts (the model trained on them) or held-out fonts."""
    if font_kind == "typed":
        return "typed"
    return "held-out fonts" if font_kind in held_out else "benchmark fonts"


def _family(field_type: str) -> str:
    if field_type in COMB_TYPES:
        return "comb"
    return "email" if field_type == "email" else "text"


def _ece(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> float:
    total = 0.0
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        inside = [(p, r) for p, r in pairs if low < p <= high or (index == 0 and p == 0)]
        if inside:
            confidence = sum(p for p, _ in inside) / len(inside)
            accuracy = sum(r for _, r in inside) / len(inside)
            total += len(inside) / len(pairs) * abs(confidence - accuracy)
    return total


def report(
    samples: Sequence[Any],
    before: Mapping[int, Any],
    after: Mapping[int, Any],
    seconds: tuple[float, float],
    held_out: Collection[str],
) -> None:
    """Print exact rates before/after per type and font group, wrong auto-applies, keying."""
    exact: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    family: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    wrong = {"before": 0, "after": 0}
    wrong_lines: list[str] = []
    typing: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    calibration: list[tuple[float, bool]] = []
    for sample in samples:
        old, new = before.get(sample.index), after.get(sample.index)
        if isinstance(old, str) or isinstance(new, str) or old is None or new is None:
            continue
        group = font_group(sample.font_kind, held_out)
        old_values = {r[0]: r for r in old[0] if r[1] in (ZoneKind.TEXT, ZoneKind.COMB)}
        probabilities = new[2]
        for row in new[0]:
            field, kind, _choice, value, _warnings, _confidence = row
            if kind not in (ZoneKind.TEXT, ZoneKind.COMB):
                continue
            expected = sample.answers.texts.get(field)
            previous = old_values.get(field)
            for when, seen in (("after", row), ("before", previous)):
                if seen is not None and not seen[4] and seen[3] != expected:
                    wrong[when] += 1
                    if when == "after":
                        wrong_lines.append(
                            f"page {sample.index} {field}: {seen[3]!r} != {expected!r}"
                        )
            if expected is None:
                continue
            field_type = sample.field_types.get(field, "text")
            right_before = previous is not None and previous[3] == expected
            right_after = value == expected
            for table, key in (
                (exact, (field_type, group)),
                (family, (_family(field_type), group)),
            ):
                table[key][0] += right_before
                table[key][1] += right_after
                table[key][2] += 1
            if group != "typed":
                typing[group][0] += not right_after
                typing[group][1] += 1
                if field in probabilities:
                    calibration.append((probabilities[field], right_after))
    groups = ("typed", "benchmark fonts", "held-out fonts")
    print("\nIssue 16: exact values, before (Tesseract alone) -> after (handprint model + checks):")
    for field_type in sorted({t for t, _ in exact}):
        for group in groups:
            if (field_type, group) in exact:
                b, a, n = exact[(field_type, group)]
                print(f"  {field_type:9s} {group:16s} {_rate(b, n):>18s} -> {_rate(a, n)}")
    print("By kind of box (targets: comb >= 85%, text >= 60%, e-mail >= 50%):")
    for kind in ("comb", "text", "email"):
        for group in groups:
            if (kind, group) in family:
                b, a, n = family[(kind, group)]
                met = "met" if n and a / n >= TARGETS[kind] else "MISSED"
                print(f"  {kind:9s} {group:16s} {_rate(b, n):>18s} -> {_rate(a, n)}  {met}")
    print(
        f"WRONG values applied automatically (text and comb boxes): before {wrong['before']}, "
        f"after {wrong['after']}"
    )
    for line in wrong_lines[:10]:
        print("   ", line)
    for group in groups[1:]:
        if group in typing:
            print(
                f"Written fields a clerk must type, not just confirm ({group}): "
                f"{_rate(*typing[group])} (target <= 25%)"
            )
    if calibration:
        print(
            f"Suggestion probability vs exactness (handwriting): ECE {_ece(calibration):.3f} over "
            f"{len(calibration)} values, mean probability "
            f"{sum(p for p, _ in calibration) / len(calibration):.2f}, exact "
            f"{sum(r for _, r in calibration) / len(calibration):.2f}"
        )
    cpu = [
        [outcome[3] for outcome in results.values() if not isinstance(outcome, str)]
        for results in (before, after)
    ]
    if all(cpu):
        per_page = [1000 * sum(times) / len(times) for times in cpu]
        print(
            f"CPU per page in a worker (read, and suggestions after): before {per_page[0]:.0f} ms, "
            f"after {per_page[1]:.0f} ms ({per_page[0] / per_page[1]:.2f}x the pages per core)"
        )
    before_rate, after_rate = (len(samples) / s * 60 for s in seconds)
    print(
        f"Pages per minute (2 processes): before {before_rate:.0f}, after {after_rate:.0f} "
        f"({after_rate / before_rate:.2f}x; target >= 0.5x)"
    )
