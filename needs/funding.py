"""Money into and out of a need. Every change is a ledger transaction plus an atomic update
of the need's mirror columns, whose CHECKs refuse over-funding even under concurrency."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, and_, bindparam, event, or_, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.money import Money, require_positive
from core.outbox import defer
from funds import accounts, ledger
from funds.models import Allocation, Approval, CommunityFund, Disbursement, LedgerTxn
from funds.services import change_balance
from needs.grant_rules import (
    DEFAULT_SECOND_APPROVAL_OVER,
    approvals_needed,
    check_approver,
    check_enough_approvals,
)
from needs.models import Milestone, Need
from needs.source_rules import SourceRules, check_rules

FUNDABLE = ("verified",)


_AMOUNT = bindparam("add", type_=BigInteger)
# Built once (it runs twice in every gift). With no holder, `hold_holder = NULL` is never
# true, so only a need without a live hold takes the money.
_RESERVE = (
    update(Need)
    .where(
        Need.id == bindparam("need_id"),
        Need.state.in_(FUNDABLE),
        or_(Need.hold_holder.is_(None), Need.hold_until <= bindparam("at"),
            Need.hold_holder == bindparam("holder")),
        Need.funded + _AMOUNT <= Need.amount,
        or_(Need.whole.is_(False), and_(Need.funded == 0, Need.amount == _AMOUNT)),
    )
    .values(funded=Need.funded + _AMOUNT)
    .returning(Need.funded, Need.amount, Need.state)
)


def reserve_need(session: Session, need: Need, amount: Money, holder: str | None = None) -> None:
    """The guard of every gift to a need, run before anything else is written: raise its
    `funded` by `amount` if the need may take it, or refuse and change nothing.

    A whole need (微心愿, a sponsorship year) takes exactly its full amount in one go; any
    need takes at most what is still open. The WHERE clause re-checks both on the locked
    row, so two donors at once cannot both win. A need under a live hold takes money only
    from the hold's `holder`."""
    require_positive(amount)
    row = session.execute(_RESERVE, {"need_id": need.id, "at": now(), "holder": holder,
                                     "add": int(amount)},
                          execution_options={"synchronize_session": False}).first()
    if row is None:
        session.refresh(need)
        raise _refusal(need, amount, holder) or UserError(
            "金额超过尚需金额，或已被他人认领")
    # The row is locked by this transaction until it ends: what RETURNING says stays true,
    # so post_credit (and a 配捐 share computed next) need not read the need again.
    for column, value in zip(("funded", "amount", "state"), row, strict=True):
        set_committed_value(need, column, value)
    session.info.setdefault(_LOCKED_NEEDS, set()).add(need.id)


# session.info: ids of needs whose row this transaction locked by a successful reserve_need
# and whose loaded `funded` came from that UPDATE's RETURNING. Forgotten when any
# transaction or savepoint of the session ends (a rolled-back savepoint undoes the UPDATE).
_LOCKED_NEEDS = "shanlian_locked_needs"


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_locked_needs(session: OrmSession, transaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_LOCKED_NEEDS, None)


def fresh_need(session: Session, need: Need) -> None:
    """Make sure `need`'s money columns are those of the database: reloaded, unless this
    transaction reserved money on it (reserve_need) and nothing moved its `funded` since."""
    if need.id not in session.info.get(_LOCKED_NEEDS, ()):
        session.refresh(need)


def _moved(session: Session, need: Need) -> None:
    """Something other than reserve_need changed the need's `funded`: read it again next time."""
    session.info.get(_LOCKED_NEEDS, set()).discard(need.id)


def need_open_for(session: Session, need: Need, amount: Money, holder: str | None = None) -> None:
    """Refuse now, writing nothing, if the need could not take `amount` (e.g. before a
    payment starts). The conditional UPDATE in reserve_need is still the real guard."""
    session.refresh(need)
    refusal = _refusal(need, require_positive(amount), holder)
    if refusal is not None:
        raise refusal


