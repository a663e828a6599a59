"""Donors, enterprises, pledges and donations (the offline flow: recorded as paid at once;
Stripe Checkout confirms the same way from its webhook)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.errors import UserError
from core.money import Money, require_positive
from core.privacy import donor_display_name
from core.regions import Region
from donors.models import Donation, Donor, Enterprise, Pledge, PledgeTranche
from funds import accounts, ledger
from funds.models import Allocation, CommunityFund
from funds.services import donate_to_fund_ledger
from needs.funding import need_open_for, post_credit, reserve_need
from needs.models import CATEGORIES, NEED_KINDS, Need
from needs.source_rules import SourceRules, check_rules


def public_name(donor: Donor) -> str:
    return donor_display_name(donor.name, donor.show_name)


def create_donor(session: Session, name: str, show_name: bool = False,
                 user_id: int | None = None) -> Donor:
    if not name.strip():
        raise UserError("请填写姓名")
    donor = Donor(name=name.strip(), show_name=show_name, user_id=user_id)
    session.add(donor)
    session.flush()
    return donor


def create_enterprise(session: Session, name: str, region: str, status: str = "approved",
                      code: str | None = None) -> Enterprise:
    Region.parse(region)
    enterprise = Enterprise(code=code or "", name=name, region=region, status=status)
    session.add(enterprise)
    session.flush()
    if not code:
        enterprise.code = f"E-{enterprise.id}"
    record(session, "enterprise.create", f"enterprise:{enterprise.code}", name=name)
    return enterprise


def create_pledge(session: Session, enterprise: Enterprise, budget: Money, *, title: str = "",
                  categories: list[str] | None = None, regions: list[str] | None = None,
                  need_kinds: list[str] | None = None, per_grant_cap: Money | None = None,
                  per_beneficiary_cap: Money | None = None, match_ratio_pct: int | None = None,
                  programme_id: int | None = None, period_start: date | None = None,
                  period_end: date | None = None,
                  tranches: list[tuple[date, int]] | None = None) -> Pledge:
    """An enterprise's pledge with its rules. Every check runs before anything is written.
    `tranches` (due date, amount) must add up to the budget (a multi-year pledge); without
    them the pledge is one tranche."""
    require_positive(budget, "认捐预算必须是正数")
    if enterprise.status != "approved":
        raise UserError("企业尚未通过审核，不能认捐")
    for category in categories or []:
        if category not in CATEGORIES:
            raise UserError("未知类别 %(category)s", category=category)
    for kind in need_kinds or []:
        if kind not in NEED_KINDS:
            raise UserError("未知需求类型 %(kind)s", kind=kind)
    for region in regions or []:
        Region.parse(region)
    for cap in (per_grant_cap, per_beneficiary_cap):
        if cap is not None and cap <= 0:
            raise UserError("上限必须是正数")
        if cap is not None and cap > budget:
            raise UserError("上限（%(cap)s）不能超过认捐预算（%(budget)s）",
                            cap=Money.fen(cap), budget=Money.fen(budget))
    if match_ratio_pct is not None and not 1 <= match_ratio_pct <= 1000:
        raise UserError("配捐比例须为 1 到 1000 之间的百分数")
    if period_start and period_end and period_end < period_start:
        raise UserError("认捐期限的结束日期早于开始日期")
    for due, amount in tranches or []:
        if amount <= 0:
            raise UserError("每期金额必须是正数")
        if period_start and due < period_start or period_end and due > period_end:
            raise UserError("到期日 %(due)s 不在认捐期限内", due=due.isoformat())
    if tranches and sum(amount for _due, amount in tranches) != budget:
        raise UserError("各期金额合计（%(total)s）与认捐预算（%(budget)s）不符",
                        total=Money.fen(sum(a for _d, a in tranches)), budget=Money.fen(budget))
    pledge = Pledge(enterprise_id=enterprise.id, budget=budget, title=title,
                    categories=categories or [], regions=regions or [],
                    need_kinds=need_kinds or [], per_grant_cap=per_grant_cap,
                    per_beneficiary_cap=per_beneficiary_cap, match_ratio_pct=match_ratio_pct,
                    programme_id=programme_id, period_start=period_start,
                    period_end=period_end)
    session.add(pledge)
    session.flush()
    pledge.code = f"PL-{pledge.id}"
    schedule = sorted(tranches or [(period_start or now().date(), budget)])
    session.add_all(PledgeTranche(pledge_id=pledge.id, seq=i, due=due, amount=amount)
                    for i, (due, amount) in enumerate(schedule, start=1))
    session.flush()
    record(session, "pledge.create", f"pledge:{pledge.code}", budget=budget)
    return pledge


def tranches_of(session: Session, pledge: Pledge) -> list[PledgeTranche]:
    return list(session.exec(select(PledgeTranche).where(PledgeTranche.pledge_id == pledge.id)
                             .order_by(PledgeTranche.seq)).all())


def confirm_tranche(session: Session, tranche: PledgeTranche, actor_id: int | None,
                    ref: str = "") -> PledgeTranche:
    """An admin confirms a tranche's money arrived (by bank transfer): it is paid in through
    the ledger and can be matched from then on. Confirming twice is refused."""
    result = session.execute(update(PledgeTranche).where(
        PledgeTranche.id == tranche.id, PledgeTranche.paid_at.is_(None)).values(paid_at=now()))
    if result.rowcount != 1:
        raise UserError("这一期认捐款已确认到账")
    session.refresh(tranche)
    pledge = session.get(Pledge, tranche.pledge_id)
    pay_pledge(session, pledge, tranche.amount, ref or f"tranche:{tranche.id}")
    tranche.ledger_seq = ledger.head(session).seq
    session.flush()
    record(session, "pledge.tranche_paid", f"pledge:{pledge.code}", actor_id,
           tranche=tranche.seq, amount=tranche.amount)
    return tranche


def pay_pledge(session: Session, pledge: Pledge, amount: Money, ref: str) -> None:
    """The enterprise pays (part of) its pledge in; it can then be allocated."""
    require_positive(amount)
    result = session.execute(
        update(Pledge).where(Pledge.id == pledge.id, Pledge.paid_in + amount <= Pledge.budget)
        .values(paid_in=Pledge.paid_in + amount))
    if result.rowcount != 1:
        raise UserError("付款超过认捐预算")
    enterprise = session.get(Enterprise, pledge.enterprise_id)
    ledger.append(session, "pledge_payment", ref,
                  [(accounts.enterprise(enterprise.code), -amount), (accounts.pledge(pledge.code), amount)],
                  memo=f"{enterprise.name}认捐款到账")
    session.refresh(pledge)


def pledge_rules(pledge: Pledge) -> SourceRules:
    return SourceRules(name=pledge.title or pledge.code, categories=list(pledge.categories),
                       regions=list(pledge.regions), need_kinds=list(pledge.need_kinds),
                       per_grant_cap=pledge.per_grant_cap,
                       per_beneficiary_cap=pledge.per_beneficiary_cap,
                       match_ratio_pct=pledge.match_ratio_pct, source_column="pledge_id",
                       source_id=pledge.id)


def allocate_from_pledge(session: Session, pledge: Pledge, need: Need, amount: Money,
                         match_run_id: int | None = None, reason: str = "") -> Allocation:
    """Move paid-in pledge money to a need (an executed allocation)."""
    allocation = Allocation(need_id=need.id, pledge_id=pledge.id, amount=require_positive(amount),
                            status="approved", match_run_id=match_run_id, reason=reason[:300])
    check_rules(session, pledge_rules(pledge), need, amount)
    session.add(allocation)
    session.flush()
    execute_pledge_allocation(session, allocation, pledge, need)
    return allocation


def execute_pledge_allocation(session: Session, allocation: Allocation, pledge: Pledge,
                              need: Need) -> None:
    """Move an approved pledge allocation's money, re-checking every rule of the pledge and
    the need at this moment; refuses (changing nothing) otherwise."""
    amount = allocation.amount
    session.refresh(pledge)
    if pledge.status != "active":
        raise UserError("该认捐已暂停或结束")
    check_rules(session, pledge_rules(pledge), need, amount)
    reserve_need(session, need, amount)
    result = session.execute(
        update(Pledge).where(Pledge.id == pledge.id, Pledge.allocated + amount <= Pledge.paid_in)
        .values(allocated=Pledge.allocated + amount))
    if result.rowcount != 1:
        raise UserError("认捐余额不足")
    txn = post_credit(session, need, amount, accounts.pledge(pledge.code), "allocation",
                      f"allocation:{allocation.id}",
                      memo=f"{pledge.title or pledge.code} → {need.title}")
    allocation.status, allocation.ledger_seq = "executed", txn.seq
    session.flush()
    session.refresh(pledge)
    record(session, "pledge.allocate", f"pledge:{pledge.code}", need=need.code, amount=amount,
           transfer=allocation.id)


def donate_to_need(session: Session, donor: Donor, need: Need, amount: Money,
                   payment_ref: str | None = None) -> Donation:
    """Record a paid donation and credit the need, in one unit of work (the offline flow,
    where the money is confirmed at once)."""
    donation = start_donation(session, donor, need, amount)
    return confirm_donation(session, donation, payment_ref)


def start_donation(session: Session, donor: Donor, need: Need, amount: Money) -> Donation:
    """A donation whose money is not confirmed yet (a payment in progress): `pending`,
    nothing credited. Refused at once if the need could not take it now."""
    amount = require_positive(amount)
    need_open_for(session, need, amount)
    donation = Donation(donor_id=donor.id, need_id=need.id, amount=amount, status="pending")
    session.add(donation)
    session.flush()
    return donation


def confirm_donation(session: Session, donation: Donation, payment_ref: str | None = None,
                     ) -> Donation:
    """The money of a pending donation arrived: credit the need (guard first, write second)
    and record the transfer. A refusal leaves the donation pending and changes nothing."""
    if donation.status != "pending" or donation.need_id is None:
        raise UserError("这笔捐款不在待确认状态")
    need = session.get(Need, donation.need_id)
    donor = session.get(Donor, donation.donor_id)
    reserve_need(session, need, donation.amount, holder=f"donation:{donation.id}")
    txn = post_credit(session, need, donation.amount, accounts.donor(donor.public_id), "donation",
                      f"donation:{donation.id}")
    donation.status, donation.ledger_seq = "paid", txn.seq
    donation.payment_ref = payment_ref
    session.add(Allocation(need_id=need.id, donation_id=donation.id, amount=donation.amount,
                           status="executed", ledger_seq=txn.seq))
    session.flush()
    return donation


def donate_to_fund(session: Session, donor: Donor, fund: CommunityFund, amount: Money,
                   payment_ref: str | None = None) -> Donation:
    return _gift_to_fund(session, Donation(donor_id=donor.id, fund_id=fund.id, amount=amount,
                                           status="paid", payment_ref=payment_ref),
                         fund, accounts.donor(donor.public_id), memo="")



def enterprise_gift_to_fund(session: Session, enterprise: Enterprise, fund: CommunityFund,
                            amount: Money, payment_ref: str | None = None) -> Donation:
    """An enterprise gives straight to a fund (e.g. the 12 founders of 安心纾困基金)."""
    return _gift_to_fund(session, Donation(enterprise_id=enterprise.id, fund_id=fund.id,
                                           amount=amount, status="paid", payment_ref=payment_ref),
                         fund, accounts.enterprise(enterprise.code),
                         memo=f"{enterprise.name} → {fund.name}")


def _gift_to_fund(session: Session, donation: Donation, fund: CommunityFund, giver_account: str,
                  memo: str) -> Donation:
    """Record a paid gift to a fund and move the money through the ledger."""
    require_positive(donation.amount)
    session.add(donation)
    session.flush()
    txn = donate_to_fund_ledger(session, fund, giver_account, donation.amount, "donation",
                                f"donation:{donation.id}", memo=memo)
    donation.ledger_seq = txn.seq
    session.flush()
    return donation
