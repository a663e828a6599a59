"""The mail service: through a real local SMTP server (aiosmtpd), and through the outbox."""
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.mail import (
    BAD_ADDRESS,
    NO_SUCH_MESSAGE,
    MailDeliveryError,
    MailError,
    MailSettings,
    OutboxTransport,
    SmtpTransport,
    list_outbox,
    read_outbox,
    send,
    transport_for,
)
from tests.integration.mailbox import free_port

SMTP_PORT = free_port()
SUBJECT = "善联：重置密码"
BODY = "您好，张老师：\n请在一小时内点击链接重置密码。\n"


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _accept(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"right"
    # handled=False: the server answers 535 itself (by default it would wait for us to,
    # and the client would sit out its 15 s timeout).
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT,
                            authenticator=_accept, auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def _settings(**changes):
    base = {"server": "127.0.0.1", "port": SMTP_PORT, "use_tls": False,
            "sender": "善联 <noreply@shanlian.test>"}
    return MailSettings(**{**base, **changes})


def _parsed(envelope):
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(envelope.original_content)


def test_smtp_delivers_utf8_chinese(smtp_server):
    send("张老师 <teacher@example.org>", SUBJECT, BODY, "<p>您好，张老师</p>",
         settings=_settings())
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["teacher@example.org"]
    assert envelope.mail_from == "noreply@shanlian.test"
    message = _parsed(envelope)
    assert message["Subject"] == SUBJECT
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == BODY
    assert "您好，张老师" in message.get_body(("html",)).get_content()


def test_smtp_logs_in_when_a_username_is_set(smtp_server):
    send("a@example.org", "hi", "body", settings=_settings(username="mailer", password="right"))
    assert len(smtp_server.envelopes) == 1
    with pytest.raises(MailDeliveryError):
        send("a@example.org", "hi", "body",
             settings=_settings(username="mailer", password="wrong"))
    assert len(smtp_server.envelopes) == 1


def test_unreachable_server_is_a_delivery_error():
    with pytest.raises(MailDeliveryError):
        send("a@example.org", "hi", "body", settings=_settings(port=5089))


def test_the_transport_follows_the_settings(tmp_path):
    assert isinstance(transport_for(MailSettings.from_env({"MAIL_SERVER": "smtp.example.org"})),
                      SmtpTransport)
    assert isinstance(transport_for(MailSettings.from_env({})), OutboxTransport)
    settings = MailSettings.from_env({"MAIL_SERVER": "m", "MAIL_USE_TLS": "false",
                                      "MAIL_FROM": "x@example.org", "MAIL_USERNAME": "u"})
    assert (settings.port, settings.use_tls, settings.sender, settings.username) == (
        25, False, "x@example.org", "u")
    assert MailSettings.from_env({"MAIL_SERVER": "m"}).port == 587


def test_outbox_keeps_messages_newest_first(tmp_path):
    settings = MailSettings(outbox=tmp_path / "outbox")
    send("first@example.org", "第一封", "一", settings=settings)
    time.sleep(0.001)
    send(["second@example.org", "third@example.org"], "第二封", "二", settings=settings)
    entries = list_outbox(settings.outbox)
    assert [e.subject for e in entries] == ["第二封", "第一封"]
    assert entries[0].to == "second@example.org, third@example.org"
    message = read_outbox(settings.outbox, entries[1].name)
    assert message.get_body(("plain",)).get_content().strip() == "一"
    assert list_outbox(tmp_path / "missing") == []


@pytest.mark.parametrize("name", ["../secret.eml", "x.eml", "", None,
                                  "00000000000000000000-deadbeef.eml"])
def test_outbox_reads_only_its_own_messages(tmp_path, name):
    with pytest.raises(MailError) as caught:
        read_outbox(tmp_path, name)
    assert caught.value.message_id == NO_SUCH_MESSAGE


@pytest.mark.parametrize("to", ["not-an-address", "a@b", "a@example.org\r\nBcc: x@evil.example",
                                "", [], "two words@example.org"])
def test_bad_recipients_are_refused_and_nothing_is_written(tmp_path, to):
    settings = MailSettings(outbox=tmp_path)
    with pytest.raises(MailError) as caught:
        send(to, "s", "t", settings=settings)
    assert caught.value.message_id == BAD_ADDRESS and caught.value.message("en") != caught.value.message("zh_CN")
    assert list_outbox(tmp_path) == []


def test_a_line_break_in_the_subject_cannot_add_a_header(tmp_path):
    settings = MailSettings(outbox=tmp_path)
    send("a@example.org", "hello\r\nBcc: x@evil.example", "t", settings=settings)
    message = read_outbox(tmp_path, list_outbox(tmp_path)[0].name)
    assert message["Bcc"] is None and message["Subject"] == "hello Bcc: x@evil.example"


def test_a_fixed_message_id_is_kept_once_in_the_outbox(tmp_path):
    """A retried job sends the same notification again: the outbox keeps one message."""
    settings = MailSettings(outbox=tmp_path)
    for _ in range(3):
        send("donor@example.org", "您的捐款已到账", "谢谢", settings=settings,
             message_id="<notice-7-abc@shanlian.localhost>")
    send("donor@example.org", "另一封", "二", settings=settings,
         message_id="<notice-8-def@shanlian.localhost>")
    send("donor@example.org", "普通邮件", "三", settings=settings)
    send("donor@example.org", "普通邮件", "三", settings=settings)  # no fixed id: two mails
    entries = list_outbox(tmp_path)
    assert sorted(e.subject for e in entries) == ["另一封", "您的捐款已到账", "普通邮件", "普通邮件"]
    kept = [e for e in entries if e.subject == "您的捐款已到账"][0]
    assert read_outbox(tmp_path, kept.name)["Message-ID"] == "<notice-7-abc@shanlian.localhost>"