def _refusal(need: Need, amount: Money, holder: str | None) -> UserError | None:
    if need.state not in FUNDABLE:
        return UserError("该需求当前不能接受捐助")
    if need.hold_holder and need.hold_holder != holder and aware(need.hold_until) > now():
        return UserError("该心愿正被他人认领中，请稍后再试")
    if need.whole and (need.funded != 0 or amount != need.amount):
        if need.funded == 0:
            return UserError("该心愿须一次全额认领（%(amount)s）", amount=Money.fen(need.amount))
        return UserError("该心愿已被他人认领")
    if need.funded + amount > need.amount:
        return UserError("金额超过尚需金额（%(open)s）", open=Money.fen(need.amount - need.funded))
    return None


def post_credit(session: Session, need: Need, amount: Money, source_account: str, kind: str,
                ref: str, memo: str = "") -> LedgerTxn:
    """Write the ledger transaction for money `reserve_need` already let in, and mark the
    need funded when it is full. Returns the transaction."""
    txn = ledger.append(session, kind, ref,
                        [(source_account, -amount), (accounts.need(need.code), amount)],
                        memo=memo or need.title)
    fresh_need(session, need)
    if need.funded == need.amount:
        need.state = "funded"
        session.flush()
        record(session, "need.funded", f"need:{need.code}")
    return txn


def credit_need(session: Session, need: Need, amount: Money, source_account: str, kind: str,
                ref: str, memo: str = "") -> LedgerTxn:
    """Give `amount` to a verified need from `source_account`: guard, then write. Returns
    the ledger transaction."""
    reserve_need(session, need, amount)
    return post_credit(session, need, amount, source_account, kind, ref, memo)


def fund_rules(fund: CommunityFund) -> SourceRules:
    """A community fund pays only for needs in its own area, of its kinds, up to its cap."""
    return SourceRules(name=fund.name, regions=[fund.region], need_kinds=list(fund.need_kinds),
                       per_grant_cap=fund.per_grant_cap, source_column="fund_id",
                       source_id=fund.id)


def grant_from_fund(session: Session, fund: CommunityFund, need: Need, amount: Money,
                    ref: str | None = None, actor_id: int | None = None,
                    reason: str = "") -> Allocation:
    """A community-fund micro-grant decided at once by one manager (`actor_id`): its transfer
    record, approved and executed. Refused when the grant needs a second approver (the
    four-eyes path is needs/transfers.py: propose, approve, approve)."""
    amount = require_positive(amount)
    transfer = Allocation(need_id=need.id, fund_id=fund.id, amount=amount, status="proposed",
                          reason=reason[:300])
    check_rules(session, fund_rules(fund), need, amount)
    check_approver(session, transfer, fund, actor_id)
    if fund.always_four_eyes:
        raise UserError("该基金的每笔拨款都须经两位管理员审批")
    if approvals_needed(fund, amount) > 1:
        raise UserError("超过%(threshold)s的拨款须经两位管理员审批", threshold=Money.fen(
            fund.second_approval_over or DEFAULT_SECOND_APPROVAL_OVER))
    session.add(transfer)
    session.flush()
    session.add(Approval(allocation_id=transfer.id, approver_id=actor_id, decision="approve",
                         reason=reason[:300]))
    transfer.status = "approved"
    session.flush()
    execute_grant(session, transfer, fund, need, ref=ref, actor_id=actor_id)
    return transfer


def execute_grant(session: Session, transfer: Allocation, fund: CommunityFund, need: Need,
                  ref: str | None = None, actor_id: int | None = None) -> LedgerTxn:
    """Move an approved grant's money: the fund's balance falls, the need's funded rises.
    Every guard (the fund's rules, its approvals, the need, the fund's balance) runs before
    the ledger is written."""
    amount = transfer.amount
    if transfer.status != "approved":
        raise UserError("这笔拨款尚未批准")
    check_rules(session, fund_rules(fund), need, amount)
    check_enough_approvals(session, transfer, fund)
    reserve_need(session, need, amount)
    change_balance(session, fund, -amount)
    txn = post_credit(session, need, amount, accounts.fund(fund.code), "grant",
                      ref or f"allocation:{transfer.id}", memo=f"{fund.name} → {need.title}")
    transfer.status, transfer.ledger_seq = "executed", txn.seq
    session.flush()
    record(session, "fund.grant", f"fund:{fund.code}", actor_id, need=need.code, amount=amount,
           transfer=transfer.id)
    return txn


