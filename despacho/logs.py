"""Structured (JSON) logs to stderr; secrets never reach them."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

SECRET_PATTERNS = [re.compile(r"(dsp_[0-9a-f]{32}_[0-9a-f]{8}_)[A-Za-z0-9_-]+"),
                   re.compile(r"((?:password|auth_token|secret_key)[\"'=: ]+)[^\s\"',]+", re.I)]


PHONE_KEYS = ("to", "customer")
PHONE = re.compile(r"\+?\d{7,15}")


def mask_phone(address: str) -> str:
    """`whatsapp:+573001112233` → `whatsapp:+57300****233`: enough to tell numbers apart, not to dial them."""
    def masked(match: re.Match[str]) -> str:
        number = match.group(0)
        keep_start = 6 if number.startswith("+") else 3
        return number[:keep_start] + "****" + number[-3:] if len(number) > keep_start + 3 else "****"
    return PHONE.sub(masked, address)


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(r"\1[oculto]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname,
                 "logger": record.name, "message": mask_phone(redact(record.getMessage()))}
        for key in ("message_id", "sid", "chat_id", "to", "customer", "status", "error_code", "changed", "attempts"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = mask_phone(str(value)) if key in PHONE_KEYS else value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
