"""The 3-month disclosure rule of 《慈善组织信息公开办法》: a project whose implementation lasts
more than six months discloses its progress at least every three months. One rule, stated in
Python for a single need and in SQL (two dialects) for lists."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, text
from sqlmodel import Session, select

from core.clock import add_months, aware, now
from needs.models import ACTIVE_STATES, Need

DISCLOSE_EVERY_MONTHS = 3  # 《慈善组织信息公开办法》: 至少每3个月公开一次项目实施情况
LONG_PROJECT_MONTHS = 6  # … for projects whose implementation period exceeds 6 months
# Only projects and school-year sponsorships are carried out over time. A 微心愿 or a 小急难
# micro-grant is a one-off gift, done once paid out: the rule never applies to them.
DISCLOSING_KINDS = ("project", "sponsorship")


@dataclass(frozen=True)
class DisclosureStatus:
    applies: bool  # implementation period over 6 months and money has come in
    last: datetime | None  # last disclosure (disbursement or evidence)
    next_due: datetime | None
    overdue: bool


def _start(need: Need) -> datetime | None:
    return aware(need.verified_at or need.posted_at)


def rule_applies(need: Need) -> bool:
    start = _start(need)
    return (need.kind in DISCLOSING_KINDS and need.state in ACTIVE_STATES and need.funded > 0
            and need.deadline is not None and start is not None
            and need.deadline > add_months(start.date(), LONG_PROJECT_MONTHS))


def disclosure_status(need: Need, at: datetime | None = None) -> DisclosureStatus:
    """Overdue when the last disclosure (or, if none yet, verification) is more than three
    calendar months before `at`. The SQL in overdue_needs() states the same rule."""
    at = aware(at or now())
    last = aware(need.last_disclosed_at)
    base = last or _start(need)
    applies = rule_applies(need)
    next_due = add_months(base, DISCLOSE_EVERY_MONTHS) if applies and base else None
    overdue = applies and base < add_months(at, -DISCLOSE_EVERY_MONTHS)
    return DisclosureStatus(applies, last, next_due, overdue)


def _long_project_sql(session: Session):
    start = "COALESCE(need.verified_at, need.posted_at)"
    if session.get_bind().dialect.name == "postgresql":
        return text(f"need.deadline > ({start} + interval '{LONG_PROJECT_MONTHS} months')::date")
    # SQLite: add months clamping the day to the month's end, as add_months() does.
    return text(
        f"need.deadline > min(date({start}, 'start of month', '+{LONG_PROJECT_MONTHS} months', "
        f"'+' || (CAST(strftime('%d', {start}) AS INTEGER) - 1) || ' days'), "
        f"date({start}, 'start of month', '+{LONG_PROJECT_MONTHS + 1} months', '-1 day'))")


def _overdue_where(session: Session, at: datetime):
    threshold = add_months(aware(at), -DISCLOSE_EVERY_MONTHS)
    base = func.coalesce(Need.last_disclosed_at, Need.verified_at, Need.posted_at)
    return and_(Need.kind.in_(DISCLOSING_KINDS), Need.state.in_(ACTIVE_STATES), Need.funded > 0,
                Need.deadline.is_not(None),
                _long_project_sql(session), base < threshold), base


def overdue_needs(session: Session, at: datetime | None = None,
                  limit: int = 50) -> tuple[list[Need], int]:
    """Projects whose disclosure is overdue (oldest first), and how many there are."""
    where, base = _overdue_where(session, at or now())
    count = session.exec(select(func.count()).select_from(Need).where(where)).one()
    rows = session.exec(select(Need).where(where).order_by(base, Need.id).limit(limit)).all()
    return list(rows), int(count)
