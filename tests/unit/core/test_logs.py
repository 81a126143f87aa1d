"""Log lines never carry link or API tokens."""

from __future__ import annotations

import json
import logging
import sys
import time

import pytest

from forms_service.core.logs import JsonFormatter, RedactingFilter, RedactingFormatter, redact


def test_redact_link_and_bearer_tokens() -> None:
    line = 'GET /f/0CdmxXbY4QtwcG0ON_KcIg.ts1mq5.k1.hVzlUe-zjEwik06CrwmS4A HTTP/1.1" 200'
    assert "hVzl" not in redact(line)
    assert "/f/[token]" in redact(line)
    assert redact("Authorization: Bearer fst_abcdef123") == "Authorization: Bearer [redacted]"


def test_filter_rewrites_werkzeug_style_records() -> None:
    record = logging.makeLogRecord(
        {
            "msg": '"%s" %s',
            "args": ("GET /f/AAAAAAAAAAAAAAAAAAAAAA.x.k1.BBBBBBBBBBBBBBBBBBBBBB HTTP/1.1", 200),
        }
    )
    assert RedactingFilter().filter(record)
    assert "BBBB" not in record.getMessage()


def test_json_formatter_keeps_extra_fields() -> None:
    record = logging.makeLogRecord({"msg": "request", "levelname": "INFO", "name": "x"})
    record.endpoint = "/f/<token>"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["endpoint"] == "/f/<token>" and entry["message"] == "request"


def test_redaction_is_case_insensitive_and_leaves_other_text_alone() -> None:
    assert redact("authorization: BEARER abc.def") == "authorization: BEARER [redacted]"
    assert redact("x bEaReR\tfst_1 y") == "x bEaReR\t[redacted] y"
    assert redact("GET /f/<token> 200 3.2ms") == "GET /f/<token> 200 3.2ms"
    assert redact("no token here") == "no token here"


def test_json_time_is_the_records_own_second() -> None:
    formatter = JsonFormatter()
    times = []
    for created in (1_700_000_000.2, 1_700_000_000.9, 1_700_000_001.1):
        record = logging.makeLogRecord({"msg": "m", "created": created})
        times.append(json.loads(formatter.format(record))["time"])
        expected = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(int(created)))
        assert times[-1] == expected
    assert times[0] == times[1] != times[2]
    record = logging.makeLogRecord({"msg": "m", "created": 1_700_000_001.5})
    assert formatter.formatTime(record, "%H") == time.strftime("%H", time.localtime(1_700_000_001))


def test_tracebacks_are_redacted_in_both_formats() -> None:
    # Regression: only messages were redacted; a traceback quoting an error's text wrote
    # link tokens and the row values PostgreSQL names in its errors to the log.
    token = "/f/AAAAAAAAAAAAAAAAAAAAAA.x.k1.BBBBBBBBBBBBBBBBBBBBBB"
    try:
        raise RuntimeError(
            f"cannot open {token}\nDETAIL:  Key (email)=(jeanne.martin@example.fr) already "
            "exists.\nFailing row contains (7, Jeanne, Martin)."
        )
    except RuntimeError:
        record = logging.makeLogRecord(
            {"msg": "cannot propose submission %s", "args": ("s1",), "exc_info": sys.exc_info()}
        )
    for formatter in (JsonFormatter(), RedactingFormatter("%(message)s")):
        line = formatter.format(record)
        for secret in ("BBBB", "jeanne.martin", "Jeanne"):
            assert secret not in line, (type(formatter).__name__, secret)
        assert "Key (email)=([redacted])" in line and "RuntimeError" in line


@pytest.mark.parametrize("first", ["-", "_", ".", "~", "+", "=", "%2D", "!", "é", "*", "A"])
def test_a_token_is_redacted_whatever_its_first_character(first: str) -> None:
    """Regression (issue 18): a token was only redacted when it began with one of the
    tokens' own characters; `/f/~…` or `Bearer +…` reached the development log whole."""
    secret = first + "Zq8pL2mN4vB6xC9kJ3hG5fD7sA1wE0rTyU.k1.mac-of-the-link"
    line = f'"GET /f/{secret}/challenge?lang=en HTTP/1.1" 200 -'
    assert redact(line) == '"GET /f/[token]/challenge?lang=en HTTP/1.1" 200 -'
    header = f"Authorization: Bearer {secret}"
    assert redact(header) == "Authorization: Bearer [redacted]"
    assert "Zq8p" not in redact(f"headers={{'Authorization': 'Bearer {secret}'}}")
