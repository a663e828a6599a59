"""What the JSON API reads (issue 12 point 6): the same rows as the pages, in fewer
statements and without ORM objects, because an API answer shows only a few columns.

- `needs_after`: the public needs list in keyset pages (readside.need_pages' sorts and
  keys, readside.browse's filters), as rows of the columns a summary shows (no story, no
  budget JSON, no identity map).
- `need_detail`: one need and everything its page lists (donors, enterprise allocations and
  fund grants, milestones, disbursements, evidence) in one statement: each list is a JSON
  array built by the database (json_agg on PostgreSQL, json_group_array on SQLite) in the
  order and with the limits of readside.need_page.need_view. Only public columns are
  selected: a beneficiary's pseudonym and age band, a donor's name and whether it is shown.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import BigInteger, DateTime, and_, bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import Session

from core.clock import now
from core.errors import NotFound
from core.privacy import donor_display_name
from donors.models import Donation, Donor, Enterprise, Pledge
from funds.models import Allocation, CommunityFund, Disbursement
from needs.models import PUBLIC_STATES, Beneficiary, Evidence, Milestone, Need
from readside import keyset
from readside.browse import NeedFilter, need_query
from readside.need_pages import NEED_KEYS
from readside.result_cache import ResultCache


def _plain(column, type_):
    # Amounts as plain integer fen (the API writes the number: a Money per value was a tenth
    # of a list's CPU); posted_at as a plain DateTime (serialise makes it aware UTC).
    return type_coerce(column, type_).label(column.key)


# What a need's summary shows (web.api.serialise.need_summary reads these by name).
SUMMARY = (Need.id, Need.code, Need.kind, Need.title, Need.category, Need.region,
           Need.programme_id, Need.urgency, Need.people, Need.deadline, Need.state,
           _plain(Need.posted_at, DateTime()), _plain(Need.amount, BigInteger()),
           _plain(Need.funded, BigInteger()), _plain(Need.disbursed, BigInteger()), Need.whole)
SUMMARY_WIDTH = len(SUMMARY)  # every row of this module begins with these columns
DONORS_SHOWN = 200  # as readside.need_page: the newest 200 and how many there are


_pages = ResultCache(512)  # (dialect, filter, page size) -> the first page's statement


@dataclass
class NeedRows:
    rows: list  # rows of SUMMARY, in the page's order
    total: int
    truncated: bool
    last: tuple | None  # the keys of the last row when more rows follow, else None


def needs_after(session: Session, f: NeedFilter, after: tuple | None, limit: int) -> NeedRows:
    """Up to `limit` public needs matching `f`, in its effective sort, after the row whose
    keys are `after` (from the start without), in the keyset sorts of readside.need_pages."""
    query = need_query(session, f)
    if query.empty_search:
        return NeedRows([], 0, False, None)
    if query.by_relevance:
        ordered = query.relevance_order()
        chosen, last = keyset.ranked_page(ordered, after, limit)
        by_id = {row.id: row for row in session.connection().execute(
            select(*SUMMARY).where(Need.id.in_(chosen))).all()}
        return NeedRows([by_id[i] for i in chosen if i in by_id], len(ordered),
                        query.truncated, last)
    keys = NEED_KEYS[f.effective_sort]
    connection = session.connection()

    def build():
        return (select(*SUMMARY, *keyset.key_columns(keys)).where(*query.conditions)
                .order_by(*keyset.order_by(keys)).limit(limit + 1))

    # Without a search the conditions are a function of the filter alone, so the statement
    # is built once per filter and page size (building it was a tenth of the list's CPU).
    statement = _pages.get((connection.dialect.name, replace(f, page=1), limit), None,
                           build) if not f.q else build()
    if after is not None:
        statement = statement.where(keyset.after(keys, after))
    # Core rows (the ORM's result layer adds nothing to plain columns)
    rows = connection.execute(statement).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = tuple(rows[-1][SUMMARY_WIDTH:]) if more else None
    return NeedRows(rows, query.total(), query.truncated, last)


# ------------------------------------------------------------------------- one need ---

@dataclass
class NeedDetailRows:
    need: object  # a row of SUMMARY + story, organisation_id, pseudonym, age_band
    donor_count: int
    donors: list[tuple[str, int]]  # (public name, amount), newest first
    allocations: list[tuple[str, str, str, int, int | None]]  # enterprise code, name, pledge
    grants: list[tuple[str, str, int, int | None]]  # fund code, name, amount, ledger seq
    milestones: list[tuple[int, str, int, date | None, str]]  # seq, title, amount, due, status
    disbursements: list[tuple[int, int, str, str, datetime, int | None]]
    evidence: list[tuple[int, str, str, str, str, int | None]]
    # id, kind, caption, content_type, sha256, disbursement id


_NEED_ID = Need.id  # correlated: each list belongs to the outer need row


def _json_list(dialect: str, columns: list, source, where, order: list, limit: int | None = None):
    """A scalar subquery: the rows of `source` matching `where` (correlated with the outer
    need) as a JSON array of arrays, in `order`, at most `limit`. PostgreSQL orders inside
    the aggregate; SQLite (no ORDER BY in an aggregate before 3.44) aggregates an ordered
    subquery, whose order it keeps."""
    if dialect == "postgresql" and limit is None:
        row = func.json_build_array(*columns)
        return (select(func.json_agg(aggregate_order_by(row, *order)))
                .select_from(source).where(where).correlate(Need).scalar_subquery())
    keys = [o.element if hasattr(o, "modifier") and o.modifier is not None else o
            for o in order]
    inner = (select(*[c.label(f"c{i}") for i, c in enumerate(columns)],
                    *[k.label(f"k{i}") for i, k in enumerate(keys)])
             .select_from(source).where(where).order_by(*order).correlate(Need))
    if limit is not None:
        inner = inner.limit(limit)
    inner = inner.subquery()
    cols = [inner.c[f"c{i}"] for i in range(len(columns))]
    if dialect == "postgresql":
        outer_order = [inner.c[f"k{i}"].desc() if _descending(o) else inner.c[f"k{i}"]
                       for i, o in enumerate(order)]
        aggregate = func.json_agg(aggregate_order_by(func.json_build_array(*cols), *outer_order))
    else:
        aggregate = func.json_group_array(func.json_array(*cols))
    return select(aggregate).select_from(inner).correlate(Need).scalar_subquery()


def _descending(order) -> bool:
    return getattr(order, "modifier", None) is not None and order.modifier.__name__ == "desc_op"


def _detail_statement(dialect: str):
    paid = and_(Donation.need_id == _NEED_ID, Donation.status == "paid")
    # The newest donors, each row with how many there are (the window counts before LIMIT).
    donors = _json_list(dialect, [Donor.name, Donor.show_name, Donation.amount,
                                  func.count().over()],
                        Donation.__table__.join(Donor.__table__, Donation.donor_id == Donor.id),
                        paid, [Donation.id.desc()], DONORS_SHOWN)
    transfers = _json_list(
        dialect, [Allocation.id, Allocation.amount, Allocation.ledger_seq, Pledge.title,
                  Pledge.code, Enterprise.code, Enterprise.name, CommunityFund.code,
                  CommunityFund.name],
        Allocation.__table__
        .outerjoin(Pledge.__table__, Pledge.id == Allocation.pledge_id)
        .outerjoin(Enterprise.__table__, Enterprise.id == Pledge.enterprise_id)
        .outerjoin(CommunityFund.__table__, CommunityFund.id == Allocation.fund_id),
        and_(Allocation.need_id == _NEED_ID, Allocation.status == "executed"), [Allocation.id])
    milestones = _json_list(
        dialect, [Milestone.seq, Milestone.title, Milestone.amount, Milestone.due,
                  Milestone.done_at.is_not(None)],
        Milestone.__table__, Milestone.need_id == _NEED_ID, [Milestone.seq])
    disbursements = _json_list(
        dialect, [Disbursement.id, Disbursement.amount, Disbursement.paid_to, Disbursement.memo,
                  Disbursement.at, Disbursement.ledger_seq],
        Disbursement.__table__, Disbursement.need_id == _NEED_ID, [Disbursement.id])
    evidence = _json_list(
        dialect, [Evidence.id, Evidence.kind, Evidence.caption, Evidence.content_type,
                  Evidence.sha256, Evidence.disbursement_id],
        Evidence.__table__, Evidence.need_id == _NEED_ID, [Evidence.id])
    return (select(*SUMMARY, Need.story, Need.organisation_id,
                   Beneficiary.pseudonym, Beneficiary.age_band,
                   donors.label("donors"),
                   transfers.label("transfers"), milestones.label("milestones"),
                   disbursements.label("disbursements"), evidence.label("evidence"))
            .select_from(Need)
            .outerjoin(Beneficiary, Beneficiary.id == Need.beneficiary_id)
            .where(Need.code == bindparam("code"), Need.state.in_(PUBLIC_STATES)))


# Built once per dialect: the SQL is compiled once per process, each call binds the code.
_statements: dict[str, object] = {}


def _statement(session: Session):
    dialect = session.get_bind().dialect.name
    statement = _statements.get(dialect)
    if statement is None:
        statement = _statements[dialect] = _detail_statement(dialect)
    return statement


def _list(value) -> list:
    # psycopg decodes json (NULL for no rows); SQLite hands back its text
    return json.loads(value) if isinstance(value, str | bytes) else (value or [])


def _moment(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def milestone_status(done: bool, due: date | None, today: date) -> str:
    """As readside.need_page.milestone_status."""
    if done:
        return "done"
    if due is not None and due < today:
        return "overdue"
    return "due"


def need_detail(session: Session, code: str) -> NeedDetailRows:
    """One public need and its lists, in one statement; NotFound if it is not public."""
    row = session.connection().execute(_statement(session), {"code": code}).first()
    if row is None:
        raise NotFound("找不到需求 %(code)s", code=code)
    allocations, grants = [], []
    for a_id, amount, seq, p_title, p_code, e_code, e_name, f_code, f_name \
            in _list(row.transfers):
        if e_code is not None:  # an enterprise's pledge (its code is never null)
            allocations.append((e_code, e_name, p_title or p_code, int(amount), seq))
        if f_code is not None:
            grants.append((seq, a_id, (f_code, f_name, int(amount), seq)))
    grants.sort(key=lambda g: (g[0] is None, g[0] or 0, g[1]))
    today = now().date()
    milestones = []
    for seq, title, amount, due, done in _list(row.milestones):
        due = _day(due)
        milestones.append((seq, title, int(amount), due, milestone_status(bool(done), due, today)))
    donors = _list(row.donors)
    return NeedDetailRows(
        need=row, donor_count=int(donors[0][3]) if donors else 0,
        donors=[(donor_display_name(name, bool(shown)), int(amount))
                for name, shown, amount, _count in donors],
        allocations=allocations, grants=[grant for *_order, grant in grants],
        milestones=milestones,
        disbursements=[(d_id, int(amount), paid_to, memo, _moment(at), seq)
                       for d_id, amount, paid_to, memo, at, seq in _list(row.disbursements)],
        evidence=[tuple(e) for e in _list(row.evidence)])
