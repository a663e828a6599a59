"""The readable ledger: accounts named (donors stay opaque), keyset pages of transactions,
an account's transactions and flows."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from core.clock import aware
from core.data_version import LISTS, SITE, followed_version
from donors.models import Enterprise, Pledge
from funds.ledger_aggregates import LedgerAccountTotal
from funds.models import CommunityFund, LedgerPosting, LedgerTxn
from needs.models import PUBLIC_STATES, Need
from readside.ledger_totals import ledger_head
from readside.result_cache import ResultCache

PER_PAGE = 50


@dataclass(frozen=True)
class AccountLabel:
    account: str
    label: str
    endpoint: str | None = None  # the page that explains it
    code: str | None = None

    @property
    def type(self) -> str:
        """The account's type (need, disbursed, donor …): templates word it in the page's
        language around the name, which is data."""
        return self.account.partition(":")[0]


# Labels per account, valid while neither `site` (names, titles) nor `lists` (a need leaving
# the public states along with money) moves: a page of transactions names its accounts
# without a query (issue 14).
_labels = ResultCache(50_000)


def label_accounts(session: Session, accounts: set[str]) -> dict[str, AccountLabel]:
    """Readable names for ledger accounts. Donors stay opaque (the ledger never names them);
    enterprises, funds and public needs are named and linked."""
    url, version = str(session.get_bind().url), followed_version(session, SITE, LISTS)
    labels: dict[str, AccountLabel] = {}
    missing: set[str] = set()
    for account in accounts:
        hit = _labels.peek((url, account), version)
        if hit is None:
            missing.add(account)
        else:
            labels[account] = hit
    if missing:
        for account, label in _read_labels(session, missing).items():
            _labels.put((url, account), version, label)
            labels[account] = label
    return labels


def _read_labels(session: Session, accounts: set[str]) -> dict[str, AccountLabel]:
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
                f"disbursed:{code}", title, "need", code)  # shown as 已拨付：title
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
    return {account: labels[account] for account in accounts}


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

    @property
    def shown(self) -> tuple:
        """Everything a rendered row shows (a transaction never changes; names may)."""
        return (self.seq, self.hash, self.amount, tuple(self.postings))


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
    txns = list(session.exec(query.order_by(LedgerTxn.seq.desc()).limit(per_page + 1)).all())
    # One more than a page tells whether an older page exists (so a filtered ledger whose
    # last page is full does not link to an empty one).
    older = txns[per_page - 1].seq if len(txns) > per_page else None
    txns = txns[:per_page]
    newer = None
    if before <= head:
        newer = min(head + 1, before + per_page) if not kind else head + 1
    return LedgerPage(_txn_rows(session, txns), head, before, older, newer, kind)


_POSTING = aliased(LedgerPosting, name="posting")
_ACCOUNT_TXNS: dict[bool, object] = {}


def _account_txns_statement(paged: bool):
    """Built once per shape (first page, older page): the page's seqs and effects, joined to
    their transactions and every posting of each."""
    statement = _ACCOUNT_TXNS.get(paged)
    if statement is None:
        query = (select(LedgerPosting.seq, func.sum(LedgerPosting.amount).label("effect"))
                 .where(LedgerPosting.account.in_(bindparam("accounts", expanding=True))))
        if paged:
            query = query.where(LedgerPosting.seq < bindparam("before"))
        effects = (query.group_by(LedgerPosting.seq).order_by(LedgerPosting.seq.desc())
                   .limit(bindparam("per_page")).subquery("effects"))
        statement = _ACCOUNT_TXNS[paged] = (
            select(LedgerTxn.seq, LedgerTxn.at, LedgerTxn.kind, LedgerTxn.ref, LedgerTxn.memo,
                   LedgerTxn.hash, effects.c.effect, _POSTING.account, _POSTING.amount)
            .select_from(LedgerTxn)
            .join(effects, effects.c.seq == LedgerTxn.seq)
            .join(_POSTING, _POSTING.seq == LedgerTxn.seq)
            .order_by(LedgerTxn.seq.desc(), _POSTING.position))
    return statement


def account_txns(session: Session, accounts: list[str], before: int | None = None,
                 per_page: int = PER_PAGE, upto_seq: int | None = None,
                 ) -> tuple[list[TxnRow], int | None]:
    """Transactions touching any of `accounts`, newest first, with their net effect on them;
    keyset-paged on seq via the (account, seq) index. One statement: the page's seqs and
    effects, joined to their transactions and every posting of each.

    `upto_seq`, the newest seq touching the accounts (the totals kept on append say it),
    lets the first page come from memory: the ledger is append-only, so the page of an
    account whose newest seq has not moved is the same rows. Their labels are kept with them
    for as long as the labels' own version holds (a name may change without a posting)."""
    params = {"accounts": list(accounts), "per_page": per_page}
    if before:
        params["before"] = before

    def read() -> list:
        return session.connection().execute(
            _account_txns_statement(bool(before)), params).all()

    def labelled(found: list) -> tuple[list[TxnRow], int | None]:
        if not found:
            return [], None
        labels = label_accounts(session, {row.account for row in found})
        rows: list[TxnRow] = []
        for seq, at, kind, ref, memo, hash_, effect, account, amount in found:
            if not rows or rows[-1].seq != seq:
                rows.append(TxnRow(seq, aware(at), kind, ref, memo, hash_, [], int(effect)))
            rows[-1].postings.append((labels[account], int(amount)))
        return rows, (rows[-1].seq if len(rows) == per_page else None)

    if upto_seq is None or before:
        return labelled(read())
    # `site` too: it moves when a database is emptied (tests), where seqs start again. The
    # labelled rows also follow the labels' own version (label_accounts): a need's name and
    # whether it is public move with `site` and `lists`.
    key = (str(session.get_bind().url), tuple(accounts), per_page)
    site = followed_version(session, SITE)
    return _labelled_first_pages.get(
        key, (upto_seq, site, followed_version(session, SITE, LISTS)),
        lambda: labelled(_first_pages.get(key, (upto_seq, site), read)))


# The first page of an account's transactions, by the newest seq touching it (see above):
# its rows, and those rows with their labels (shared by requests: read, never changed).
_first_pages = ResultCache(4096)
_labelled_first_pages = ResultCache(4096)


def account_flows(session: Session, accounts: list[str]) -> tuple[int, int, int, int | None,
                                                                   int | None]:
    """(money in, money out, balance, first seq, last seq) of some accounts, from the totals
    the ledger keeps per account on append (one primary-key read per account)."""
    row = session.execute(
        select(func.coalesce(func.sum(LedgerAccountTotal.money_in), 0),
               func.coalesce(func.sum(LedgerAccountTotal.money_out), 0),
               func.min(LedgerAccountTotal.first_seq), func.max(LedgerAccountTotal.last_seq))
        .where(LedgerAccountTotal.account.in_(accounts))).one()
    money_in, money_out = int(row[0]), int(row[1])
    return money_in, money_out, money_in - money_out, row[2], row[3]
