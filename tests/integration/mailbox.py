"""A real local SMTP server (aiosmtpd) for tests that read the mail the app sends."""
from __future__ import annotations

import re
import socket
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on now: several test runs share this machine (CI, engineers'
    runs), so a fixed port would collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 Message accepted for delivery"

    def text(self, index: int = -1) -> str:
        return self.messages[index].get_body(preferencelist=("plain",)).get_content()

    def link(self, index: int = -1) -> str:
        return re.search(r"https?://\S+", self.text(index)).group(0)


@pytest.fixture
def inbox(monkeypatch):
    """Mail goes through SMTP to this inbox (MAIL_SERVER set, no TLS)."""
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    monkeypatch.setenv("MAIL_USE_TLS", "false")
    try:
        yield box
    finally:
        controller.stop()
