"""Document the error answers of an API operation (every error has the problem shape)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Api, Blueprint

from forms_service.web.api.schemas import ProblemSchema

F = TypeVar("F", bound=Callable[..., Any])

#: The security requirement of every token-protected operation.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class ProblemApi(Api):
    """flask-smorest's Api whose default error answer is documented as the problem shape."""

    ERROR_SCHEMA = ProblemSchema


def problems(blueprint: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Declare `statuses` as problem answers of the decorated operation, plus 401."""

    def decorate(view: F) -> F:
        for status in sorted({401, *statuses}, reverse=True):
            view = blueprint.alt_response(status, schema=ProblemSchema)(view)
        decorated: F = blueprint.doc(security=BEARER)(view)
        return decorated

    return decorate
