"""Where an enterprise's money went: per pledge its budget, paid in, allocated and
disbursed, and per county (never below: a public-safe level) what its allocations funded.
Disbursed money is counted in proportion: an allocation's share of what its need paid out."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from core.regions import county_display
from donors.models import Enterprise, Pledge
from funds.models import Allocation
from needs.models import Need


@dataclass
class PledgeFigures:
    pledge: Pledge
    disbursed: int = 0


@dataclass
class EnterpriseMoney:
    enterprise: Enterprise
    pledges: list[PledgeFigures] = field(default_factory=list)
    by_county: list[tuple[str, int, int]] = field(default_factory=list)  # county, amount, needs
    needs: list[tuple[Need, int]] = field(default_factory=list)  # need, amount allocated

    @property
    def budget(self) -> int:
        return sum(p.pledge.budget for p in self.pledges)

    @property
    def paid_in(self) -> int:
        return sum(p.pledge.paid_in for p in self.pledges)

    @property
    def allocated(self) -> int:
        return sum(p.pledge.allocated for p in self.pledges)

    @property
    def disbursed(self) -> int:
        return sum(p.disbursed for p in self.pledges)


def enterprise_money(session: Session, enterprise: Enterprise) -> EnterpriseMoney:
    report = EnterpriseMoney(enterprise=enterprise)
    pledges = session.exec(select(Pledge).where(Pledge.enterprise_id == enterprise.id)
                           .order_by(Pledge.id)).all()
    figures = {p.id: PledgeFigures(p) for p in pledges}
    report.pledges = list(figures.values())
    rows = session.exec(select(Allocation, Need).join(Need, Need.id == Allocation.need_id)
                        .where(Allocation.pledge_id.in_(list(figures) or [0]),
                               Allocation.status == "executed")
                        .order_by(Allocation.id)).all()
    counties: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_need: dict[int, list] = {}
    for allocation, need in rows:
        if need.funded:
            figures[allocation.pledge_id].disbursed += allocation.amount * need.disbursed // need.funded
        county = county_display(need.region)
        counties[county][0] += allocation.amount
        counties[county][1] += 1
        per_need.setdefault(need.id, [need, 0])[1] += allocation.amount
    report.by_county = sorted(((c, a, n) for c, (a, n) in counties.items()), key=lambda r: -r[1])
    report.needs = [(need, amount) for need, amount in per_need.values()]
    return report


def open_proposals(session: Session, enterprise: Enterprise) -> list[tuple[Allocation, Need, Pledge]]:
    """The matching engine's proposals on this enterprise's pledges awaiting its review."""
    return list(session.exec(
        select(Allocation, Need, Pledge).join(Need, Need.id == Allocation.need_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .where(Pledge.enterprise_id == enterprise.id, Allocation.status == "proposed",
               Allocation.match_run_id.is_not(None)).order_by(Allocation.id)).all())
