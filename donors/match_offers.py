"""配捐: enterprises offer to match public gifts; an admin approves; each confirmed eligible
gift gets the offer's share in the same unit of work as the gift.

A share is the gift × ratio, cut to the per-gift cap, to what the need still lacks, to the
per-need cap left and to the total left. The offer row is locked (SELECT … FOR UPDATE) to
read what is left, and both counters rise by conditional UPDATEs that the CHECKs back, so
200 gifts at once stop exactly at the cap: the last one gets the remainder."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.money import Money, require_positive
from core.regions import Region, within
from donors.match_models import MatchOffer, MatchOfferNeed, MatchShare
from donors.models import Donation, Enterprise
from funds import accounts
from needs.funding import fresh_need, post_credit, reserve_need
from needs.models import CATEGORIES, Need, Programme


def create_offer(session: Session, enterprise: Enterprise, *, title: str, ratio_pct: int,
                 total_cap: Money, starts_at: datetime, ends_at: datetime,
                 per_gift_cap: Money | None = None, per_need_cap: Money | None = None,
                 programme_ids: list[int] | None = None, categories: list[str] | None = None,
                 regions: list[str] | None = None, actor_id: int | None = None) -> MatchOffer:
    """An enterprise's offer, pending until an admin approves it."""
    if not (title or "").strip():
        raise UserError("请填写配捐名称")
    if isinstance(ratio_pct, bool) or not isinstance(ratio_pct, int) or not 1 <= ratio_pct <= 1000:
        raise UserError("配捐比例须在 1% 到 1000% 之间")
    require_positive(total_cap, "配捐总额必须是正数")
    for cap in (per_gift_cap, per_need_cap):
        if cap is not None:
            require_positive(cap, "配捐上限必须是正数")
    if aware(ends_at) <= aware(starts_at):
        raise UserError("配捐结束时间须晚于开始时间")
    for category in categories or []:
        if category not in CATEGORIES:
            raise UserError("未知类别 %(category)s", category=category)
    for region in regions or []:
        Region.parse(region)
    for programme_id in programme_ids or []:
        if session.get(Programme, programme_id) is None:
            raise UserError("未知项目 %(programme)s", programme=programme_id)
    offer = MatchOffer(enterprise_id=enterprise.id, title=title.strip(), ratio_pct=ratio_pct,
                       total_cap=total_cap, per_gift_cap=per_gift_cap, per_need_cap=per_need_cap,
                       starts_at=starts_at, ends_at=ends_at, programme_ids=programme_ids or [],
                       categories=categories or [], regions=regions or [], created_by=actor_id)
    session.add(offer)
    session.flush()
    offer.code = f"MO-{offer.id}"
    record(session, "match_offer.create", f"match_offer:{offer.code}", actor_id,
           total_cap=total_cap)
    session.flush()
    return offer


def approve_offer(session: Session, offer: MatchOffer, actor_id: int | None = None) -> None:
    if offer.status != "pending":
        raise UserError("该配捐不在待审批状态")
    offer.status, offer.approved_by = "approved", actor_id
    record(session, "match_offer.approve", f"match_offer:{offer.code}", actor_id)
    session.flush()


def reject_offer(session: Session, offer: MatchOffer, actor_id: int | None = None,
                 reason: str = "") -> None:
    """An admin turns a pending offer down; it never matches anything."""
    if offer.status != "pending":
        raise UserError("该配捐不在待审批状态")
    offer.status = "rejected"
    record(session, "match_offer.reject", f"match_offer:{offer.code}", actor_id,
           reason=reason[:300])
    session.flush()


def eligible(offer: MatchOffer, need: Need, at: datetime | None = None) -> bool:
    at = at or now()
    if offer.status != "approved" or not aware(offer.starts_at) <= at < aware(offer.ends_at):
        return False
    if offer.programme_ids and need.programme_id not in offer.programme_ids:
        return False
    if offer.categories and need.category not in offer.categories:
        return False
    return not offer.regions or any(within(need.region, r) for r in offer.regions)


