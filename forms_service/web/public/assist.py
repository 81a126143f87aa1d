"""Help while the customer types: what a value suggests for the field it confirms.

A postcode suggests its commune and says whether the city typed beside it matches, before
the customer submits. The question goes in a POST body with the page's CSRF token, never in
an address (a postcode and a city are part of someone's address), and nothing is stored or
logged. The rule is the field type's own (`suggest_confirming`, `confirm`), the one the
paper channel applies.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from forms_service.definitions.fieldtypes.base import FieldValueError
from forms_service.web.context import runtime
from forms_service.web.extensions import limiter

blueprint = Blueprint("assist", __name__)
#: Longest value or name looked at: more is not a postcode, a city or a form's name.
_MAX = 120


def _limit() -> str:
    return runtime().settings.ratelimit_link


@blueprint.post("/assist/confirm")
@limiter.limit(_limit)
def confirm() -> ResponseReturnValue:
    """`{form, field, value, other}` -> `{valid, suggestion, verdict}` for a `confirms` field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    form_id, name, value, other = (body.get(key) for key in ("form", "field", "value", "other"))
    other = "" if other is None else other
    texts = (form_id, name, value, other)
    if not all(isinstance(text, str) and len(text) <= _MAX for text in texts):
        abort(400)
    definitions = runtime().definitions
    if not isinstance(form_id, str) or form_id not in definitions:
        abort(404)
    field = next((f for f in definitions[form_id].fields if f.name == name), None)
    if field is None or field.confirms is None:
        abort(404)
    try:
        canonical = field.type.parse(value, field.rules, field.choices)
    except FieldValueError:
        canonical = None
    if canonical is None:
        return jsonify(valid=False, suggestion=None, verdict=None)
    verdict = field.type.confirm(canonical, other) if other else None
    return jsonify(
        valid=True,
        suggestion=field.type.suggest_confirming(canonical),
        verdict=verdict.value if verdict is not None else None,
    )
