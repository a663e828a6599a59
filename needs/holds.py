"""Holds: a donor paying for a 微心愿 holds it for a few minutes, so nobody else claims it
while the payment runs. One hold at a time per need, taken by a conditional UPDATE (two
donors at once: one wins); an expired hold counts as no hold, and the giving issue's job
releases them. While a hold lasts, reserve_need takes money only from its holder."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from core.clock import aware, now
from core.errors import UserError
from needs.funding import FUNDABLE
from needs.models import Need

DEFAULT_HOLD = timedelta(minutes=15)


def place_hold(session: Session, need: Need, holder: str,
               until: datetime | None = None) -> datetime:
    """Hold `need` for `holder` (e.g. "donation:12") until `until` (default 15 minutes)."""
    if not holder or len(holder) > 80:
        raise UserError("持有人无效")
    until = aware(until) if until else now() + DEFAULT_HOLD
    if until <= now():
        raise UserError("保留时间必须在将来")
    result = session.execute(
        update(Need)
        .where(Need.id == need.id, Need.state.in_(FUNDABLE),
               or_(Need.hold_holder.is_(None), Need.hold_until <= now(),
                   Need.hold_holder == holder))
        .values(hold_holder=holder, hold_until=until))
    session.refresh(need)
    if result.rowcount != 1:
        if need.state not in FUNDABLE:
            raise UserError("该需求当前不能接受捐助")
        raise UserError("该心愿正被他人认领中，请稍后再试")
    return until


def release_hold(session: Session, need: Need, holder: str | None = None) -> bool:
    """Lift the hold (only `holder`'s, if given; any expired one otherwise). True if lifted."""
    condition = (Need.hold_holder == holder) if holder else (Need.hold_until <= now())
    result = session.execute(update(Need).where(Need.id == need.id, condition)
                             .values(hold_holder=None, hold_until=None),
                             execution_options={"synchronize_session": False})
    if result.rowcount == 1:  # what the row now holds, without reading it again
        set_committed_value(need, "hold_holder", None)
        set_committed_value(need, "hold_until", None)
        return True
    session.refresh(need)
    return False
