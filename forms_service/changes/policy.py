"""Decide per field: apply at once, one clerk, or two different clerks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms_service.changes.model import VALID, Outcome, Route
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FieldDefinition, Policy


@dataclass(frozen=True)
class PolicySettings:
    """How confident a reading must be for a change to go through without a clerk.

    Attributes:
        auto_apply_min_confidence: the evidence's confidence (0..1) needed for `auto`.
    """

    auto_apply_min_confidence: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.auto_apply_min_confidence <= 1.0:
            raise ValueError("auto_apply_min_confidence must be between 0 and 1")


def verdict_of(field: FieldDefinition, proposed: str | None, evidence: Mapping[str, Any]) -> str:
    """The validator's verdict on a proposed value: VALID or the message key of the problem.

    A channel may already have a verdict in the evidence (an OCR reading a checksum
    refused); the field type and rules are checked again in any case.
    """
    given = evidence.get("verdict")
    if isinstance(given, str) and given and given != VALID:
        return given
    if proposed is None:
        return "required" if field.required else VALID
    try:
        field.parse(proposed)
    except FieldValueError as exc:
        return exc.key
    return VALID


def confidence_of(evidence: Mapping[str, Any]) -> float:
    """The evidence's confidence; typed answers (no confidence given) count as certain."""
    value = evidence.get("confidence", 1.0)
    try:
        confidence = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(confidence, 0.0), 1.0)


def route(
    policy: Policy,
    outcome: Outcome,
    *,
    confidence: float,
    verdict: str,
    settings: PolicySettings,
) -> Route:
    """Combine the field's policy with the evidence and the diff.

    Only a valid, confident, conflict-free change of an `auto` field is applied at once;
    four-eyes fields always need two people; everything else waits for one clerk.
    """
    if policy is Policy.FOUR_EYES:
        return Route.FOUR_EYES
    if (
        policy is Policy.AUTO
        and outcome is Outcome.CHANGE
        and verdict == VALID
        and confidence >= settings.auto_apply_min_confidence
    ):
        return Route.AUTO
    return Route.REVIEW