def disbursement_for_key(session: Session, need: Need, key: str) -> Disbursement | None:
    """The payout a form with this one-time key already recorded, after waiting for any
    other transaction recording on this need (its row lock), so a double submit is one."""
    session.exec(select(Need.id).where(Need.id == need.id).with_for_update())
    return session.exec(select(Disbursement).where(Disbursement.form_key == key)).first()


def disburse(session: Session, need: Need, amount: Money, paid_to: str, memo: str = "",
             milestone: Milestone | None = None, actor_id: int | None = None, *,
             key: str | None = None, paid_at: datetime | None = None) -> Disbursement:
    """Pay out money held for a need to the organisation or supplier that delivers it.
    With a form's one-time `key`, the same form sent again returns the first payout."""
    if key:
        again = disbursement_for_key(session, need, key)
        if again is not None:
            return again
    require_positive(amount)
    if need.state in CLOSED_UNFUNDED:  # its donors are choosing a refund or another need
        raise UserError("已关闭的需求不能拨付")
    if not paid_to.strip():
        raise UserError("必须写明收款方")
    if paid_at is not None and aware(paid_at) > now():
        raise UserError("拨付日期不能晚于今天")
    result = session.execute(
        update(Need)
        .where(Need.id == need.id, Need.disbursed + amount <= Need.funded)
        .values(disbursed=Need.disbursed + amount)
    )
    if result.rowcount != 1:
        raise UserError("拨付金额超过已筹金额")
    txn = ledger.append(session, "disbursement", f"need:{need.code}",
                        [(accounts.need(need.code), -amount), (accounts.disbursed(need.code), amount)],
                        memo=memo or f"拨付给{paid_to}")
    payout = Disbursement(need_id=need.id, amount=amount, paid_to=paid_to, memo=memo,
                          milestone_id=milestone.id if milestone else None, ledger_seq=txn.seq,
                          form_key=key or None, **({"at": paid_at} if paid_at else {}))
    session.add(payout)
    if milestone is not None:
        milestone.done_at = now()
    session.refresh(need)
    need.last_disclosed_at = now()
    if need.disbursed == need.amount and need.state == "funded":
        need.state = "disbursed"
    session.flush()
    record(session, "need.disburse", f"need:{need.code}", actor_id, amount=amount)
    # The need's donors are told (notifications written by the job, after this commits).
    defer(session, "jobs.tasks.notify_need_donors", need.id, "gift_disbursed",
          f"disbursement:{payout.id}", int(amount), paid_to)
    return payout


CLOSED_UNFUNDED = ("expired", "cancelled", "rejected")  # money on them goes back or elsewhere


def release_from_need(session: Session, need: Need, amount: Money, to_account: str, kind: str,
                      ref: str, memo: str = "") -> LedgerTxn:
    """Move undisbursed money off a closed need to `to_account` (a donor's refund, another
    need, a fund, a pledge): the need's funded falls with one ledger transaction. Refused,
    changing nothing, if the need is not closed or the money was already paid out."""
    require_positive(amount)
    result = session.execute(update(Need).where(
        Need.id == need.id, Need.state.in_(CLOSED_UNFUNDED),
        Need.funded - amount >= Need.disbursed).values(funded=Need.funded - amount))
    if result.rowcount != 1:
        session.refresh(need)
        raise UserError("该需求上已没有可退回的款项")
    txn = ledger.append(session, kind, ref,
                        [(accounts.need(need.code), -amount), (to_account, amount)],
                        memo=memo or need.title)
    session.refresh(need)
    return txn
