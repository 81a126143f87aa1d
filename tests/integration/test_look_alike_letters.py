"""The clerk sees why a change with look-alike letters waits for them (issue 18, point 5)."""

from __future__ import annotations

from flask import Flask

from forms_service.runtime import Runtime
from tests.integration.reviewing import add_user, answer, english_client, sign_in


def test_the_change_set_page_says_the_letters_mix_scripts(app: Flask, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"address_line": "12 rue des Lil\u0430s"})
    add_user(runtime, "clerk", ["clerk"])
    client = english_client(app)
    assert sign_in(client, "clerk") == 303
    page = client.get(f"/backoffice/change-sets/{change_set_id}")
    assert page.status_code == 200
    assert 'data-review-reason="mixed_scripts"' in page.text
    assert "Letters of several scripts (Cyrillic, Latin)" in page.text
