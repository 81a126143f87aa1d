"""The request guard on hostile multipart bodies (the API and the pages share it)."""

from __future__ import annotations

import pytest
from flask import Flask

from forms_service.core.errors import InvalidInput
from forms_service.web.guards import refuse_unstorable_characters


def _multipart(disposition: bytes, value: bytes = b"null") -> bytes:
    return b"--b\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n--b--\r\n"


@pytest.mark.parametrize(
    "disposition", [b"form-data", b'form-data; name="\n"', b'form-data; name="\r"']
)
def test_a_part_whose_name_cannot_be_read_is_let_through_to_the_view(disposition: bytes) -> None:
    """werkzeug names such a part None: the guard used to fail on it with a 500."""
    app = Flask(__name__)
    body = _multipart(disposition)
    with app.test_request_context(
        "/", method="POST", data=body, content_type="multipart/form-data; boundary=b"
    ):
        refuse_unstorable_characters()


def test_a_nul_in_a_part_without_a_name_is_refused() -> None:
    app = Flask(__name__)
    body = _multipart(b"form-data", b"a\x00b")
    with (
        app.test_request_context(
            "/", method="POST", data=body, content_type="multipart/form-data; boundary=b"
        ),
        pytest.raises(InvalidInput, match="NUL"),
    ):
        refuse_unstorable_characters()
