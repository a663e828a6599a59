"""Refunds and redirects: a need closed (expired, cancelled, rejected) after money came in.

`open_returns` (run by a job once the need's change committed) gives back at once what
came from enterprises and funds (a pledge allocation to its pledge, a fund grant to its
fund, a 配捐 share to its enterprise) and opens one `GiftReturn` per donor's gift, with a
notification: within 30 days the donor redirects it to another open need or a fund, or asks
for a refund (Stripe: the gateway's refund call; a bank transfer: staff send it back and
record it). After 30 days the published default applies: the programme's general fund.

Money still on the need is assigned newest first: a disbursement is paid from the oldest
money (the FIFO of donors/trail.py), so the gifts returned are the ones not yet spent.
Every step is one ledger transfer or reversal (needs.funding.release_from_need). A case
row is locked before it changes, so a double submit or two choices at once: one wins."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import NotFound, UserError
from core.money import Money
from core.notify import CAUSES
from donors.donor_notices import tell
from donors.fund_gifts import general_fund as programme_general_fund
from donors.fund_gifts import general_fund_of
from donors.gateway import PaymentGateway
from donors.giving_models import GiftPayment
from donors.match_models import MatchOffer, MatchShare
from donors.models import Donation, Donor, Enterprise, Pledge
from donors.receipts import beijing
from donors.return_models import GiftReturn
from funds import accounts, ledger
from funds.models import Allocation, CommunityFund, LedgerTxn
from funds.services import change_balance, create_fund
from needs.funding import CLOSED_UNFUNDED, post_credit, release_from_need, reserve_need
from needs.models import NEED_KINDS, Need, Programme

DECISION_DAYS = 30
PLATFORM_FUND = "GF-PLATFORM"


# -- the published default -------------------------------------------------------------

def default_fund_code(need: Need) -> str:
    """The platform's fund, for a need with no programme (a programme's general fund is
    donors.fund_gifts', found by its flag)."""
    return PLATFORM_FUND


def default_fund_name(session: Session, need: Need) -> str:
    """What the page says the default is (without creating the fund)."""
    programme = session.get(Programme, need.programme_id) if need.programme_id else None
    if programme is not None:
        fund = general_fund_of(session, programme)
        return fund.name if fund is not None else f"{programme.name} · 项目总基金"
    fund = session.exec(select(CommunityFund).where(CommunityFund.code == PLATFORM_FUND)).first()
    return fund.name if fund is not None else "善联平台通用基金"


def general_fund(session: Session, need: Need) -> CommunityFund:
    """Where undecided money goes after 30 days: the programme's general fund (the one
    programme gifts go to), or the platform's for a need with no programme; made when first
    needed."""
    programme = session.get(Programme, need.programme_id) if need.programme_id else None
    if programme is not None:
        return programme_general_fund(session, programme)
    fund = session.exec(select(CommunityFund).where(CommunityFund.code == PLATFORM_FUND)).first()
    if fund is not None:
        return fund
    return create_fund(session, "善联平台通用基金", need.region.split("/")[0],
                       code=PLATFORM_FUND, need_kinds=list(NEED_KINDS))


# -- opening the cases -------------------------------------------------------------------

def _reversed(session: Session, ref: str) -> bool:
    return session.exec(select(LedgerTxn.seq).where(LedgerTxn.kind == "reversal",
                                                    LedgerTxn.ref == ref)).first() is not None


def open_returns(session: Session, need: Need) -> list[GiftReturn]:
    """Safe to run twice: a source already given back or a gift already asked is skipped."""
    session.refresh(need)
    if need.state not in CLOSED_UNFUNDED:
        return []
    sources: list[tuple[int, str, object]] = []
    for transfer in session.exec(select(Allocation).where(
            Allocation.need_id == need.id, Allocation.status == "executed")):
        sources.append((transfer.ledger_seq, "allocation", transfer))
    for share in session.exec(select(MatchShare).where(MatchShare.need_id == need.id)):
        sources.append((share.ledger_seq, "share", share))
    left = need.funded - need.disbursed
    opened = []
    for _seq, what, source in sorted(sources, key=lambda s: s[0], reverse=True):
        if left <= 0:
            break
        part = min(source.amount, left)
        left -= part
        if what == "share":
            _give_back_share(session, need, source, part)
        elif source.donation_id is not None:
            case = _open_case(session, need, source.donation_id, part)
            if case is not None:
                opened.append(case)
        else:
            _give_back_allocation(session, need, source, part)
    return opened


