"""Logs are JSON lines: a request path cannot forge a line, and private fields never get in."""
import io
import json
import logging

import pytest

from core import logs


@pytest.fixture
def log_lines():
    buffer = io.StringIO()
    logs.configure(stream=buffer)
    yield lambda: buffer.getvalue().splitlines()
    logs.configure()


def test_a_request_path_cannot_forge_a_log_line(app, log_lines):
    forged = "/needs/%00%0A[2026-11-25 10:00:00] [INFO] FORGED%0D%E2%80%A8x"
    assert app.test_client().get(forged).status_code == 404
    lines = log_lines()
    entries = [json.loads(line) for line in lines]  # every line is one whole JSON object
    request_entries = [e for e in entries if e["logger"] == "shanlian.request"]
    assert len(request_entries) == 1
    assert request_entries[0]["path"].startswith("/needs/\x00\n[2026-11-25")
    assert request_entries[0]["status"] == 404
    assert not any(line.lstrip().startswith("[") for line in lines)
    assert all("FORGED" not in line or line.startswith("{") for line in lines)


def test_private_fields_are_redacted(log_lines):
    log = logging.getLogger("shanlian.test")
    log.info("verified %s, phone 13912345678, id 37162320100101123X", "小安",
             extra={"full_name": "王子涵", "detail": {"address": "某村 3 号", "need": "W-1"}})
    [entry] = [json.loads(line) for line in log_lines() if "shanlian.test" in line]
    assert entry["full_name"] == logs.REDACTED
    assert entry["detail"] == {"address": logs.REDACTED, "need": "W-1"}
    assert "13912345678" not in entry["message"] and "37162320100101123X" not in entry["message"]
    assert entry["message"].startswith("verified 小安")
