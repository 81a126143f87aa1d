"""Domain errors, each carrying the HTTP status and the reason a user is shown."""

from __future__ import annotations


class FormsError(Exception):
    """Base of every error the product reports to a person or a client.

    Attributes:
        status: the HTTP status the web layer answers with.
        code: a stable machine-readable code.
        field: the field concerned, when there is one.
    """

    status = 400
    code = "bad_request"

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class NotFound(FormsError):
    """A thing that does not exist (or that the caller may not know exists)."""

    status = 404
    code = "not_found"


class Conflict(FormsError):
    """The request collides with the current state."""

    status = 409
    code = "conflict"


class Gone(FormsError):
    """A link that worked once and no longer does (expired, revoked, closed)."""

    status = 410
    code = "gone"


class Forbidden(FormsError):
    """The caller is known but not allowed."""

    status = 403
    code = "forbidden"


class TooManyAttempts(FormsError):
    """Too many wrong answers or requests; try again later."""

    status = 429
    code = "too_many_attempts"


class InvalidInput(FormsError):
    """Input that does not pass validation."""

    status = 422
    code = "invalid"


class ConfigurationError(Exception):
    """Settings or definitions that prevent the service from starting."""