def _give_back_share(session: Session, need: Need, share: MatchShare, part: int) -> None:
    ref = f"match_share:{share.id}"
    if _reversed(session, ref):
        return
    offer = session.get(MatchOffer, share.offer_id)
    enterprise = session.get(Enterprise, offer.enterprise_id)
    release_from_need(session, need, part, accounts.enterprise(enterprise.code), "reversal",
                      ref, memo=f"{need.title} 未执行，配捐退回{enterprise.name}")


def _give_back_allocation(session: Session, need: Need, transfer: Allocation, part: int) -> None:
    """A pledge's allocation back to the pledge, a fund's grant back to the fund."""
    result = session.execute(update(Allocation).where(
        Allocation.id == transfer.id, Allocation.status == "executed").values(status="reversed"))
    if result.rowcount != 1:
        return
    ref = f"allocation:{transfer.id}"
    if transfer.fund_id is not None:
        fund = session.get(CommunityFund, transfer.fund_id)
        release_from_need(session, need, part, accounts.fund(fund.code), "reversal", ref,
                          memo=f"{need.title} 未执行，拨款退回{fund.name}")
        change_balance(session, fund, part)
    else:
        pledge = session.get(Pledge, transfer.pledge_id)
        release_from_need(session, need, part, accounts.pledge(pledge.code), "reversal", ref,
                          memo=f"{need.title} 未执行，退回认捐")
        session.execute(update(Pledge).where(Pledge.id == pledge.id)
                        .values(allocated=Pledge.allocated - part))


def _open_case(session: Session, need: Need, donation_id: int, part: int) -> GiftReturn | None:
    if session.exec(select(GiftReturn.id).where(GiftReturn.donation_id == donation_id)).first():
        return None
    case = GiftReturn(donation_id=donation_id, need_id=need.id, amount=part, cause=need.state,
                      decide_by=now() + timedelta(days=DECISION_DAYS))
    session.add(case)
    session.flush()
    record(session, "gift_return.open", f"need:{need.code}", donation=donation_id, amount=part)
    donation = session.get(Donation, donation_id)
    tell(session, donation, "return_decision", f"return_decision:gift_return:{case.id}",
         link=f"/account/returns/{case.id}", need=need.title, amount=Money.fen(part),
         cause=CAUSES.get(need.state, need.state),
         decide_by=f"{beijing(case.decide_by):%Y-%m-%d}",
         default=default_fund_name(session, need))
    return case


# -- reading -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    needs: list[Need]
    funds: list[CommunityFund]
    default_fund: str
    refund_by: str  # "stripe" or "bank_transfer"


def case_of_user(session: Session, case_id: int, user_id: int) -> GiftReturn:
    """A signed-in donor's own case; anyone else's is "not found"."""
    case = session.get(GiftReturn, case_id)
    donation = session.get(Donation, case.donation_id) if case else None
    donor = session.get(Donor, donation.donor_id) if donation and donation.donor_id else None
    if donor is None or donor.user_id != user_id:
        raise NotFound("找不到这笔待处理的捐款")
    return case


def cases_of_user(session: Session, user_id: int) -> list[GiftReturn]:
    return list(session.exec(select(GiftReturn).join(
        Donation, Donation.id == GiftReturn.donation_id).join(
        Donor, Donor.id == Donation.donor_id).where(Donor.user_id == user_id)
        .order_by(GiftReturn.id.desc())))


def choices_for(session: Session, case: GiftReturn) -> Choices:
    """Open needs that can take the whole amount (a whole need only at exactly its amount),
    the funds, the default, and how a refund would be paid."""
    source = session.get(Need, case.need_id)
    candidates = session.exec(select(Need).where(
        Need.state == "verified", Need.id != case.need_id,
        Need.funded + case.amount <= Need.amount).order_by(
        (Need.programme_id == source.programme_id).desc(), Need.urgency.desc(), Need.id)
        .limit(60)).all()
    fits = [n for n in candidates if not n.whole or (n.funded == 0 and n.amount == case.amount)]
    funds = session.exec(select(CommunityFund).order_by(CommunityFund.id).limit(30)).all()
    return Choices(needs=fits[:20], funds=list(funds),
                   default_fund=default_fund_name(session, source),
                   refund_by=payment_of(session, case).provider)


def payment_of(session: Session, case: GiftReturn) -> GiftPayment:
    payment = session.exec(select(GiftPayment).where(
        GiftPayment.donation_id == case.donation_id)).first()
    if payment is None:  # a gift recorded offline (demo, import): paid back by bank
        return GiftPayment(donation_id=case.donation_id, provider="bank_transfer",
                           reference="", payer_name="")
    return payment


