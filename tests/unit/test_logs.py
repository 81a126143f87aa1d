"""Log lines never carry link or API tokens."""

from __future__ import annotations

import json
import logging

from forms_service.logs import JsonFormatter, RedactingFilter, redact


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
