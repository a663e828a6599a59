"""配捐: enterprises offer to match public gifts; an admin approves; each confirmed eligible
gift gets the offer's share in the same unit of work as the gift.

A share is the gift × ratio, cut to the per-gift cap, to what the need still lacks, to the
per-need cap left and to the total left. The offer row is locked (SELECT … FOR UPDATE) to
read what is left, and both counters rise by conditional UPDATEs that the CHECKs back, so
200 gifts at once stop exactly at the cap: the last one gets the remainder."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.money import Money, require_positive
from core.regions import Region, within
from donors.match_models import MatchOffer
from donors.models import Enterprise
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


def share_amount(gift_amount: int, offer, need_room: int, need_cap_room: int | None) -> int:
    """What an offer adds to one gift, in fen: its ratio of the gift, cut to its per-gift
    cap, to what the need still lacks, to what the offer has left and, with a per-need cap,
    to what is left of it for this need (donors.gift_batches applies it to locked rows)."""
    amount = gift_amount * offer.ratio_pct // 100
    if offer.per_gift_cap is not None:
        amount = min(amount, offer.per_gift_cap)
    amount = min(amount, need_room, offer.total_cap - offer.used)
    if need_cap_room is not None:
        amount = min(amount, need_cap_room)
    return amount


def remaining(offer: MatchOffer) -> Money:
    return Money.fen(offer.total_cap - offer.used)
