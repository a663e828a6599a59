"""Where an enterprise's money went: per pledge its budget, paid in, allocated and
disbursed, and per county (never below: a public-safe level) what its allocations funded.
Disbursed money is counted in proportion: an allocation's share of what its need paid out."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from core.regions import KNOWN, county_display
from donors.models import Enterprise, Pledge
from funds.models import Allocation
from needs.models import Need


@dataclass
class PledgeFigures:
    pledge: Pledge
    disbursed: int = 0


@dataclass
class CountyMoney:
    name: str  # "" for needs placed at city level only
    allocated: int = 0
    disbursed: int = 0
    needs: int = 0


@dataclass
class CityMoney:
    """One city of the map: every county Shanlian knows there, with or without money, so
    the grid shows where the money did not go as well as where it did."""

    province: str
    city: str
    counties: list[CountyMoney]

    @property
    def allocated(self) -> int:
        return sum(c.allocated for c in self.counties)

    @property
    def disbursed(self) -> int:
        return sum(c.disbursed for c in self.counties)


@dataclass
class ProvinceMoney:
    province: str
    cities: list[CityMoney]

    @property
    def allocated(self) -> int:
        return sum(c.allocated for c in self.cities)

    @property
    def disbursed(self) -> int:
        return sum(c.disbursed for c in self.cities)


@dataclass
class EnterpriseMoney:
    enterprise: Enterprise
    pledges: list[PledgeFigures] = field(default_factory=list)
    by_county: list[tuple[str, int, int]] = field(default_factory=list)  # county, amount, needs
    needs: list[tuple[Need, int]] = field(default_factory=list)  # need, amount allocated
    regions: list[ProvinceMoney] = field(default_factory=list)  # 省 → 市 → 县, for the map

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

    def map_rows(self) -> list[tuple[str, list[CountyMoney]]]:
        """The map's rows, as the dashboard and the report-back PDF draw them: one per city
        (its province and city as the label), its counties as the cells."""
        return [(f"{province.province}{city.city}" if city.city else province.province,
                 city.counties)
                for province in self.regions for city in province.cities]


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
    by_path: dict[tuple[str, str, str], CountyMoney] = {}
    for allocation, need in rows:
        paid_out = allocation.amount * need.disbursed // need.funded if need.funded else 0
        figures[allocation.pledge_id].disbursed += paid_out
        county = county_display(need.region)
        counties[county][0] += allocation.amount
        counties[county][1] += 1
        per_need.setdefault(need.id, [need, 0])[1] += allocation.amount
        province, city, name = (need.region.split("/") + ["", ""])[:3]
        cell = by_path.setdefault((province, city, name), CountyMoney(name))
        cell.allocated += allocation.amount
        cell.disbursed += paid_out
        cell.needs += 1
    report.regions = _map(by_path)
    report.by_county = sorted(((c, a, n) for c, (a, n) in counties.items()), key=lambda r: -r[1])
    report.needs = [(need, amount) for need, amount in per_need.values()]
    return report


def _map(by_path: dict[tuple[str, str, str], CountyMoney]) -> list[ProvinceMoney]:
    """省 → 市 → 县 for every city the money reached, its known counties in their usual
    order (empty ones included), then any county-less remainder."""
    provinces: dict[str, dict[str, list[CountyMoney]]] = {}
    for province, city, _name in sorted(by_path):
        cities = provinces.setdefault(province, {})
        if city in cities:
            continue
        known = KNOWN.get(province, {}).get(city, ())
        cells = [by_path.get((province, city, name), CountyMoney(name)) for name in known]
        cells += [cell for (p, c, name), cell in sorted(by_path.items())
                  if p == province and c == city and name not in known]
        cities[city] = cells
    return [ProvinceMoney(province, [CityMoney(province, city, cells)
                                     for city, cells in cities.items()])
            for province, cities in provinces.items()]


def open_proposals(session: Session, enterprise: Enterprise, after_id: int | None = None,
                   limit: int | None = None) -> list[tuple[Allocation, Need, Pledge]]:
    """The matching engine's proposals on this enterprise's pledges awaiting its review, in
    id order (`limit` of them after `after_id`: the API's keyset pages)."""
    query = (select(Allocation, Need, Pledge).join(Need, Need.id == Allocation.need_id)
             .join(Pledge, Pledge.id == Allocation.pledge_id)
             .where(Pledge.enterprise_id == enterprise.id, Allocation.status == "proposed",
                    Allocation.match_run_id.is_not(None)).order_by(Allocation.id))
    if after_id is not None:
        query = query.where(Allocation.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())
