"""Request guards that hold for every audience before any view runs."""

from __future__ import annotations

import json
from typing import Any

from flask import Request, request

from forms_service.core.errors import InvalidInput
from forms_service.web.context import runtime

_NUL = "\x00"
#: Nesting no request body of the API comes near; deeper is refused, not walked.
_MAX_DEPTH = 32
#: Digits no integer the API takes comes near (its largest are 10); longer is refused with
#: the member named, before Python's own limit (4,300 digits) fails the parse with a 500.
_MAX_INT_DIGITS = 64
_SURROGATE = "text must not contain lone surrogates (\\ud800-\\udfff)"
_TOO_LONG = f"a number must not have more than {_MAX_INT_DIGITS} digits"


class _Oversized(int):
    """A JSON integer with too many digits, kept aside so that its member can be named."""


def refuse_unstorable_characters() -> None:
    r"""Refuse NUL characters, lone surrogates and oversized integers in the request.

    No text the service stores or looks up may contain either: PostgreSQL refuses NUL, and
    a lone surrogate ("\ud800" in JSON) cannot be encoded to UTF-8 for any database, the
    audit chain or a log line. Both are refused here with a clear 422 instead of failing
    deep inside a query with a 500. (Form and query bytes that are not UTF-8 are already
    decoded by werkzeug with replacement characters.) A JSON body is read here once for
    all: any failure of the parser other than malformed JSON (which the view's parser
    answers with a 400) is a 422 too, never a 500.

    Raises:
        InvalidInput: the request carries such a character or number (the field is named
            when known).
    """
    if _NUL in request.path or not _encodable(request.path):
        raise InvalidInput("the address contains a character that is not text", field="path")
    for source in (request.args, request.form):
        for name, values in source.lists():
            # werkzeug gives a multipart part whose name it cannot read the name None
            texts = [name or "", *(value for value in values if isinstance(value, str))]
            if any(_NUL in text or not _encodable(text) for text in texts):
                raise InvalidInput("text must not contain NUL characters", field=_shown(name or ""))
    if request.is_json:
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw or b"\x00" in raw:
            raise InvalidInput("text must not contain NUL characters", field="body")
        try:
            body = json.loads(raw, parse_int=_bounded_int)
        except RecursionError:
            # '[' * 100000 made the API's own parser fail with a 500.
            raise InvalidInput("the JSON body nests too deep", field="body") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return  # malformed JSON: the view's parser says what is wrong with it
        except ValueError:
            raise InvalidInput("the JSON body cannot be read", field="body") from None
        refused = _refused_member(body)
        if refused is not None:
            field, reason = refused
            raise InvalidInput(reason, field=field)


def _bounded_int(digits: str) -> int:
    if len(digits) > _MAX_INT_DIGITS + 1:  # + 1: the sign
        return _Oversized(0)
    return int(digits)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    return name.encode("utf-8", "replace").decode("utf-8")[:64]


def _refused_member(value: Any, name: str = "body", depth: int = 0) -> tuple[str, str] | None:
    """The first JSON member holding unencodable text or an oversized integer, else None.

    Returns:
        The member's name and the reason it is refused.
    """
    if depth > _MAX_DEPTH:
        raise InvalidInput("the JSON body nests too deep", field="body")
    if isinstance(value, str):
        return None if _encodable(value) else (name, _SURROGATE)
    if isinstance(value, _Oversized):
        return name, _TOO_LONG
    if isinstance(value, dict):
        for key, member in value.items():
            if not _encodable(key):
                return _shown(key), _SURROGATE
            found = _refused_member(member, key[:64], depth + 1)
            if found is not None:
                return found
    if isinstance(value, list):
        for member in value:
            found = _refused_member(member, name, depth + 1)
            if found is not None:
                return found
    return None


#: The views that take a mailroom batch: MAILROOM_MAX_BATCH_BYTES caps them, not the
#: customers' MAX_CONTENT_LENGTH (a morning's scans are hundreds of MB).
BATCH_ENDPOINTS = frozenset({"mailroom.upload", "api_scans.scans_create"})
#: Room for the multipart envelope around the files (boundaries, headers, the CSRF field):
#: the mailroom itself checks the files' own sizes against the limit.
MULTIPART_ROOM = 1024 * 1024


class ServiceRequest(Request):
    """Flask's request, with the mailroom's own size limit on its batch uploads.

    Decided when the request is read (the URL is matched before any body is parsed, even
    by the CSRF check): an upload to a batch view may be MAILROOM_MAX_BATCH_BYTES (plus the
    multipart envelope); any other request keeps MAX_CONTENT_LENGTH. Werkzeug spools file
    parts over 500 KB to temporary files, so a large batch is never held in memory.
    """

    @property
    def max_content_length(self) -> int | None:
        """The request's size limit in bytes (the mailroom's on batch uploads)."""
        if self._max_content_length is None and self.endpoint in BATCH_ENDPOINTS:
            return runtime().mailroom.max_batch_bytes + MULTIPART_ROOM
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