def offers_for(session: Session, need: Need) -> list[MatchOffer]:
    """Approved offers open now that would match a gift to this need."""
    offers = session.exec(select(MatchOffer).where(MatchOffer.status == "approved",
                                                   MatchOffer.used < MatchOffer.total_cap)
                          .order_by(MatchOffer.id)).all()
    return [offer for offer in offers if eligible(offer, need)]


def prepare_matches(session: Session, need: Need) -> list[tuple[MatchOffer, Enterprise]]:
    """The offers that would match a gift to `need`, with their enterprises: read before
    the gift takes the ledger's lock, so that apply_matches reads only the locked offer."""
    return [(offer, session.get(Enterprise, offer.enterprise_id))
            for offer in offers_for(session, need)]


def apply_matches(session: Session, donation: Donation,
                  prepared: list[tuple[MatchOffer, Enterprise]] | None = None
                  ) -> list[MatchShare]:
    """Add every eligible offer's share to a just-confirmed public gift (same unit of work).
    `prepared`: what prepare_matches(need) returned earlier in this unit of work."""
    need = session.get(Need, donation.need_id)
    shares = []
    for offer, enterprise in prepared if prepared is not None else prepare_matches(session, need):
        share = _match_one(session, offer, enterprise, need, donation)
        if share is not None:
            shares.append(share)
    return shares


def _match_one(session: Session, offer: MatchOffer, enterprise: Enterprise, need: Need,
               donation: Donation) -> MatchShare | None:
    offer = session.exec(select(MatchOffer).where(MatchOffer.id == offer.id)
                         .with_for_update().execution_options(populate_existing=True)).one()
    fresh_need(session, need)  # no read when this gift has just reserved it (row locked)
    amount = donation.amount * offer.ratio_pct // 100
    if offer.per_gift_cap is not None:
        amount = min(amount, offer.per_gift_cap)
    amount = min(amount, need.amount - need.funded, offer.total_cap - offer.used)
    per_need = None
    if offer.per_need_cap is not None:
        per_need = _need_counter(session, offer, need)
        amount = min(amount, per_need.cap - per_need.used)
    if amount <= 0 or need.whole:
        return None
    amount = Money.fen(amount)
    taken = session.execute(update(MatchOffer).where(
        MatchOffer.id == offer.id, MatchOffer.used + amount <= MatchOffer.total_cap)
        .values(used=MatchOffer.used + amount))
    if taken.rowcount != 1:
        return None  # cannot happen under the row lock; the CHECK is the last word anyway
    if per_need is not None:
        session.execute(update(MatchOfferNeed).where(
            MatchOfferNeed.offer_id == offer.id, MatchOfferNeed.need_id == need.id,
            MatchOfferNeed.used + amount <= MatchOfferNeed.cap)
            .values(used=MatchOfferNeed.used + amount))
    reserve_need(session, need, amount, holder=f"donation:{donation.id}")
    txn = post_credit(session, need, amount, accounts.enterprise(enterprise.code), "match",
                      f"match_offer:{offer.code}", memo=f"{enterprise.name}配捐 → {need.title}")
    share = MatchShare(offer_id=offer.id, donation_id=donation.id, need_id=need.id,
                       amount=amount, ledger_seq=txn.seq)
    session.add(share)
    session.flush()
    return share


def _need_counter(session: Session, offer: MatchOffer, need: Need) -> MatchOfferNeed:
    counter = session.get(MatchOfferNeed, (offer.id, need.id))
    if counter is None:
        counter = MatchOfferNeed(offer_id=offer.id, need_id=need.id, cap=offer.per_need_cap)
        session.add(counter)
        session.flush()  # the offer row lock makes this insert race-free
    return counter


def remaining(offer: MatchOffer) -> Money:
    return Money.fen(offer.total_cap - offer.used)
