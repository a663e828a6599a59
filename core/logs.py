"""Structured logging: one JSON object per line, so a log line can never be forged by
what it quotes (json.dumps escapes newlines and every other control character: a request
for `/needs/%00%0A[2026-11-25 …] [INFO] FORGED` stays inside its own line), and a filter
that keeps beneficiaries' private fields out of every record."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# BeneficiaryPrivate's columns: never logged, whatever the caller passed.
PRIVATE_FIELDS = frozenset({"full_name", "id_number", "birth_date", "address", "school",
                            "guardian_phone"})
REDACTED = "[redacted]"
# Shapes of private data that could reach a message by accident: an 18-character resident
# ID number, a mainland mobile number.
_PRIVATE_PATTERNS = (re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])"),
                     re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"))
# Attributes every LogRecord has; anything else came from `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def _scrub_text(text: str) -> str:
    for pattern in _PRIVATE_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _scrub(value):
    if isinstance(value, dict):
        return {k: REDACTED if k in PRIVATE_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


class PrivateFieldsFilter(logging.Filter):
    """Redacts private fields passed as `extra=` (or inside dicts) and ID/phone numbers in
    the message. It never drops a record: the event is still logged, without the data."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if key in PRIVATE_FIELDS:
                setattr(record, key, REDACTED)
            elif key not in _STANDARD:
                setattr(record, key, _scrub(getattr(record, key)))
        record.msg = _scrub_text(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # json escapes C0 controls; these also end a line for some readers.
        return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace(
            "\x85", "\\u0085")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a test runner swaps it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def json_handler(stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivateFieldsFilter())
    return handler


def configure(level: int = logging.INFO, stream=None) -> None:
    """Send every logger (ours, werkzeug's, gunicorn's, rq's) through one JSON handler.
    Idempotent: a second call replaces the handler instead of adding another."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "shanlian_json", False):
            root.removeHandler(handler)
    handler = json_handler(stream)
    handler.shanlian_json = True
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("werkzeug", "gunicorn.error", "gunicorn.access", "rq.worker"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # fontTools logs a line per glyph table while fpdf2 subsets a receipt's font: at INFO
    # that is thousands of JSON lines per PDF, and threads queue on the handler's lock.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
