"""One small mail service: `send(to, subject, text, html=None)`.

The transport comes from the environment: SMTP when MAIL_SERVER is set (MAIL_PORT,
MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS for STARTTLS, MAIL_FROM), otherwise a
development outbox: each message is written as an .eml file under instance/outbox/, and
`list_outbox` / `read_outbox` give them back newest first for a development page. Messages
are UTF-8 (Chinese subjects and bodies), plain text with an optional HTML alternative.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from core.config import INSTANCE_DIR
from core.messages import N_, MessageError

DEFAULT_SENDER = "善联 Shanlian <noreply@shanlian.localhost>"
OUTBOX_NAME = re.compile(r"^\d{20}-[0-9a-f]{8}\.eml$")

BAD_ADDRESS = N_("邮件地址无效")
NO_SUCH_MESSAGE = N_("找不到这封邮件")


class MailError(MessageError):
    """A message that cannot be sent as asked (nothing is sent)."""


class MailDeliveryError(RuntimeError):
    """The mail server refused or could not be reached; the caller (a job) may retry."""


@dataclass(frozen=True)
class MailSettings:
    server: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    use_tls: bool = True
    sender: str = DEFAULT_SENDER
    outbox: Path = INSTANCE_DIR / "outbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if env is None else env
        use_tls = (env.get("MAIL_USE_TLS") or "true").strip().lower() in ("1", "true", "yes", "on")
        return cls(server=env.get("MAIL_SERVER") or None,
                   port=int(env.get("MAIL_PORT") or (587 if use_tls else 25)),
                   username=env.get("MAIL_USERNAME") or None,
                   password=env.get("MAIL_PASSWORD") or None,
                   use_tls=use_tls,
                   sender=env.get("MAIL_FROM") or DEFAULT_SENDER)


class SmtpTransport:
    def __init__(self, settings: MailSettings):
        self.settings = settings

    def deliver(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.server, s.port, timeout=15) as smtp:
                if s.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailDeliveryError(f"SMTP {s.server}:{s.port}: {exc}") from exc


class OutboxTransport:
    """Development mail: one .eml file per message, named so that names sort by time."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def deliver(self, message: EmailMessage, dedupe: bool = False) -> Path:
        """`dedupe`: the message's Message-ID names it, and one already written with the
        same id is kept instead (a job re-run after a crash re-sends the same message)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        suffix = secrets.token_hex(4)
        if dedupe:
            suffix = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:8]
            existing = sorted(self.directory.glob(f"*-{suffix}.eml"))
            if existing:
                return existing[0]
        name = f"{time.time_ns():020d}-{suffix}.eml"
        tmp = self.directory / f".{name}.part"
        tmp.write_bytes(message.as_bytes(policy=policy.SMTP))
        tmp.replace(self.directory / name)  # a reader never sees half a message
        return self.directory / name


def transport_for(settings: MailSettings) -> SmtpTransport | OutboxTransport:
    return SmtpTransport(settings) if settings.server else OutboxTransport(settings.outbox)


def _address(value: str) -> str:
    if not isinstance(value, str) or any(c in value for c in "\r\n"):
        raise MailError(BAD_ADDRESS)
    _name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or address != address.strip() or " " in address:
        raise MailError(BAD_ADDRESS)
    return value.strip()


def build_message(sender: str, to: str | Sequence[str], subject: str, text: str,
                  html: str | None = None, message_id: str | None = None) -> EmailMessage:
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise MailError(BAD_ADDRESS)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(_address(r) for r in recipients)
    # A line break in a subject would start a new header: keep it on one line.
    message["Subject"] = " ".join(str(subject).split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(
        domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send(to: str | Sequence[str], subject: str, text: str, html: str | None = None,
         *, settings: MailSettings | None = None,
         message_id: str | None = None) -> EmailMessage:
    """Send one message through the configured transport and return it. A fixed
    `message_id` marks a message that may be sent again (a retried job): receivers keep it
    once, and so does the development outbox."""
    settings = settings or MailSettings.from_env()
    message = build_message(settings.sender, to, subject, text, html, message_id)
    transport = transport_for(settings)
    if message_id and isinstance(transport, OutboxTransport):
        transport.deliver(message, dedupe=True)
    else:
        transport.deliver(message)
    return message


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    to: str
    subject: str
    date: str


def list_outbox(directory: Path, limit: int = 100) -> list[OutboxEntry]:
    """Messages in the development outbox, newest first (headers only)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if OUTBOX_NAME.match(p.name)),
                   reverse=True)[:limit]
    parser = BytesParser(policy=policy.default)
    entries = []
    for name in names:
        with (directory / name).open("rb") as fh:
            headers = parser.parse(fh, headersonly=True)
        entries.append(OutboxEntry(name, str(headers["To"] or ""), str(headers["Subject"] or ""),
                                   str(headers["Date"] or "")))
    return entries


def read_outbox(directory: Path, name: str) -> EmailMessage:
    """One outbox message by its file name (nothing outside the outbox can be named)."""
    if not isinstance(name, str) or not OUTBOX_NAME.match(name):
        raise MailError(NO_SUCH_MESSAGE)
    path = Path(directory) / name
    if not path.is_file():
        raise MailError(NO_SUCH_MESSAGE)
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)
