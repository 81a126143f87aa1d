"""Domain errors, each carrying the HTTP status and the reason a user is shown."""

from __future__ import annotations

from collections.abc import Mapping


class FormsError(Exception):
    """Base of every error the product reports to a person or a client.

    Attributes:
        status: the HTTP status the web layer answers with.
        code: a stable machine-readable code.
        field: the field concerned, when there is one.
        message: the reason as a gettext msgid (English, `%(name)s` for a parameter), which
            screens translate when they show it (`N_` marks it for the catalogues).
        params: the parameters of `message`.
        reason: `message` with its parameters, in English (what the API and the logs say).
    """

    status = 400
    code = "bad_request"

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.message = reason
        self.params = dict(params or {})
        self.reason = reason % self.params if self.params else reason
        super().__init__(self.reason)
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
