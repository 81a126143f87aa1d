"""Request guards that hold for every audience before any view runs."""

from __future__ import annotations

from flask import request

from forms_service.errors import InvalidInput

_NUL = "\x00"


def refuse_nul_characters() -> None:
    """Refuse NUL characters in the path, the query, form fields and JSON bodies.

    No text the service stores or looks up may contain one (PostgreSQL refuses them), so
    they are refused here with a clear 422 instead of failing deep inside a query.

    Raises:
        InvalidInput: the request carries a NUL character (the field is named when known).
    """
    if _NUL in request.path:
        raise InvalidInput("the address contains a NUL character", field="path")
    for source in (request.args, request.form):
        for name, values in source.lists():
            texts = [name, *(value for value in values if isinstance(value, str))]
            if any(_NUL in text for text in texts if isinstance(text, str)):
                raise InvalidInput("text must not contain NUL characters", field=str(name)[:64])
    if request.is_json:
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw or b"\x00" in raw:
            raise InvalidInput("text must not contain NUL characters", field="body")
