"""Community funds: creation and the balance mirror that the database keeps non-negative."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from core.audit import record
from core.errors import UserError
from core.money import Money
from core.regions import Region
from funds import accounts, ledger
from funds.models import CommunityFund, LedgerTxn


def create_fund(session: Session, name: str, region: str, *, code: str | None = None,
                per_grant_cap: Money | None = None, second_approval_over: Money | None = None,
                need_kinds: list[str] | None = None, programme_id: int | None = None,
                organisation_id: int | None = None) -> CommunityFund:
    Region.parse(region)
    if per_grant_cap is not None and per_grant_cap <= 0:
        raise UserError("单笔上限必须为正")
    fund = CommunityFund(code=code or "", name=name, region=region, per_grant_cap=per_grant_cap,
                         second_approval_over=second_approval_over,
                         need_kinds=need_kinds or ["microgrant", "wish"],
                         programme_id=programme_id, organisation_id=organisation_id)
    session.add(fund)
    session.flush()
    if not code:
        fund.code = f"F-{fund.id}"
    record(session, "fund.create", f"fund:{fund.code}", name=name)
    return fund



def change_balance(session: Session, fund: CommunityFund, delta: Money) -> None:
    """Move the mirror of fund:<code> by delta. Refused (changing nothing) if it would go
    below zero; the CHECK constraint is the backstop under concurrency."""
    result = session.execute(
        update(CommunityFund)
        .where(CommunityFund.id == fund.id, CommunityFund.balance + delta >= 0)
        .values(balance=CommunityFund.balance + delta)
    )
    if result.rowcount != 1:
        raise UserError("%(fund)s余额不足", fund=fund.name)
    session.refresh(fund)


def donate_to_fund_ledger(session: Session, fund: CommunityFund, source_account: str,
                          amount: Money, kind: str, ref: str, memo: str = "") -> LedgerTxn:
    """Credit a fund from any source account (a donor, an enterprise) through the ledger;
    returns the transaction."""
    if amount <= 0:
        raise UserError("金额必须为正")
    change_balance(session, fund, amount)
    return ledger.append(session, kind, ref,
                         [(source_account, -amount), (accounts.fund(fund.code), amount)],
                         memo=memo or fund.name)
