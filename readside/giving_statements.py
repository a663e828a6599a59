"""年度捐赠明细: one year's confirmed giving of a donor (every donor record of a signed-in
person) or of an enterprise, as lines for `donors.receipts.statement_pdf`.

Years are Beijing-time years, as on the receipts. A donor's lines are their paid gifts; an
enterprise's are every ledger transaction that took money from its account (pledge
payments, 配捐 shares, gifts to funds), so the statement adds up to what it really paid."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from core.errors import UserError
from donors.fund_gifts import target_of
from donors.giving_models import GiftReceipt
from donors.models import Donation, Donor, Enterprise
from donors.receipts import BEIJING, Giver, StatementLine, beijing, receipt_number, statement_pdf
from funds import accounts
from funds.models import LedgerPosting, LedgerTxn

FIRST_YEAR = 2000


def _bounds(year: int) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC)


def check_year(text: str | int, today_year: int) -> int:
    """A statement year typed or picked: a whole year, not in the future."""
    value = str(text).strip()
    if not value.isdigit() or not FIRST_YEAR <= int(value) <= today_year:
        raise UserError("请选择 %(first)s 到 %(last)s 之间的年份", first=FIRST_YEAR,
                        last=today_year)
    return int(value)


def _purpose(session: Session, donation: Donation) -> str:
    return target_of(session, donation).purpose


def donor_lines(session: Session, user_id: int, year: int) -> list[StatementLine]:
    start, end = _bounds(year)
    rows = session.execute(
        select(Donation, LedgerTxn, GiftReceipt.number)
        .join(Donor, Donor.id == Donation.donor_id)
        .join(LedgerTxn, LedgerTxn.seq == Donation.ledger_seq)
        .outerjoin(GiftReceipt, GiftReceipt.donation_id == Donation.id)
        .where(Donor.user_id == user_id, Donation.status == "paid")
        .order_by(LedgerTxn.seq)).all()
    # Filtered here, not in SQL: SQLite keeps times naive, PostgreSQL aware.
    return [StatementLine(txn.at, number or receipt_number(txn.at, donation.id),
                          _purpose(session, donation), donation.amount)
            for donation, txn, number in rows if start <= _utc(txn.at) < end]


def donor_years(session: Session, user_id: int) -> list[int]:
    """The years in which this person has confirmed gifts, newest first."""
    times = session.execute(
        select(LedgerTxn.at).join(Donation, Donation.ledger_seq == LedgerTxn.seq)
        .join(Donor, Donor.id == Donation.donor_id)
        .where(Donor.user_id == user_id, Donation.status == "paid")).scalars().all()
    return sorted({beijing(at).year for at in times}, reverse=True)


def _enterprise_rows(session: Session, enterprise: Enterprise):
    return session.execute(
        select(LedgerTxn, LedgerPosting.amount)
        .join(LedgerPosting, LedgerPosting.seq == LedgerTxn.seq)
        .where(LedgerPosting.account == accounts.enterprise(enterprise.code),
               LedgerPosting.amount < 0)
        .order_by(LedgerTxn.seq)).all()


def enterprise_lines(session: Session, enterprise: Enterprise, year: int
                     ) -> list[StatementLine]:
    start, end = _bounds(year)
    lines = []
    for txn, amount in _enterprise_rows(session, enterprise):
        if not start <= _utc(txn.at) < end:
            continue
        lines.append(StatementLine(txn.at, f"#{txn.seq}", txn.memo or txn.kind, -amount))
    return lines


def enterprise_years(session: Session, enterprise: Enterprise) -> list[int]:
    return sorted({beijing(txn.at).year for txn, _ in _enterprise_rows(session, enterprise)},
                  reverse=True)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def donor_statement(session: Session, user_id: int, name: str, year: int) -> bytes:
    """The PDF for a signed-in donor: shown under their account's name (they chose it)."""
    return statement_pdf(year, Giver(name, named=True), donor_lines(session, user_id, year))


def enterprise_statement(session: Session, enterprise: Enterprise, year: int) -> bytes:
    return statement_pdf(year, Giver(enterprise.name, enterprise=True),
                         enterprise_lines(session, enterprise, year))
