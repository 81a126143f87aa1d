"""Issue 15, point 7: the identity page says how many tries remain before the lock."""

from __future__ import annotations

from flask.testing import FlaskClient

from forms_service.runtime import Runtime
from tests.integration.test_online_form import _answer_challenge, _birth_date, _issue

WRONG = {"birth_date": "01/01/1900"}


def test_each_wrong_answer_says_how_many_tries_remain(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    first = client.get(path)
    assert "data-tries-left" not in first.text  # nothing to count before a wrong answer
    rule = runtime.intake.challenge
    for used in range(1, rule.max_failures):
        refused = _answer_challenge(client, path, WRONG)
        assert refused.status_code == 422
        left = rule.max_failures - used
        assert f'data-tries-left="{left}"' in refused.text
    # Another visit (a new browser) sees the same count.
    again = client.application.test_client().get(path)
    assert 'data-tries-left="1"' in again.text
    last = _answer_challenge(client, path, WRONG)
    assert 'data-tries-left="0"' in last.text
    assert f"{rule.lock_minutes} minute" in last.text


def test_the_count_is_said_in_english_and_reset_by_the_right_answer(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    client.get(path + "?lang=en")
    refused = _answer_challenge(client, path, WRONG)
    left = runtime.intake.challenge.max_failures - 1
    assert f"You have {left} tries left before the form is locked." in refused.text
    assert _answer_challenge(client, path, {"birth_date": _birth_date(runtime)}).status_code == 303
    fresh = client.application.test_client().get(path)
    assert "data-tries-left" not in fresh.text
