"""阳光慈善 read side: platform totals, per project / fund / enterprise / programme pages,
the paginated ledger and the 3-month disclosure rule. Every figure is an SQL aggregate (over
indexed columns) and every page of rows is a keyset page, so the pages stay cheap with 100k
needs and a million postings.

Ledger-derived totals are a pure function of the chain, so they are cached by the head
transaction's hash and brought up to date incrementally (only postings after the cached seq
are read). Need-side totals are cached briefly, keyed by the ledger head and the audit log.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, literal, or_, text
from sqlmodel import Session, select

from core.audit import AuditEntry
from core.clock import aware, now
from core.errors import NotFound
from core.regions import county_display, county_path
from donors.models import Donation, Enterprise, Pledge
from funds.models import Allocation, CommunityFund, Disbursement, LedgerPosting, LedgerTxn
from needs.models import PUBLIC_STATES, Evidence, Need, Organisation, Programme

ACTIVE_STATES = ("verified", "funded", "disbursed")  # still being carried out
DISCLOSE_EVERY_MONTHS = 3  # 《慈善组织信息公开办法》: 至少每3个月公开一次项目实施情况
LONG_PROJECT_MONTHS = 6  # … for projects whose implementation period exceeds 6 months
PER_PAGE = 50
OUTSIDE = ("donor", "enterprise")  # money enters the platform from these accounts


# --------------------------------------------------------------------------- time helpers

def add_months(moment, months: int):
    """Calendar months, clamping the day (Aug 31 + 6 → Feb 28/29), like PostgreSQL."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
    return moment.replace(year=year, month=month, day=min(moment.day, last))


# --------------------------------------------------------------- the 3-month disclosure rule

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
    return (need.state in ACTIVE_STATES and need.funded > 0 and need.deadline is not None
            and start is not None
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
    return and_(Need.state.in_(ACTIVE_STATES), Need.funded > 0, Need.deadline.is_not(None),
                _long_project_sql(session), base < threshold), base


def overdue_needs(session: Session, at: datetime | None = None,
                  limit: int = 50) -> tuple[list[Need], int]:
    """Projects whose disclosure is overdue (oldest first), and how many there are."""
    where, base = _overdue_where(session, at or now())
    count = session.exec(select(func.count()).select_from(Need).where(where)).one()
    rows = session.exec(select(Need).where(where).order_by(base, Need.id).limit(limit)).all()
    return list(rows), int(count)


# ------------------------------------------------------------------ ledger-derived totals

def _month(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _account_type():
    return case(
        *[(LedgerPosting.account.startswith(f"{t}:"), literal(t)) for t in
          ("donor", "enterprise", "need", "disbursed", "fund", "pledge")],
        else_=literal("other"))


@dataclass
class LedgerSummary:
    upto_seq: int = 0
    upto_hash: str = ""
    # (month, kind, account type) → [sum of positive postings, sum of all postings]
    cells: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    txn_counts: dict[str, int] = field(default_factory=dict)

    def _sum(self, index: int, kinds=None, types=None, months=None) -> int:
        return sum(v[index] for (m, k, t), v in self.cells.items()
                   if (kinds is None or k in kinds) and (types is None or t in types)
                   and (months is None or m in months))

    @property
    def money_in(self) -> int:
        """What donors and enterprises have paid in, net of refunds."""
        return -self._sum(1, types=OUTSIDE)

    @property
    def to_needs(self) -> int:
        """Credited to needs (donations, pledge allocations, fund grants)."""
        return self._sum(0, types=("need",))

    @property
    def disbursed(self) -> int:
        return self._sum(1, types=("disbursed",))

    @property
    def held(self) -> int:
        return self.money_in - self.disbursed

    def by_kind(self) -> list[tuple[str, int, int]]:
        """(kind, transactions, money moved) — money moved is the sum of positive postings."""
        totals: dict[str, int] = defaultdict(int)
        for (_m, kind, _t), (positive, _net) in self.cells.items():
            totals[kind] += positive
        return sorted(((k, self.txn_counts.get(k, 0), totals.get(k, 0))
                       for k in set(totals) | set(self.txn_counts)), key=lambda r: -r[2])

    def monthly(self) -> list[tuple[str, int, int, int]]:
        """(YYYY-MM, money in, raised for needs, disbursed) per month."""
        months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (month, _kind, kind_type), (positive, net) in self.cells.items():
            if kind_type in OUTSIDE:
                months[month][0] -= net
            elif kind_type == "need":
                months[month][1] += positive
            elif kind_type == "disbursed":
                months[month][2] += net
        return [(m, *months[m]) for m in sorted(months)]


_cache_lock = threading.Lock()
_ledger_cache: dict[str, LedgerSummary] = {}
_need_cache: dict[str, tuple[tuple, NeedSummary]] = {}


def clear_cache() -> None:
    with _cache_lock:
        _ledger_cache.clear()
        _need_cache.clear()


def _cache_key(session: Session) -> str:
    return str(session.get_bind().url)


def ledger_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(LedgerTxn.seq, LedgerTxn.hash).order_by(LedgerTxn.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, "")


def _add_range(session: Session, summary: LedgerSummary, after: int, upto: int) -> None:
    account_type = _account_type()
    month = _month(session, LedgerTxn.at)
    rows = session.execute(
        select(month, LedgerTxn.kind, account_type,
               func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)),
               func.sum(LedgerPosting.amount))
        .select_from(LedgerPosting).join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
        .where(LedgerPosting.seq > after, LedgerPosting.seq <= upto)
        .group_by(month, LedgerTxn.kind, account_type)).all()
    for m, kind, kind_type, positive, net in rows:
        cell = summary.cells.setdefault((m, kind, kind_type), [0, 0])
        cell[0] += int(positive or 0)
        cell[1] += int(net or 0)
    for kind, count in session.execute(
            select(LedgerTxn.kind, func.count()).where(LedgerTxn.seq > after, LedgerTxn.seq <= upto)
            .group_by(LedgerTxn.kind)).all():
        summary.txn_counts[kind] = summary.txn_counts.get(kind, 0) + int(count)


