"""The rules a source of money (an enterprise pledge, a community fund) sets on what it may
pay for, checked by every service that moves its money into a need — whatever called it: a
matching proposal, an admin, the demo loader, a test. The engine applies the same rules
(matching/eligibility.py); this is the check at the moment the money moves."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from core.clock import now
from core.errors import UserError
from core.money import Money
from core.regions import within
from funds.models import Allocation
from needs.models import Need


@dataclass(frozen=True)
class SourceRules:
    """What a source allows; empty lists mean any (as in the matching instance)."""

    name: str
    categories: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    need_kinds: list[str] = field(default_factory=list)
    per_grant_cap: int | None = None
    per_beneficiary_cap: int | None = None
    match_ratio_pct: int | None = None
    # The column of Allocation naming this source (pledge_id or fund_id) and its value:
    # per-beneficiary caps and 配捐 ratios count what this source already gave.
    source_column: str = "pledge_id"
    source_id: int | None = None


def check_rules(session: Session, rules: SourceRules, need: Need, amount: Money) -> None:
    """Refuse, changing nothing, if `rules` do not allow `amount` for `need`."""
    if need.state != "verified" or need.verified_at is None:
        raise UserError("该需求未经核实或已不再开放，不能拨款")
    if need.deadline is not None and need.deadline < now().date():
        raise UserError("该需求已过截止日期")
    if rules.categories and need.category not in rules.categories:
        raise UserError("%(source)s只资助%(allowed)s类需求，该需求属于%(category)s",
                        source=rules.name, allowed="、".join(rules.categories),
                        category=need.category)
    if rules.regions and not any(within(need.region, prefix) for prefix in rules.regions):
        raise UserError("该需求不在%(source)s资助的地区内", source=rules.name)
    if rules.need_kinds and need.kind not in rules.need_kinds:
        raise UserError("%(source)s不资助这类需求", source=rules.name)
    if rules.per_grant_cap is not None and amount > rules.per_grant_cap:
        raise UserError("超过%(source)s的单笔上限（%(cap)s）", source=rules.name,
                        cap=Money.fen(rules.per_grant_cap))
    if rules.per_beneficiary_cap is not None and need.beneficiary_id is not None:
        given = _given(session, rules, Need.beneficiary_id == need.beneficiary_id)
        if given + amount > rules.per_beneficiary_cap:
            raise UserError("超过%(source)s对每位受助人的上限（%(cap)s）", source=rules.name,
                            cap=Money.fen(rules.per_beneficiary_cap))
    if rules.match_ratio_pct is not None:
        own = _given(session, rules, Need.id == need.id)
        others = need.funded - own  # 配捐 matches money other givers already raised
        allowed = others * rules.match_ratio_pct // 100
        if own + amount > allowed:
            raise UserError("配捐最多为其他捐款的%(pct)s%%，该需求至多还可配捐%(left)s",
                            pct=rules.match_ratio_pct, left=Money.fen(max(allowed - own, 0)))


def _given(session: Session, rules: SourceRules, where) -> int:
    """What this source already moved (executed transfers) into needs matching `where`."""
    column = getattr(Allocation, rules.source_column)
    total = session.exec(
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .select_from(Allocation).join(Need, Need.id == Allocation.need_id)
        .where(column == rules.source_id, Allocation.status == "executed", where)).one()
    return int(total)
