"""Browsing and search of needs (GET /needs): a filter parsed from query args, an
index-friendly query, and the forgiving search (needs.search) combined with it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from sqlalchemy import bindparam, func, or_
from sqlmodel import Session, select

from core.data_version import LISTS, SITE, followed_version
from core.errors import UserError
from core.regions import Cascade
from core.regions import children as region_children
from needs.models import CATEGORIES, NEED_KINDS, PUBLIC_STATES, Need, Programme
from needs.search import MAX_QUERY_CHARS
from readside import reference
from readside.result_cache import ResultCache
from readside.search_cache import search_index

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
        if urgency.isascii() and urgency.isdigit() and 1 <= int(urgency) <= 5:
            values["urgency"] = int(urgency)
        else:
            errors.append(UserError("紧急程度应为 1 到 5"))
    page = arg("page")
    if page:
        if page.isascii() and page.isdigit() and len(page) <= 6 and 1 <= int(page) <= MAX_PAGE:
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


# Totals and search results per filter (the page left out), per database. Money moving
# keeps a need public and changes no searchable text, so only a state filter or a sort by
# money depends on the `lists` scope; everything else is valid until `site` moves.
_totals = ResultCache()
_ranked = ResultCache()
_hits = ResultCache()  # what the search index answers for a query: a function of the index


def clear_cache() -> None:
    _page_statements.clear()
    _totals.clear()
    _ranked.clear()
    _hits.clear()


def _result_version(session: Session, f: NeedFilter) -> int:
    money = bool(f.state) or f.effective_sort in ("amount", "progress")
    return followed_version(session, SITE, LISTS) if money else followed_version(session, SITE)


@dataclass
class NeedQuery:
    """A filter turned into SQL conditions, with what the search found (None without a
    query), and the caches of its count and its relevance order."""

    session: Session
    filter: NeedFilter
    cache_key: tuple
    version: object
    ranked: list[int] | None
    truncated: bool

    @cached_property
    def conditions(self) -> list:
        """Built on first use: a page whose count and order come from memory needs none
        (a search's IN list of up to SEARCH_LIMIT ids cost more to build than to run)."""
        conds = _filter_conditions(self.session, self.filter)
        if self.ranked is not None:
            conds.append(Need.id.in_(self.ranked))
        return conds

    @property
    def empty_search(self) -> bool:
        return self.ranked is not None and not self.ranked

    @property
    def by_relevance(self) -> bool:
        return self.ranked is not None and self.filter.effective_sort == "relevance"

    def relevance_order(self) -> list[int]:
        """The search's ids still public and within the filter, best first."""
        def still_public() -> list[int]:  # the conditions are built only on a miss
            allowed = set(self.session.exec(select(Need.id).where(*self.conditions)).all())
            return [i for i in self.ranked or [] if i in allowed]

        return _ranked.get(self.cache_key, self.version, still_public)

    def total(self) -> int:
        if self.empty_search:
            return 0
        if self.by_relevance:
            return len(self.relevance_order())
        return _totals.get(self.cache_key, self.version, lambda: self.session.exec(
            select(func.count()).select_from(Need).where(*self.conditions)).one())


def need_query(session: Session, f: NeedFilter) -> NeedQuery:
    key = (str(session.get_bind().url), replace(f, page=1))
    version: object = _result_version(session, f)
    ranked: list[int] | None = None
    truncated = False
    if f.q:
        index = search_index(session)
        built = (id(index), index.built_at)  # a rebuilt index ranks anew
        ranked = _hits.get((key[0], f.q), built,
                           lambda: index.search_ids(f.q, SEARCH_LIMIT, session))
        truncated = len(ranked) >= SEARCH_LIMIT
        version = (version, built)
    return NeedQuery(session, f, key, version, ranked, truncated)


def filtered_needs(session: Session, f: NeedFilter,
                   per_page: int = PER_PAGE) -> tuple[list[Need], int, int, bool]:
    """(needs on the page, total, the page shown, search truncated) for a filter. A page past
    the end shows the last page."""
    query = need_query(session, f)
    if query.empty_search:
        return [], 0, 1, False
    total = query.total()
    page = _clamp_page(f.page, total, per_page)
    connection = session.connection()  # rows, not ORM objects: the cards only read them
    if query.by_relevance:
        chosen = query.relevance_order()[(page - 1) * per_page: page * per_page]
        by_id = {n.id: n for n in connection.execute(_CARDS_BY_ID, {"ids": chosen}).all()}
        return [by_id[i] for i in chosen], total, page, query.truncated
    window = {"offset": (page - 1) * per_page, "limit": per_page}
    if f.q:  # the conditions hold this query's hits: built for it alone
        statement = _page_statement(query.conditions, f.effective_sort)
    else:
        key = replace(f, page=1)
        statement = _page_statements.get(key, None, lambda: _page_statement(
            query.conditions, f.effective_sort))
    rows = connection.execute(statement, window).all()
    return list(rows), total, page, query.truncated


# What a need card shows (templates/partials/need_list.html), read as rows.
CARD_COLUMNS = (Need.id, Need.code, Need.title, Need.kind, Need.category, Need.state,
                Need.region, Need.programme_id, Need.urgency, Need.deadline, Need.funded,
                Need.amount)
_CARDS_BY_ID = select(*CARD_COLUMNS).where(Need.id.in_(bindparam("ids", expanding=True)))
# One page's statement per filter (the page is a bound window), built once: building the
# expression cost as much as running it. Filters without a query are few (the form's choices).
_page_statements = ResultCache(max_entries=1024)


def _page_statement(conditions: list, sort: str):
    return (select(*CARD_COLUMNS).where(*conditions).order_by(*_order(sort))
            .offset(bindparam("offset")).limit(bindparam("limit")))


def _clamp_page(page: int, total: int, per_page: int) -> int:
    return max(1, min(page, (total + per_page - 1) // per_page))



def region_choices(province: str = "", city: str = "", county: str = "") -> Cascade:
    """Options of the 省 → 市 → 县 cascade for what is chosen so far (unknown levels dropped,
    an unknown province too: a filter forgives, the pledge form's picker refuses)."""
    region = _parse_region("", province.strip(), city.strip(), county.strip(), [])
    p, c, k = (region.split("/") + ["", "", ""])[:3]
    return Cascade(provinces=region_children(""),
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
    regions: Cascade


def browse_needs(session: Session, args: Mapping[str, str],
                 per_page: int = PER_PAGE) -> NeedBrowse:
    """Everything GET /needs shows: the filter read from `args` (bad values reported and left
    out), one page of public needs, and the options of the filter form."""
    programmes = [(p.code, p.name) for p in reference.programmes(session)]
    f, errors = parse_need_filter(args, [code for code, _ in programmes])
    rows, total, page, truncated = filtered_needs(session, f, per_page)
    f = replace(f, page=page)
    names = reference.programme_names(session) if rows else {}
    return NeedBrowse(filter=f, errors=errors, needs=rows, total=total, page=page,
                      pages=max(1, (total + per_page - 1) // per_page), per_page=per_page,
                      truncated=truncated, programmes=programmes, programme_names=names,
                      regions=region_choices(*f.region_parts))