def ledger_summary(session: Session) -> LedgerSummary:
    """Totals of the whole ledger up to its head; reads only what is new since last time."""
    seq, head_hash = ledger_head(session)
    key = _cache_key(session)
    with _cache_lock:
        cached = _ledger_cache.get(key)
    if cached and cached.upto_seq == seq and cached.upto_hash == head_hash:
        return cached
    base = LedgerSummary()
    if cached and 0 < cached.upto_seq < seq:
        old = session.execute(select(LedgerTxn.hash).where(LedgerTxn.seq == cached.upto_seq)).scalar()
        if old == cached.upto_hash:  # same chain, only longer: add the new part
            base = LedgerSummary(cached.upto_seq, cached.upto_hash,
                                 {k: list(v) for k, v in cached.cells.items()},
                                 dict(cached.txn_counts))
    _add_range(session, base, base.upto_seq, seq)
    base.upto_seq, base.upto_hash = seq, head_hash
    with _cache_lock:
        _ledger_cache[key] = base
    return base


# -------------------------------------------------------------------- need-side totals

@dataclass
class Breakdown:
    label: str
    needs: int
    amount: int
    funded: int
    disbursed: int


@dataclass
class NeedSummary:
    needs: int
    amount: int
    funded: int
    disbursed: int
    by_category: list[Breakdown]
    by_county: list[Breakdown]
    programmes: list[tuple[Programme, Breakdown]]
    overdue: list[Need]
    overdue_count: int


def _breakdown_columns():
    return (func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
            func.coalesce(func.sum(Need.funded), 0), func.coalesce(func.sum(Need.disbursed), 0))


def _compute_need_summary(session: Session, at: datetime) -> NeedSummary:
    public = Need.state.in_(PUBLIC_STATES)
    n, amount, funded, disbursed = session.exec(select(*_breakdown_columns()).where(public)).one()
    by_category = [Breakdown(c, int(k), int(a), int(f), int(d)) for c, k, a, f, d in session.exec(
        select(Need.category, *_breakdown_columns()).where(public).group_by(Need.category)
        .order_by(Need.category)).all()]
    counties: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for region, k, a, f, d in session.exec(  # grouped in SQL; folded to county level here
            select(Need.region, *_breakdown_columns()).where(public).group_by(Need.region)).all():
        cell = counties[county_path(region)]
        for i, value in enumerate((k, a, f, d)):
            cell[i] += int(value)
    by_county = sorted((Breakdown(c, *v) for c, v in counties.items()),
                       key=lambda b: (-b.funded, b.label))
    programmes = [(p, Breakdown(p.name, int(k), int(a), int(f), int(d))) for p, k, a, f, d in
                  session.exec(select(Programme, *_breakdown_columns())
                               .join(Need, (Need.programme_id == Programme.id) & public,
                                     isouter=True)
                               .group_by(Programme.id).order_by(Programme.id)).all()]
    overdue, overdue_count = overdue_needs(session, at, limit=50)
    return NeedSummary(int(n), int(amount), int(funded), int(disbursed), by_category, by_county,
                       programmes, overdue, overdue_count)


