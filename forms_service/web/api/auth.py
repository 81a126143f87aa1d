"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from forms_service.accounts.service import Role, find_api_token
from forms_service.changes.model import Reviewer
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


class TokenWithoutOwner(ApiForbidden):
    """A token made before tokens had owners: it cannot decide a change set."""

    code = "token_without_owner"


def require_token(*roles: Role, decides: bool = False) -> Callable[[F], F]:
    """Let the request through only with a valid token holding one of `roles`.

    An unknown, revoked or expired token (or one whose owner is deactivated) is refused
    alike (401). With `decides`, the token must belong to a person (403 otherwise): the
    decision is theirs (`g.api_reviewer`), and the four-eyes rule compares persons.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthorized("send 'Authorization: Bearer <token>'")
            now = runtime().clock()
            with runtime().sessions() as session:
                found = find_api_token(session, token.strip(), now=now)
                session.commit()  # last_used_at, when it was more than a minute old
            if found is None:
                raise Unauthorized("unknown, revoked or expired token")
            held = found.roles
            if roles and not (held & set(roles)) and Role.ADMIN not in held:
                raise ApiForbidden("this token lacks the role for this operation")
            if decides and (found.owner_id is None or found.owner_name is None):
                raise TokenWithoutOwner(
                    "this token belongs to no person, so it cannot decide change sets: "
                    "create one with 'forms-service api-tokens create NAME --user USERNAME'"
                )
            g.api_actor = f"api:{found.name}"
            g.api_reviewer = (
                Reviewer(found.owner_name, found.owner_id, via=f"api:{found.name}")
                if found.owner_name is not None
                else None
            )
            g.api_roles = held
            g.api_checked_at = now
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
