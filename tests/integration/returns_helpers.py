"""Builders for the refund/redirect tests: gifts confirmed on a need, then the need closed."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.mail import MailSettings, list_outbox
from donors.bank_transfer import BankTransferGateway
from donors.gateway import BankAccount, PaymentStart, check_payment
from donors.giving import confirm_payment, start_gift
from donors.return_models import GiftReturn
from needs import services as needs
from needs.models import Need
from tests.integration.helpers import org, verified_need

ACCOUNT = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")


class FakeCheckout:
    """Stripe Checkout when a gift starts (no network); the refund goes over HTTP."""

    name = "stripe"

    def create_payment(self, payment):
        check_payment(payment)
        return PaymentStart(provider="stripe", provider_ref=f"cs_test_{payment.gift_id}",
                            amount=payment.amount, redirect_url="https://checkout.test/x")


@pytest.fixture
def outbox(tmp_path, monkeypatch):
    """The development mail outbox in a temporary folder; the app and jobs share SECRET_KEY
    "test" (make_app's) so a mailed link opens in the test app."""
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    return tmp_path


def mails(outbox_dir):
    return list_outbox(outbox_dir)


def world(url):
    """A programme's project (¥1,000) and two open needs to redirect to; codes by name.
    Deferred jobs run in-process after each commit, as in the app."""
    from core.config import Settings
    from jobs.queue import install_outbox_sender

    install_outbox_sender(Settings(database_url=url, secret_key="test"))
    with unit_of_work(get_engine(url)) as s:
        organisation = org(s)
        programme = needs.create_programme(s, "yimi", "一米阳光", "山东省/滨州市")
        project = verified_need(s, organisation, kind="project", amount=100_000,
                                title="图书角", programme=programme)
        other = verified_need(s, organisation, kind="project", amount=100_000,
                              title="助老餐桌", category="助老")
        wish = verified_need(s, organisation, amount=15_000, title="一个新书包")
        return {"project": project.code, "other": other.code, "wish": wish.code}


def give(url, code, amount, *, name="张三", contact="zhang@example.cn", user_id=None,
         gateway=None, intent=None) -> int:
    """A gift started and confirmed (bank transfer by default); returns the donation id."""
    from core.money import Money

    with unit_of_work(get_engine(url)) as s:
        need = s.exec(select(Need).where(Need.code == code)).one()
        started = start_gift(s, gateway or BankTransferGateway(ACCOUNT), need,
                             None if need.whole else Money.fen(amount), name=name,
                             contact=contact, user_id=user_id)
        if intent:
            started.payment.provider_payment_ref = intent
        assert confirm_payment(s, started.payment) == "confirmed"
        return started.donation.id


def close(url, code, state="cancelled"):
    with unit_of_work(get_engine(url)) as s:
        need = s.exec(select(Need).where(Need.code == code)).one()
        needs.move(s, need, state, reason="test")


def case_of(url, donation_id) -> GiftReturn:
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(GiftReturn).where(GiftReturn.donation_id == donation_id)).one()


def need(url, code) -> Need:
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(Need).where(Need.code == code)).one()
