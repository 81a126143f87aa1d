"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from forms_service.accounts.service import Role, find_api_token, roles_of
from forms_service.core.errors import FormsError
from forms_service.web.context import runtime

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(FormsError):
    """No valid credentials."""

    status = 401
    code = "unauthorized"


class ApiForbidden(FormsError):
    """Valid credentials without the role needed."""

    status = 403
    code = "forbidden"


def require_token(*roles: Role) -> Callable[[F], F]:
    """Let the request through only with a valid token holding one of `roles`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthorized("send 'Authorization: Bearer <token>'")
            with runtime().sessions() as session:
                found = find_api_token(session, token.strip())
            if found is None:
                raise Unauthorized("unknown or revoked token")
            held = roles_of(found)
            if roles and not (held & set(roles)) and Role.ADMIN not in held:
                raise ApiForbidden("this token lacks the role for this operation")
            g.api_actor = f"api:{found.name}"
            g.api_roles = held
            g.api_checked_at = runtime().clock()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
