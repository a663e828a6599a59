"""Mirror columns against the ledger. The domain tables keep running totals (need.funded,
need.disbursed, communityfund.balance, pledge.paid_in/allocated) that public pages show;
the ledger is the truth. A total changed behind the services' back (an `UPDATE need SET
funded = funded + 50000`) passes the hash chain, so this compares every mirror with the
sums of the ledger's postings and names the first that differs."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from core.money import fmt
from donors.models import Pledge
from funds import accounts
from funds.models import CommunityFund, LedgerPosting
from needs.models import Need


@dataclass(frozen=True)
class Mismatch:
    table: str
    code: str
    column: str
    mirror: int
    ledger: int

    def __str__(self) -> str:
        return (f"{self.table} {self.code}: {self.column} is {fmt(self.mirror)} but the ledger "
                f"says {fmt(self.ledger)}")


@dataclass(frozen=True)
class Sums:
    credits: int = 0  # money into the account
    debits: int = 0   # money out of it (as a positive number)

    @property
    def balance(self) -> int:
        return self.credits - self.debits


def _sums(session: Session) -> dict[str, Sums]:
    """Credits and debits of every need, disbursed, fund and pledge account, one query."""
    amount = LedgerPosting.amount
    rows = session.execute(
        select(LedgerPosting.account,
               func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0),
               func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0))
        .where(or_(*(LedgerPosting.account.startswith(prefix)
                     for prefix in ("need:", "disbursed:", "fund:", "pledge:"))))
        .group_by(LedgerPosting.account)).all()
    return {account: Sums(int(credit), int(debit)) for account, credit, debit in rows}


def mismatches(session: Session) -> Iterator[Mismatch]:
    sums = _sums(session)
    empty = Sums()
    for code, funded, disbursed in session.execute(
            select(Need.code, Need.funded, Need.disbursed).order_by(Need.id)):
        held = sums.get(accounts.need(code), empty).balance
        paid_out = sums.get(accounts.disbursed(code), empty).balance
        if disbursed != paid_out:
            yield Mismatch("need", code, "disbursed", int(disbursed), paid_out)
        if funded != held + paid_out:
            yield Mismatch("need", code, "funded", int(funded), held + paid_out)
    for code, balance in session.execute(
            select(CommunityFund.code, CommunityFund.balance).order_by(CommunityFund.id)):
        ledger_balance = sums.get(accounts.fund(code), empty).balance
        if balance != ledger_balance:
            yield Mismatch("fund", code, "balance", int(balance), ledger_balance)
    for code, paid_in, allocated in session.execute(
            select(Pledge.code, Pledge.paid_in, Pledge.allocated).order_by(Pledge.id)):
        account = sums.get(accounts.pledge(code), empty)
        if paid_in != account.credits:
            yield Mismatch("pledge", code, "paid_in", int(paid_in), account.credits)
        if allocated != account.debits:
            yield Mismatch("pledge", code, "allocated", int(allocated), account.debits)


def first_mismatch(session: Session) -> Mismatch | None:
    return next(mismatches(session), None)
