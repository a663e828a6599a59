"""Demo 配捐 and a donor's own giving: 鲁北爱心 offers to match 一米阳光's 助学 gifts 1:1, an
admin has approved it, and the demo donor (donor@demo.shanlian) has given through the
bank-transfer flow, confirmed by finance staff — so the offer's meter has moved, the
donor's "善款去向" page lists gifts with a disbursement they paid for, and each gift has
its receipt."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.clock import now
from core.money import Money
from core.users import User
from donors.bank_transfer import BankTransferGateway
from donors.gateway import BankAccount
from donors.giving import confirm_payment, reference_taken, start_gift
from donors.giving_receipts import issue_receipt
from donors.match_offers import approve_offer, create_offer
from needs import funding
from needs.models import Need

DEMO_ACCOUNT = BankAccount("善联慈善信息平台（演示数据）", "演示银行", "0000 0000 0000 0000")
GIFTS_YUAN = (300, 500, 200, 800)  # the demo donor's confirmed gifts
GUEST_GIFTS = (("刘芳", 150), ("陈建国", 1_000))


def _user(s, email: str) -> User:
    return s.exec(select(User).where(User.email == email)).one()


def match_offer_and_gifts(demo) -> None:
    s, tick, d = demo.session, demo.tick, demo.made
    staff, admin = _user(s, "enterprise-staff@demo.shanlian"), _user(s, "admin@demo.shanlian")
    donor = _user(s, "donor@demo.shanlian")
    tick()
    offer = create_offer(
        s, d.firms[0], title="鲁北爱心 · 一米阳光助学 1:1 配捐", ratio_pct=100,
        total_cap=Money.yuan(20_000), per_gift_cap=Money.yuan(500),
        per_need_cap=Money.yuan(3_000), starts_at=now(),
        ends_at=demo.ends + timedelta(days=90), programme_ids=[d.prog["yimi"].id],
        categories=["助学"], actor_id=staff.id)
    tick(20)
    approve_offer(s, offer, actor_id=admin.id)
    study = [n for n in s.exec(select(Need).where(
        Need.programme_id == d.prog["yimi"].id, Need.category == "助学",
        Need.state == "verified", Need.kind == "project").order_by(Need.id))
        if n.amount - n.funded >= 4_000 * 100]
    gateway = BankTransferGateway(DEMO_ACCOUNT, is_taken=reference_taken(s))
    givers = [(donor.name, yuan, donor.id) for yuan in GIFTS_YUAN]
    givers[1:1] = [(name, yuan, None) for name, yuan in GUEST_GIFTS]
    for i, (name, yuan, user_id) in enumerate(givers):
        tick(5)
        need = study[i % 2]
        started = start_gift(s, gateway, need, Money.yuan(yuan), name=name, user_id=user_id,
                             contact="" if user_id else f"guest{i}@example.cn",
                             show_name=user_id is None and i % 2 == 0)
        tick(10)
        confirm_payment(s, started.payment, actor_id=admin.id)
        issue_receipt(s, started.donation.id)
    tick(30)
    first = study[0]
    s.refresh(first)
    # Everything held for the first need is paid out, so the demo donor's gifts to it show
    # this payout on their page (first in, first out: earlier money pays first).
    funding.disburse(s, first, first.funded - first.disbursed, d.org_bz.name,
                     memo="助学物资第一批采购")