def awaiting_refunds(session: Session) -> list[GiftReturn]:
    return list(session.exec(select(GiftReturn).where(GiftReturn.status == "awaiting_refund")
                             .order_by(GiftReturn.decided_at, GiftReturn.id)))


# -- deciding ----------------------------------------------------------------------------

def _lock(session: Session, case_id: int, status: str) -> GiftReturn:
    """The case, locked for this unit of work, in `status` — or refused (someone else, or
    the same person's first click, decided already)."""
    case = session.exec(select(GiftReturn).where(GiftReturn.id == case_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if case is None:
        raise NotFound("找不到这笔待处理的捐款")
    if case.status != status:
        raise UserError("这笔捐款已经处理过了")
    return case


def decide(session: Session, case_id: int, target: str, gateway: PaymentGateway | None = None,
           actor_id: int | None = None) -> GiftReturn:
    """The donor's choice: "need:<code>", "fund:<code>" or "refund"."""
    target = (target or "").strip()
    kind, _, code = target.partition(":")
    if target == "refund":
        return _refund(session, case_id, gateway, actor_id)
    if kind == "need" and code:
        other = session.exec(select(Need).where(Need.code == code)).first()
        if other is None:
            raise UserError("找不到该需求")
        return _to_need(session, case_id, other, actor_id)
    if kind == "fund" and code:
        fund = session.exec(select(CommunityFund).where(CommunityFund.code == code)).first()
        if fund is None:
            raise UserError("找不到该基金")
        return _to_fund(session, case_id, fund, "fund", "redirected", actor_id)
    raise UserError("请选择转捐的需求、基金，或申请退款")


def _open_case_locked(session: Session, case_id: int) -> tuple[GiftReturn, Need]:
    case = _lock(session, case_id, "open")
    if aware(case.decide_by) <= now():
        raise UserError("选择期限已过，已按默认方式处理")
    return case, session.get(Need, case.need_id)


def _done(session: Session, case: GiftReturn, status: str, choice: str, txn: LedgerTxn | None,
          actor_id: int | None, **targets) -> GiftReturn:
    case.status, case.choice = status, choice
    case.decided_at, case.decided_by = now(), actor_id
    if txn is not None:
        case.ledger_seq = txn.seq
    for name, value in targets.items():
        setattr(case, name, value)
    session.flush()
    record(session, f"gift_return.{status}", f"gift_return:{case.id}", actor_id,
           choice=choice, amount=case.amount)
    return case


def _to_need(session: Session, case_id: int, other: Need, actor_id: int | None) -> GiftReturn:
    case, source = _open_case_locked(session, case_id)
    if other.id == source.id:
        raise UserError("请选择另一条需求")
    reserve_need(session, other, case.amount)  # refuses a need that cannot take it whole
    # One transfer need:A → need:B: the old need's funded falls, the new one's rises.
    taken = session.execute(update(Need).where(
        Need.id == source.id, Need.state.in_(CLOSED_UNFUNDED),
        Need.funded - case.amount >= Need.disbursed).values(funded=Need.funded - case.amount))
    if taken.rowcount != 1:
        raise UserError("该需求上已没有可退回的款项")
    txn = post_credit(session, other, case.amount, accounts.need(source.code), "redirect",
                      f"gift_return:{case.id}", memo=f"{source.title} → {other.title}")
    return _done(session, case, "redirected", "need", txn, actor_id, target_need_id=other.id)


def _to_fund(session: Session, case_id: int, fund: CommunityFund, choice: str, status: str,
             actor_id: int | None, case: GiftReturn | None = None) -> GiftReturn:
    if case is None:
        case, source = _open_case_locked(session, case_id)
    else:
        source = session.get(Need, case.need_id)
    txn = release_from_need(session, source, case.amount, accounts.fund(fund.code), "redirect",
                            f"gift_return:{case.id}", memo=f"{source.title} → {fund.name}")
    change_balance(session, fund, case.amount)
    return _done(session, case, status, choice, txn, actor_id, target_fund_id=fund.id)


def _refund(session: Session, case_id: int, gateway: PaymentGateway | None,
            actor_id: int | None) -> GiftReturn:
    case, source = _open_case_locked(session, case_id)
    payment = payment_of(session, case)
    if payment.provider != "stripe":
        # Staff send the money back from the bank and record it (record_bank_refund).
        return _done(session, case, "awaiting_refund", "refund", None, actor_id)
    if gateway is None or gateway.name != "stripe" or not payment.provider_payment_ref:
        raise UserError("暂时无法在线退款，请稍后再试")
    txn = _reverse_gift(session, case, source)
    result = gateway.refund(payment.provider_payment_ref, case.amount, gift_id=case.donation_id,
                            idempotency_key=f"shanlian-gift-return-{case.id}")
    # Called last: if Stripe refuses, the whole unit of work rolls back and nothing moved.
    return _done(session, case, "refunded", "refund", txn, actor_id,
                 refund_ref=result.refund_ref or "")


def _reverse_gift(session: Session, case: GiftReturn, source: Need) -> LedgerTxn:
    donation = session.get(Donation, case.donation_id)
    donor = session.get(Donor, donation.donor_id)
    txn = release_from_need(session, source, case.amount, accounts.donor(donor.public_id),
                            "refund", f"gift_return:{case.id}", memo=f"{source.title} 退款")
    if case.amount == donation.amount:
        donation.status = "refunded"
    session.flush()
    return txn


def record_bank_refund(session: Session, case_id: int, bank_ref: str,
                       actor_id: int | None) -> GiftReturn:
    """Staff sent a bank transfer's money back: the ledger reversal, now."""
    bank_ref = (bank_ref or "").strip()
    if not bank_ref:
        raise UserError("请填写退款的银行流水号")
    if len(bank_ref) > 120:
        raise UserError("银行流水号太长（最多 120 个字符）")
    case = _lock(session, case_id, "awaiting_refund")
    txn = _reverse_gift(session, case, session.get(Need, case.need_id))
    return _done(session, case, "refunded", "refund", txn, actor_id, refund_ref=bank_ref)


def apply_due_defaults(session: Session) -> int:
    """The daily job: every case whose 30 days are over goes to the programme's general
    fund. Returns how many."""
    due = session.exec(select(GiftReturn.id).where(GiftReturn.status == "open",
                                                   GiftReturn.decide_by <= now())
                       .order_by(GiftReturn.id)).all()
    done = 0
    for case_id in due:
        try:
            with session.begin_nested():
                case = _lock(session, case_id, "open")
                fund = general_fund(session, session.get(Need, case.need_id))
                _to_fund(session, case_id, fund, "default", "defaulted", None, case=case)
                done += 1
        except UserError:
            continue  # decided by the donor in the meantime
    return done


@dataclass(frozen=True)
class Inbox:
    notices: list
    unread: int
    cases: list[tuple[GiftReturn, Need]]


def inbox(session: Session, user_id: int) -> Inbox:
    """A signed-in donor's account page: notices (newest first), unread count, and gifts
    on closed needs with what became of them."""
    from core import notify

    cases = [(case, session.get(Need, case.need_id)) for case in cases_of_user(session, user_id)]
    return Inbox(notify.notices_for(session, user_id), notify.unread_count(session, user_id),
                 cases)


def refund_failed(session: Session, donation_id: int, refund_ref: str | None) -> str:
    """Stripe reports that a refund we recorded failed or was canceled: the money is back
    on the need (a reversing transaction, never an edit) and the donor decides again, with
    30 new days. A second report of the same refund finds nothing to undo."""
    case = session.exec(select(GiftReturn).where(
        GiftReturn.donation_id == donation_id, GiftReturn.status == "refunded",
        GiftReturn.refund_ref == (refund_ref or "")).with_for_update()
        .execution_options(populate_existing=True)).first()
    if case is None or not refund_ref:
        return "ignored"
    source = session.get(Need, case.need_id)
    donation = session.get(Donation, donation_id)
    donor = session.get(Donor, donation.donor_id)
    result = session.execute(update(Need).where(
        Need.id == source.id, Need.funded + case.amount <= Need.amount)
        .values(funded=Need.funded + case.amount))
    if result.rowcount != 1:
        raise UserError("该需求上已没有可退回的款项")
    ledger.append(session, "reversal", f"gift_return:{case.id}",
                  [(accounts.donor(donor.public_id), -case.amount),
                   (accounts.need(source.code), case.amount)],
                  memo=f"{source.title} 退款失败，款项退回")
    donation.status = "paid"
    case.status, case.choice, case.refund_ref = "open", "", ""
    case.decided_at = case.decided_by = case.ledger_seq = None
    case.decide_by = now() + timedelta(days=DECISION_DAYS)
    session.flush()
    session.refresh(source)
    record(session, "gift_return.refund_failed", f"gift_return:{case.id}", refund=refund_ref)
    tell(session, donation, "return_decision",
         f"return_decision:gift_return:{case.id}:refund_failed:{refund_ref}"[:120],
         link=f"/account/returns/{case.id}", need=source.title, amount=Money.fen(case.amount),
         cause=CAUSES.get(case.cause, case.cause),
         decide_by=f"{beijing(case.decide_by):%Y-%m-%d}",
         default=default_fund_name(session, source))
    return "refund_failed"
