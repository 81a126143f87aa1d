"""Structured (JSON) logs that never carry personal data, link tokens or short link codes."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

#: Link tokens (/f/<token>) and bearer tokens are secrets: they never reach a log line.
#: Whatever their characters: a token is everything up to the next delimiter, so that one
#: starting with a character outside the tokens' alphabet (percent-encoded, `~`, `+`…) is
#: redacted too. `/f/<token>` (the route, in the request log) is no token.
_TOKEN_IN_PATH = re.compile(r"/f/+(?!<token>[\s\"'?#/]|<token>$)[^\s\"'?#/\\]+")
_BEARER = re.compile(r"(?i)(bearer\s+[\"']?)(?!\[redacted\])[^\s\"',;]+")
#: Short link codes (/r/<code>) are as secret: whatever follows /r/ in a path goes.
_CODE_IN_PATH = re.compile(r"/r/[^\s\"'?#]+")
#: Unsubscribe tokens (/u/<token>) too: whoever holds one can withdraw a consent.
_UNSUBSCRIBE_IN_PATH = re.compile(r"/u/[^\s\"'?#]+")
_BEARER_WORD = re.compile(r"(?i)bearer")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
#: PostgreSQL names the offending values in its errors ("Key (email)=(jeanne@…) already
#: exists", "Failing row contains (…)"); SQLAlchemy's hide_parameters does not reach them.
_ROW_VALUES = re.compile(r"(\)=\(|Failing row contains \()[^\n]*")


def _redacted_bearer(found: re.Match[str]) -> str:
    return f"{found.group(1)}[redacted]"


def redact(text: str) -> str:
    """Remove link and API tokens from a log message."""
    # Each line of the request log goes through here twice (filter, formatter): the
    # substitutions run only on text that may hold a token.
    if "/f/" in text:
        text = _TOKEN_IN_PATH.sub("/f/[token]", text)
    if "/r/" in text:
        text = _CODE_IN_PATH.sub("/r/[code]", text)
    if "/u/" in text:
        text = _UNSUBSCRIBE_IN_PATH.sub("/u/[token]", text)
    if _BEARER_WORD.search(text):
        text = _BEARER.sub(_redacted_bearer, text)
    if ")=(" in text or "Failing row" in text:
        text = _ROW_VALUES.sub(r"\1[redacted])", text)
    return text


class RedactingFormatter(logging.Formatter):
    """The plain text format, with tracebacks redacted like messages."""

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


class RedactingFilter(logging.Filter):
    """Rewrite every record's message without tokens (werkzeug logs full request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `extra` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})))
    # One encoder for every line (json.dumps with options builds a new one per call).
    _ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str | None, str] = (-1, None, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's local time to the second (`datefmt`, ISO 8601 by default).

        Written once per second: every request logs a line, and strftime was a tenth of it.
        """
        second = int(record.created)
        cached = self._second
        if cached[0] != second or cached[1] != datefmt:
            stamp = time.strftime(datefmt or _TIME_FORMAT, self.converter(second))
            cached = self._second = (second, datefmt, stamp)
        return cached[2]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # A traceback quotes exception messages: a link, a token or a row's values.
            entry["error"] = redact(self.formatException(record.exc_info))
        return self._ENCODER.encode(entry)


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Install one handler on the root logger, with the redacting filter everywhere."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_forms_service", False):
            root.removeHandler(existing)
    handler._forms_service = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").addFilter(RedactingFilter())
