"""Read-side queries for public pages. Only verified needs are ever returned, and only the
public fields of a beneficiary."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import func, or_
from sqlmodel import Session, select

from core.clock import now
from core.errors import NotFound, UserError
from core.privacy import donor_display_name
from core.regions import children as region_children
from donors.models import Donation, Donor, Enterprise, Pledge
from funds.models import Allocation, CommunityFund, Disbursement
from needs.models import (
    CATEGORIES,
    NEED_KINDS,
    PUBLIC_STATES,
    Beneficiary,
    Evidence,
    Milestone,
    Need,
    Organisation,
    Programme,
)
from needs.search import MAX_QUERY_CHARS, IndexCache, SearchIndex, SearchRow


@dataclass
class Totals:
    needs: int
    money_in: int
    matched: int
    disbursed: int
    funds: int
    fund_balance: int
    enterprises_paid: int

    @property
    def held(self) -> int:
        return self.money_in - self.disbursed


def platform_totals(session: Session) -> Totals:
    needs, matched, disbursed = session.exec(
        select(func.count(Need.id), func.coalesce(func.sum(Need.funded), 0),
               func.coalesce(func.sum(Need.disbursed), 0))
        .where(Need.state.in_(PUBLIC_STATES))).one()
    donated = session.exec(select(func.coalesce(func.sum(Donation.amount), 0))
                           .where(Donation.status == "paid")).one()
    paid_in = session.exec(select(func.coalesce(func.sum(Pledge.paid_in), 0))).one()
    funds, fund_balance = session.exec(
        select(func.count(CommunityFund.id), func.coalesce(func.sum(CommunityFund.balance), 0))).one()
    return Totals(needs=needs, money_in=int(donated) + int(paid_in), matched=int(matched),
                  disbursed=int(disbursed), funds=funds, fund_balance=int(fund_balance),
                  enterprises_paid=int(paid_in))


def programmes_with_totals(session: Session) -> list[tuple[Programme, int, int, int]]:
    """(programme, needs, amount asked, amount funded) for every programme."""
    rows = session.exec(
        select(Programme, func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
               func.coalesce(func.sum(Need.funded), 0))
        .join(Need, (Need.programme_id == Programme.id) & Need.state.in_(PUBLIC_STATES),
              isouter=True)
        .group_by(Programme.id).order_by(Programme.id)).all()
    return [(p, n, int(a), int(f)) for p, n, a, f in rows]


@dataclass
class MilestoneRow:
    milestone: Milestone
    status: str  # done / due / overdue


@dataclass
class NeedView:
    need: Need
    programme: Programme | None
    organisation: Organisation
    beneficiary: Beneficiary | None
    donors: list[tuple[str, int]]  # (public name, amount), newest first, at most 200
    disbursements: list[Disbursement]
    milestones: list[Milestone]
    donor_count: int = 0
    allocations: list[tuple[str, str, str, int, int | None]] = field(default_factory=list)
    # (enterprise code, enterprise name, pledge title, amount, ledger seq)
    grants: list[tuple[str, str, int, int]] = field(default_factory=list)
    # (fund code, fund name, amount, ledger seq)
    evidence: list[Evidence] = field(default_factory=list)
    milestone_rows: list[MilestoneRow] = field(default_factory=list)
    disclosure: object = None  # funds.disclosure.DisclosureStatus


def milestone_status(milestone: Milestone, today) -> str:
    if milestone.done_at is not None:
        return "done"
    if milestone.due is not None and milestone.due < today:
        return "overdue"
    return "due"


def need_view(session: Session, code: str) -> NeedView:
    """Everything the public page of one need shows; each list is one indexed query."""
    from funds.disclosure import disclosure_status  # funds.disclosure reads needs; import late

    need = session.exec(select(Need).where(Need.code == code,
                                           Need.state.in_(PUBLIC_STATES))).first()
    if need is None:
        raise NotFound("找不到需求 %(code)s", code=code)
    paid = (Donation.need_id == need.id) & (Donation.status == "paid")
    donor_count = session.exec(select(func.count(Donation.id)).where(
        paid, Donation.donor_id.is_not(None))).one()
    donors = [(donor_display_name(name, shown), amount) for name, shown, amount in session.exec(
        select(Donor.name, Donor.show_name, Donation.amount)
        .join(Donation, Donation.donor_id == Donor.id).where(paid)
        .order_by(Donation.id.desc()).limit(200)).all()]
    allocations = [(e.code, e.name, p.title or p.code, a.amount, a.ledger_seq)
                   for a, p, e in session.exec(
                       select(Allocation, Pledge, Enterprise)
                       .join(Pledge, Pledge.id == Allocation.pledge_id)
                       .join(Enterprise, Enterprise.id == Pledge.enterprise_id)
                       .where(Allocation.need_id == need.id, Allocation.status == "executed")
                       .order_by(Allocation.id)).all()]
    # Community-fund grants: their transfer records (funds.models.Allocation), executed.
    grants = [(code, name, int(amount), seq) for code, name, amount, seq in session.exec(
        select(CommunityFund.code, CommunityFund.name, Allocation.amount, Allocation.ledger_seq)
        .join(CommunityFund, CommunityFund.id == Allocation.fund_id)
        .where(Allocation.need_id == need.id, Allocation.status == "executed")
        .order_by(Allocation.ledger_seq)).all()]
    milestones = list(session.exec(select(Milestone).where(
        Milestone.need_id == need.id).order_by(Milestone.seq)).all())
    today = now().date()
    return NeedView(
        need=need,
        programme=session.get(Programme, need.programme_id) if need.programme_id else None,
        organisation=session.get(Organisation, need.organisation_id),
        beneficiary=session.get(Beneficiary, need.beneficiary_id) if need.beneficiary_id else None,
        donors=donors,
        donor_count=int(donor_count),
        disbursements=list(session.exec(select(Disbursement).where(
            Disbursement.need_id == need.id).order_by(Disbursement.id)).all()),
        milestones=milestones,
        milestone_rows=[MilestoneRow(m, milestone_status(m, today)) for m in milestones],
        allocations=allocations,
        grants=grants,
        evidence=list(session.exec(select(Evidence).where(Evidence.need_id == need.id)
                                   .order_by(Evidence.id)).all()),
        disclosure=disclosure_status(need),
    )


# ---------------------------------------------------------------------------------------------
# Browsing and search of needs (GET /needs): a filter parsed from query args, an index-friendly
# query, and the forgiving search (needs.search) combined with it.

SORTS = ("urgency", "newest", "amount", "progress", "deadline", "relevance")
PER_PAGE = 20
SEARCH_LIMIT = 1000        # at most this many search hits are combined with the filters
MAX_PAGE = 100_000


@dataclass(frozen=True)
class NeedFilter:
    """What the public asked for. Empty strings / None mean "any"."""

    programme: str = ""            # Programme.code
    kind: str = ""                 # wish / project / sponsorship / microgrant
    category: str = ""
    region: str = ""               # 省[/市[/县]], matched on whole segments
    urgency: int | None = None     # at least this urgent (1–5)
    state: str = ""                # one of PUBLIC_STATES
    q: str = ""
    sort: str = ""                 # "" = relevance with a query, urgency without
    page: int = 1

    @property
    def effective_sort(self) -> str:
        if self.sort and (self.sort != "relevance" or self.q):
            return self.sort
        return "relevance" if self.q else "urgency"

    @property
    def region_parts(self) -> tuple[str, str, str]:
        parts = [p for p in self.region.split("/") if p] + ["", "", ""]
        return parts[0], parts[1], parts[2]

    def query_args(self, **changes) -> dict[str, str]:
        """The canonical query string (defaults left out), for links and the pushed URL."""
        f = replace(self, **changes)
        province, city, county = f.region_parts
        args = {"q": f.q, "programme": f.programme, "kind": f.kind, "category": f.category,
                "province": province, "city": city, "county": county,
                "urgency": str(f.urgency) if f.urgency else "", "state": f.state,
                "sort": f.sort, "page": str(f.page) if f.page > 1 else ""}
        return {k: v for k, v in args.items() if v}


def parse_need_filter(args: Mapping[str, str],
                      programme_codes: Iterable[str]) -> tuple[NeedFilter, list[UserError]]:
    """Read and check query args. A bad value is left out of the filter and reported."""
    errors: list[UserError] = []

    def arg(name: str) -> str:
        return (args.get(name) or "").strip()

    def choice(name: str, allowed: Iterable[str], msgid: str) -> str:
        value = arg(name)
        if value and value not in allowed:
            errors.append(UserError(msgid, value=value[:40]))
            return ""
        return value

    values: dict = {
        "programme": choice("programme", set(programme_codes), "项目类别（公益计划）“%(value)s”无效"),
        "kind": choice("kind", NEED_KINDS, "需求类型“%(value)s”无效"),
        "category": choice("category", CATEGORIES, "领域“%(value)s”无效"),
        "state": choice("state", PUBLIC_STATES, "状态“%(value)s”无效"),
        "sort": choice("sort", SORTS, "排序方式“%(value)s”无效"),
        "q": " ".join(arg("q").split())[:MAX_QUERY_CHARS],
    }
    urgency = arg("urgency")
    if urgency:
        if urgency.isdigit() and 1 <= int(urgency) <= 5:
            values["urgency"] = int(urgency)
        else:
            errors.append(UserError("紧急程度应为 1 到 5"))
    page = arg("page")
    if page:
        if page.isdigit() and 1 <= int(page) <= MAX_PAGE:
            values["page"] = int(page)
        else:
            errors.append(UserError("页码“%(page)s”无效", page=page[:20]))
    values["region"] = _parse_region(arg("region"), arg("province"), arg("city"), arg("county"),
                                     errors)
    return NeedFilter(**values), errors


def _parse_region(path: str, province: str, city: str, county: str,
                  errors: list[UserError]) -> str:
    """省 → 市 → 县 from the cascade (or one `region` path). A lower level that does not lie
    in the level above is a leftover of changing the level above: it is dropped quietly."""
    if path:
        parts = [p.strip() for p in path.strip("/").split("/") if p.strip()]
        province, city, county = (parts + ["", "", ""])[:3]
        if len(parts) > 3:
            errors.append(UserError("地区只能筛选到县级"))
    if not province:
        if city or county:
            errors.append(UserError("请先选择省份"))
        return ""
    if province not in region_children(""):
        errors.append(UserError("未知地区“%(region)s”", region=province[:40]))
        return ""
    chosen = [province]
    if city and city in region_children(province):
        chosen.append(city)
        if county and county in region_children(f"{province}/{city}"):
            chosen.append(county)
    return "/".join(chosen)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filter_conditions(session: Session, f: NeedFilter) -> list:
    conds = [Need.state.in_(PUBLIC_STATES)]
    if f.state:
        conds.append(Need.state == f.state)
    if f.kind:
        conds.append(Need.kind == f.kind)
    if f.category:
        conds.append(Need.category == f.category)
    if f.programme:
        conds.append(Need.programme_id == select(Programme.id)
                     .where(Programme.code == f.programme).scalar_subquery())
    if f.urgency:
        conds.append(Need.urgency >= f.urgency)
    if f.region:
        conds.append(or_(Need.region == f.region,
                         Need.region.like(_like_prefix(f.region) + "/%", escape="\\")))
    return conds


def _order(sort: str) -> list:
    if sort == "newest":
        return [Need.posted_at.desc(), Need.id.desc()]
    if sort == "amount":
        return [Need.amount.desc(), Need.id.desc()]
    if sort == "progress":  # closest to its goal first; needs already met go last
        return [(Need.funded >= Need.amount).asc(), (Need.funded * 10_000 // Need.amount).desc(),
                (Need.amount - Need.funded).asc(), Need.id.desc()]
    if sort == "deadline":
        return [Need.deadline.asc().nulls_last(), Need.id.asc()]
    return [Need.urgency.desc(), Need.posted_at.desc(), Need.id.desc()]


def filtered_needs(session: Session, f: NeedFilter,
                   per_page: int = PER_PAGE) -> tuple[list[Need], int, int, bool]:
    """(needs on the page, total, the page shown, search truncated) for a filter. A page past
    the end shows the last page."""
    conds = _filter_conditions(session, f)
    ranked: list[int] | None = None
    truncated = False
    if f.q:
        ranked = search_index(session).search_ids(f.q, SEARCH_LIMIT)
        truncated = len(ranked) >= SEARCH_LIMIT
        if not ranked:
            return [], 0, 1, False
        conds.append(Need.id.in_(ranked))
    if ranked is not None and f.effective_sort == "relevance":
        allowed = set(session.exec(select(Need.id).where(*conds)).all())
        ordered = [i for i in ranked if i in allowed]
        total = len(ordered)
        page = _clamp_page(f.page, total, per_page)
        chosen = ordered[(page - 1) * per_page: page * per_page]
        by_id = {n.id: n for n in session.exec(select(Need).where(Need.id.in_(chosen))).all()}
        return [by_id[i] for i in chosen], total, page, truncated
    total = session.exec(select(func.count()).select_from(Need).where(*conds)).one()
    page = _clamp_page(f.page, total, per_page)
    rows = session.exec(select(Need).where(*conds).order_by(*_order(f.effective_sort))
                        .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total, page, truncated


def _clamp_page(page: int, total: int, per_page: int) -> int:
    return max(1, min(page, (total + per_page - 1) // per_page))


@dataclass
class RegionChoices:
    provinces: list[str]
    cities: list[str]
    counties: list[str]
    province: str = ""
    city: str = ""
    county: str = ""


def region_choices(province: str = "", city: str = "", county: str = "") -> RegionChoices:
    """Options of the 省 → 市 → 县 cascade for what is chosen so far (unknown levels dropped)."""
    region = _parse_region("", province.strip(), city.strip(), county.strip(), [])
    p, c, k = (region.split("/") + ["", "", ""])[:3]
    return RegionChoices(provinces=region_children(""),
                         cities=region_children(p) if p else [],
                         counties=region_children(f"{p}/{c}") if c else [],
                         province=p, city=c, county=k)


@dataclass
class NeedBrowse:
    filter: NeedFilter
    errors: list[UserError]
    needs: list[Need]
    total: int
    page: int
    pages: int
    per_page: int
    truncated: bool
    programmes: list[tuple[str, str]]          # (code, name) for the filter
    programme_names: dict[int, str]            # programme id → name, for the list
    regions: RegionChoices


def browse_needs(session: Session, args: Mapping[str, str],
                 per_page: int = PER_PAGE) -> NeedBrowse:
    """Everything GET /needs shows: the filter read from `args` (bad values reported and left
    out), one page of public needs, and the options of the filter form."""
    programmes = [(code, name) for code, name in session.exec(
        select(Programme.code, Programme.name).order_by(Programme.id)).all()]
    f, errors = parse_need_filter(args, [code for code, _ in programmes])
    rows, total, page, truncated = filtered_needs(session, f, per_page)
    f = replace(f, page=page)
    names = dict(session.exec(select(Programme.id, Programme.name)).all()) if rows else {}
    return NeedBrowse(filter=f, errors=errors, needs=rows, total=total, page=page,
                      pages=max(1, (total + per_page - 1) // per_page), per_page=per_page,
                      truncated=truncated, programmes=programmes, programme_names=names,
                      regions=region_choices(*f.region_parts))


# The search index: one per database, rebuilt when public needs change (see needs.search).
_search_caches: dict[str, IndexCache] = {}
_search_caches_lock = threading.Lock()


def _search_marker(session: Session) -> tuple:
    """Cheap (index-only) signs that the public needs changed: how many there are (a need
    published or withdrawn), the newest id and the latest verification. Edits of a public
    need's text are not seen here: call `invalidate_search()`, or wait for the index's
    maximum age. The index is never what hides a need: the query filters states itself."""
    public = session.exec(select(func.count()).select_from(Need)
                          .where(Need.state.in_(PUBLIC_STATES))).one()
    newest = session.exec(select(func.max(Need.id))).one()
    verified = session.exec(select(func.max(Need.verified_at))).one()
    return public, newest, verified


def search_rows(session: Session) -> list[SearchRow]:
    """The public fields of every public need, for the search index."""
    rows = session.exec(
        select(Need.id, Need.title, Need.story, Programme.name, Organisation.name, Need.region,
               Need.category, Need.kind)
        .join(Organisation, Organisation.id == Need.organisation_id)
        .join(Programme, Programme.id == Need.programme_id, isouter=True)
        .where(Need.state.in_(PUBLIC_STATES)).order_by(Need.id)).all()
    return [SearchRow(i, t, s or "", p or "", o or "", r, c, k) for i, t, s, p, o, r, c, k in rows]


def search_index(session: Session) -> SearchIndex:
    """The search index for this session's database, rebuilt if public needs changed."""
    engine = session.get_bind()
    key = str(engine.url)
    with _search_caches_lock:
        cache = _search_caches.setdefault(key, IndexCache())

    def in_background() -> list[SearchRow]:
        with Session(engine) as own:
            return search_rows(own)

    return cache.get(lambda: _search_marker(session), lambda: search_rows(session),
                     in_background)


def invalidate_search() -> None:
    """Make the next search rebuild its index (call after editing a need's public text)."""
    with _search_caches_lock:
        caches = list(_search_caches.values())
    for cache in caches:
        cache.invalidate()
