"""Structured (JSON) logs that never carry personal data or link tokens."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

#: Link tokens (/f/<token>) and bearer tokens are secrets: they never reach a log line.
_TOKEN_IN_PATH = re.compile(r"/f/[A-Za-z0-9_.-]{20,}")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_.-]+")


def redact(text: str) -> str:
    """Remove link and API tokens from a log message."""
    return _BEARER.sub(r"\1[redacted]", _TOKEN_IN_PATH.sub("/f/[token]", text))


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

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Install one handler on the root logger, with the redacting filter everywhere."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_forms_service", False):
            root.removeHandler(existing)
    handler._forms_service = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").addFilter(RedactingFilter())
