"""Structured (JSON) logs to stderr; secrets never reach them."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

SECRET_PATTERNS = [re.compile(r"(dsp_[0-9a-f]{32}_[0-9a-f]{8}_)[A-Za-z0-9_-]+"),
                   re.compile(r"((?:password|auth_token|secret_key)[\"'=: ]+)[^\s\"',]+", re.I)]


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(r"\1[oculto]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname,
                 "logger": record.name, "message": redact(record.getMessage())}
        for key in ("message_id", "sid", "chat_id", "to", "status"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