def need_summary(session: Session) -> NeedSummary:
    """Cached for at most a minute, and never past a new ledger transaction or audit entry."""
    at = now()
    max_audit = session.execute(select(func.max(AuditEntry.id))).scalar() or 0
    key = (ledger_head(session), max_audit, at.replace(second=0))
    url = _cache_key(session)
    with _cache_lock:
        cached = _need_cache.get(url)
    if cached and cached[0] == key:
        return cached[1]
    summary = _compute_need_summary(session, at)
    for need in summary.overdue:
        session.expunge(need)
    with _cache_lock:
        _need_cache[url] = (key, summary)
    return summary


@dataclass
class Platform:
    ledger: LedgerSummary
    needs: NeedSummary


def platform(session: Session) -> Platform:
    return Platform(ledger_summary(session), need_summary(session))


# -------------------------------------------------------------- naming ledger accounts

@dataclass(frozen=True)
class AccountLabel:
    account: str
    label: str
    endpoint: str | None = None  # the page that explains it
    code: str | None = None


def label_accounts(session: Session, accounts: set[str]) -> dict[str, AccountLabel]:
    """Readable names for ledger accounts. Donors stay opaque (the ledger never names them);
    enterprises, funds and public needs are named and linked."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for account in accounts:
        kind, _, ident = account.partition(":")
        by_type[kind].add(ident)
    labels: dict[str, AccountLabel] = {}
    if by_type["need"] or by_type["disbursed"]:
        codes = by_type["need"] | by_type["disbursed"]
        for code, title in session.execute(select(Need.code, Need.title).where(
                Need.code.in_(codes), Need.state.in_(PUBLIC_STATES))).all():
            labels[f"need:{code}"] = AccountLabel(f"need:{code}", title, "need", code)
            labels[f"disbursed:{code}"] = AccountLabel(
                f"disbursed:{code}", f"已拨付：{title}", "need", code)
    if by_type["fund"]:
        for code, name in session.execute(select(CommunityFund.code, CommunityFund.name).where(
                CommunityFund.code.in_(by_type["fund"]))).all():
            labels[f"fund:{code}"] = AccountLabel(f"fund:{code}", name, "fund", code)
    if by_type["enterprise"]:
        for code, name in session.execute(select(Enterprise.code, Enterprise.name).where(
                Enterprise.code.in_(by_type["enterprise"]))).all():
            labels[f"enterprise:{code}"] = AccountLabel(f"enterprise:{code}", name, "enterprise",
                                                        code)
    if by_type["pledge"]:
        for code, title, ecode, ename in session.execute(
                select(Pledge.code, Pledge.title, Enterprise.code, Enterprise.name)
                .join(Enterprise, Enterprise.id == Pledge.enterprise_id)
                .where(Pledge.code.in_(by_type["pledge"]))).all():
            labels[f"pledge:{code}"] = AccountLabel(f"pledge:{code}", f"{ename}·{title or code}",
                                                    "enterprise", ecode)
    for account in accounts:
        if account not in labels:
            kind = account.partition(":")[0]
            labels[account] = AccountLabel(account, "个人捐赠者" if kind == "donor" else account)
    return labels


# ------------------------------------------------------------------------- ledger pages

@dataclass
class TxnRow:
    seq: int
    at: datetime
    kind: str
    ref: str
    memo: str
    hash: str
    postings: list[tuple[AccountLabel, int]]
    amount: int = 0  # for an account's page: this transaction's effect on the account


def _txn_rows(session: Session, txns: list[LedgerTxn]) -> list[TxnRow]:
    if not txns:
        return []
    seqs = [t.seq for t in txns]
    postings = session.execute(
        select(LedgerPosting.seq, LedgerPosting.account, LedgerPosting.amount)
        .where(LedgerPosting.seq.in_(seqs)).order_by(LedgerPosting.seq, LedgerPosting.position)
    ).all()
    labels = label_accounts(session, {a for _s, a, _m in postings})
    grouped: dict[int, list] = defaultdict(list)
    for seq, account, amount in postings:
        grouped[seq].append((labels[account], int(amount)))
    return [TxnRow(t.seq, aware(t.at), t.kind, t.ref, t.memo, t.hash, grouped[t.seq])
            for t in txns]


@dataclass
class LedgerPage:
    rows: list[TxnRow]
    head: int
    before: int  # rows have seq < before
    older: int | None  # `before` for the next (older) page
    newer: int | None  # `before` for the previous (newer) page
    kind: str | None


def ledger_page(session: Session, before: int | None = None, kind: str | None = None,
                per_page: int = PER_PAGE) -> LedgerPage:
    """Newest first, keyset-paged on seq (a primary-key range scan at any depth)."""
    head, _ = ledger_head(session)
    before = head + 1 if before is None or before > head + 1 or before < 1 else before
    query = select(LedgerTxn).where(LedgerTxn.seq < before)
    if kind:
        query = query.where(LedgerTxn.kind == kind)
    txns = list(session.exec(query.order_by(LedgerTxn.seq.desc()).limit(per_page)).all())
    older = txns[-1].seq if len(txns) == per_page and txns[-1].seq > 1 else None
    newer = None
    if before <= head:
        newer = min(head + 1, before + per_page) if not kind else head + 1
    return LedgerPage(_txn_rows(session, txns), head, before, older, newer, kind)


def account_txns(session: Session, accounts: list[str], before: int | None = None,
                 per_page: int = PER_PAGE) -> tuple[list[TxnRow], int | None]:
    """Transactions touching any of `accounts`, newest first, with their net effect on them;
    keyset-paged on seq via the (account, seq) index."""
    query = (select(LedgerPosting.seq, func.sum(LedgerPosting.amount))
             .where(LedgerPosting.account.in_(accounts)))
    if before:
        query = query.where(LedgerPosting.seq < before)
    effects = session.execute(query.group_by(LedgerPosting.seq)
                              .order_by(LedgerPosting.seq.desc()).limit(per_page)).all()
    if not effects:
        return [], None
    txns = list(session.exec(select(LedgerTxn).where(LedgerTxn.seq.in_([s for s, _ in effects]))
                             .order_by(LedgerTxn.seq.desc())).all())
    rows = _txn_rows(session, txns)
    effect = {s: int(a) for s, a in effects}
    for row in rows:
        row.amount = effect[row.seq]
    older = rows[-1].seq if len(rows) == per_page else None
    return rows, older


def account_flows(session: Session, accounts: list[str]) -> tuple[int, int, int, int | None,
                                                                   int | None]:
    """(money in, money out, balance, first seq, last seq) of some accounts, by aggregate."""
    row = session.execute(
        select(func.coalesce(func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount),
                                           else_=0)), 0),
               func.coalesce(func.sum(case((LedgerPosting.amount < 0, LedgerPosting.amount),
                                           else_=0)), 0),
               func.min(LedgerPosting.seq), func.max(LedgerPosting.seq))
        .where(LedgerPosting.account.in_(accounts))).one()
    money_in, money_out = int(row[0]), -int(row[1])
    return money_in, money_out, money_in - money_out, row[2], row[3]


# ------------------------------------------------------------------------ project pages

@dataclass
class NeedDisclosure:
    need: Need
    programme: Programme | None
    raised: int  # credited to need:<code>, from the ledger
    disbursed: int  # balance of disbursed:<code>
    held: int  # balance of need:<code>
    first_seq: int | None
    last_seq: int | None
    txns: list[TxnRow]
    older: int | None
    evidence: list[Evidence]
    disbursements: list[Disbursement]
    status: DisclosureStatus


def need_disclosure(session: Session, code: str, before: int | None = None) -> NeedDisclosure:
    need = session.exec(select(Need).where(Need.code == code,
                                           Need.state.in_(PUBLIC_STATES))).first()
    if need is None:
        raise NotFound("找不到项目 %(code)s", code=code)
    raised, out, held, first, last = account_flows(session, [f"need:{code}"])
    disbursed = account_flows(session, [f"disbursed:{code}"])[2]
    txns, older = account_txns(session, [f"need:{code}"], before)
    return NeedDisclosure(
        need=need,
        programme=session.get(Programme, need.programme_id) if need.programme_id else None,
        raised=raised, disbursed=disbursed, held=held, first_seq=first, last_seq=last,
        txns=txns, older=older,
        evidence=list(session.exec(select(Evidence).where(Evidence.need_id == need.id)
                                   .order_by(Evidence.id)).all()),
        disbursements=list(session.exec(select(Disbursement).where(
            Disbursement.need_id == need.id).order_by(Disbursement.id.desc()).limit(200)).all()),
        status=disclosure_status(need))


# --------------------------------------------------------------------------- fund pages

@dataclass
class FundPage:
    fund: CommunityFund
    programme: Programme | None
    money_in: int
    granted: int  # money out: grants to needs
    balance: int  # ledger balance of fund:<code>
    first_seq: int | None
    last_seq: int | None
    txns: list[TxnRow]
    older: int | None


def fund_page(session: Session, code: str, before: int | None = None) -> FundPage:
    fund = session.exec(select(CommunityFund).where(CommunityFund.code == code)).first()
    if fund is None:
        raise NotFound("找不到社区基金 %(code)s", code=code)
    account = f"fund:{code}"
    money_in, out, balance, first, last = account_flows(session, [account])
    txns, older = account_txns(session, [account], before)
    return FundPage(fund, session.get(Programme, fund.programme_id) if fund.programme_id else None,
                    money_in, out, balance, first, last, txns, older)


def funds_list(session: Session, page: int = 1, per_page: int = PER_PAGE
               ) -> tuple[list[CommunityFund], int]:
    total = session.exec(select(func.count(CommunityFund.id))).one()
    rows = session.exec(select(CommunityFund).order_by(CommunityFund.id)
                        .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), int(total)


# --------------------------------------------------------------------- enterprise pages

@dataclass
class AllocationRow:
    allocation: Allocation
    need: Need
    pledge_code: str
    disbursed_share: int  # the allocation's pro-rata share of what the need has disbursed


@dataclass
class EnterprisePage:
    enterprise: Enterprise
    pledges: list[Pledge]
    budget: int
    paid_in: int  # -(balance of enterprise:<code>): everything it paid through the ledger
    paid_to_pledges: int
    gifts_to_funds: int
    allocated: int  # moved out of its pledge accounts to needs
    unallocated: int  # still in its pledge accounts
    disbursed_share: int
    allocations: list[AllocationRow]
    allocation_count: int
    fund_gifts: list[tuple[CommunityFund, int, int]]  # (fund, amount, gifts)
    txns: list[TxnRow]
    older: int | None


def enterprise_page(session: Session, code: str, before: int | None = None,
                    page: int = 1) -> EnterprisePage:
    enterprise = session.exec(select(Enterprise).where(Enterprise.code == code,
                                                       Enterprise.status == "approved")).first()
    if enterprise is None:
        raise NotFound("找不到爱心企业 %(code)s", code=code)
    pledges = list(session.exec(select(Pledge).where(Pledge.enterprise_id == enterprise.id)
                                .order_by(Pledge.id)).all())
    own = f"enterprise:{code}"
    _in, out, _balance, _f, _l = account_flows(session, [own])
    by_kind = dict(session.execute(
        select(LedgerTxn.kind, func.sum(LedgerPosting.amount))
        .join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
        .where(LedgerPosting.account == own).group_by(LedgerTxn.kind)).all())
    pledge_accounts = [f"pledge:{p.code}" for p in pledges]
    p_in, p_out, p_balance = account_flows(session, pledge_accounts)[:3] if pledges else (0, 0, 0)
    mine = (Allocation.pledge_id == Pledge.id) & (Pledge.enterprise_id == enterprise.id)
    executed = Allocation.status == "executed"
    share = case((Need.funded > 0, Allocation.amount * Need.disbursed // Need.funded), else_=0)
    count, disbursed_share = session.execute(
        select(func.count(Allocation.id), func.coalesce(func.sum(share), 0))
        .select_from(Allocation).join(Pledge, mine).join(Need, Need.id == Allocation.need_id)
        .where(executed)).one()
    rows = session.execute(
        select(Allocation, Need, Pledge.code, share).join(Pledge, mine)
        .join(Need, Need.id == Allocation.need_id).where(executed)
        .order_by(Allocation.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    fund_gifts = [(f, int(a), int(n)) for f, a, n in session.execute(
        select(CommunityFund, func.sum(Donation.amount), func.count(Donation.id))
        .join(Donation, Donation.fund_id == CommunityFund.id)
        .where(Donation.enterprise_id == enterprise.id, Donation.status == "paid")
        .group_by(CommunityFund.id).order_by(func.sum(Donation.amount).desc()).limit(200)).all()]
    txns, older = account_txns(session, [own, *pledge_accounts], before)
    return EnterprisePage(
        enterprise=enterprise, pledges=pledges, budget=sum(p.budget for p in pledges),
        paid_in=out - _in, paid_to_pledges=-int(by_kind.get("pledge_payment") or 0),
        gifts_to_funds=-int(by_kind.get("donation") or 0), allocated=p_out,
        unallocated=p_balance, disbursed_share=int(disbursed_share),
        allocations=[AllocationRow(a, n, c, int(s)) for a, n, c, s in rows],
        allocation_count=int(count), fund_gifts=fund_gifts, txns=txns, older=older)


def enterprises_list(session: Session) -> list[tuple[Enterprise, int, int]]:
    """(enterprise, pledged budget, paid in to pledges) for approved enterprises."""
    rows = session.execute(
        select(Enterprise, func.coalesce(func.sum(Pledge.budget), 0),
               func.coalesce(func.sum(Pledge.paid_in), 0))
        .join(Pledge, Pledge.enterprise_id == Enterprise.id, isouter=True)
        .where(Enterprise.status == "approved").group_by(Enterprise.id)
        .order_by(func.coalesce(func.sum(Pledge.paid_in), 0).desc(), Enterprise.id)).all()
    return [(e, int(b), int(p)) for e, b, p in rows]


# ---------------------------------------------------------------------- programme pages

@dataclass
class ProgrammePage:
    programme: Programme
    totals: Breakdown
    by_state: list[tuple[str, int]]
    needs: list[Need]
    page: int
    pledges: list[tuple[Pledge, Enterprise]]
    funds: list[CommunityFund]
    funds_total: int
    fund_balance: int


def programme_page(session: Session, code: str, page: int = 1) -> ProgrammePage:
    programme = session.exec(select(Programme).where(Programme.code == code)).first()
    if programme is None:
        raise NotFound("找不到公益项目 %(code)s", code=code)
    where = (Need.programme_id == programme.id) & Need.state.in_(PUBLIC_STATES)
    k, a, f, d = session.exec(select(*_breakdown_columns()).where(where)).one()
    by_state = [(s, int(n)) for s, n in session.exec(
        select(Need.state, func.count(Need.id)).where(where).group_by(Need.state)).all()]
    needs = session.exec(select(Need).where(where).order_by(Need.id)
                         .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    pledges = session.exec(select(Pledge, Enterprise).join(
        Enterprise, Enterprise.id == Pledge.enterprise_id)
        .where(Pledge.programme_id == programme.id).order_by(Pledge.id)).all()
    fund_where = CommunityFund.programme_id == programme.id
    funds_total, fund_balance = session.exec(
        select(func.count(CommunityFund.id), func.coalesce(func.sum(CommunityFund.balance), 0))
        .where(fund_where)).one()
    funds = session.exec(select(CommunityFund).where(fund_where).order_by(CommunityFund.id)
                         .limit(200)).all()
    return ProgrammePage(programme, Breakdown(programme.name, int(k), int(a), int(f), int(d)),
                         by_state, list(needs), page, list(pledges), list(funds),
                         int(funds_total), int(fund_balance))


# ---------------------------------------------------------------------- export rows

NEED_EXPORT_COLUMNS = ("code", "kind", "title", "category", "county", "programme", "organisation",
                       "amount_fen", "funded_fen", "disbursed_fen", "state", "people",
                       "deadline", "verified_at", "last_disclosed_at")


def export_needs(session: Session, batch: int = 2000):
    """Public fields of every public need, streamed by id (never a beneficiary field)."""
    after = 0
    programmes = dict(session.execute(select(Programme.id, Programme.name)).all())
    organisations = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    while True:
        rows = session.exec(select(Need).where(Need.id > after, Need.state.in_(PUBLIC_STATES))
                            .order_by(Need.id).limit(batch)).all()
        if not rows:
            return
        for n in rows:
            yield (n.code, n.kind, n.title, n.category, county_display(n.region),
                   programmes.get(n.programme_id, ""), organisations.get(n.organisation_id, ""),
                   n.amount, n.funded, n.disbursed, n.state, n.people,
                   n.deadline.isoformat() if n.deadline else "",
                   _iso(n.verified_at), _iso(n.last_disclosed_at))
        after = rows[-1].id


def _iso(moment: datetime | None) -> str:
    return aware(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


LEDGER_EXPORT_COLUMNS = ("seq", "at", "kind", "ref", "memo", "account", "amount_fen", "hash")


def export_ledger(session: Session, accounts: list[str] | None = None, batch: int = 5000):
    """One row per posting, in seq order; optionally only postings of some accounts."""
    after_seq, after_id = 0, 0
    while True:
        query = (select(LedgerPosting.seq, LedgerTxn.at, LedgerTxn.kind, LedgerTxn.ref,
                        LedgerTxn.memo, LedgerPosting.account, LedgerPosting.amount,
                        LedgerTxn.hash, LedgerPosting.id)
                 .join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
                 .where(or_(LedgerPosting.seq > after_seq,
                            and_(LedgerPosting.seq == after_seq, LedgerPosting.id > after_id))))
        if accounts:
            query = query.where(LedgerPosting.account.in_(accounts))
        rows = session.execute(query.order_by(LedgerPosting.seq, LedgerPosting.id)
                               .limit(batch)).all()
        if not rows:
            return
        for seq, at, kind, ref, memo, account, amount, hash_, _id in rows:
            yield (seq, _iso(at), kind, ref, memo, account, int(amount), hash_)
        after_seq, after_id = rows[-1][0], rows[-1][8]


FUND_EXPORT_COLUMNS = ("code", "name", "county", "programme", "money_in_fen", "granted_fen",
                       "balance_fen")


def export_funds(session: Session):
    """Every fund with its ledger money in, grants out and balance (one grouped query)."""
    flows = {row[0]: row[1:] for row in session.execute(
        select(LedgerPosting.account,
               func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)),
               func.sum(case((LedgerPosting.amount < 0, LedgerPosting.amount), else_=0)))
        .where(LedgerPosting.account.startswith("fund:")).group_by(LedgerPosting.account)).all()}
    programmes = dict(session.execute(select(Programme.id, Programme.name)).all())
    for fund in session.exec(select(CommunityFund).order_by(CommunityFund.id)).all():
        money_in, money_out = flows.get(f"fund:{fund.code}", (0, 0))
        yield (fund.code, fund.name, county_display(fund.region),
               programmes.get(fund.programme_id, ""), int(money_in), -int(money_out),
               int(money_in) + int(money_out))


ENTERPRISE_EXPORT_COLUMNS = ("enterprise_code", "enterprise", "pledge", "need_code", "need_title",
                             "county", "allocated_fen", "need_disbursed_share_fen", "ledger_seq")


def export_enterprise_allocations(session: Session, code: str | None = None):
    """Where enterprises' money went: one row per executed allocation."""
    share = case((Need.funded > 0, Allocation.amount * Need.disbursed // Need.funded), else_=0)
    query = (select(Enterprise.code, Enterprise.name, Pledge.code, Need.code, Need.title,
                    Need.region, Allocation.amount, share, Allocation.ledger_seq)
             .select_from(Allocation).join(Pledge, Pledge.id == Allocation.pledge_id)
             .join(Enterprise, Enterprise.id == Pledge.enterprise_id)
             .join(Need, Need.id == Allocation.need_id)
             .where(Allocation.status == "executed", Enterprise.status == "approved"))
    if code:
        query = query.where(Enterprise.code == code)
    for ecode, ename, pcode, ncode, title, region, amount, s, seq in session.execute(
            query.order_by(Allocation.id)).yield_per(2000):
        yield (ecode, ename, pcode, ncode, title, county_display(region), int(amount), int(s),
               seq)

