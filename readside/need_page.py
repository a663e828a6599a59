"""Everything a need's public pages show: the need page (donors masked as they chose,
enterprises named, fund grants, disbursements, evidence, milestones) and its disclosure page
(every figure from the ledger). Only public needs, and only a beneficiary's public fields."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from core.clock import now
from core.errors import NotFound
from core.privacy import donor_display_name
from donors.models import Donation, Donor, Enterprise, Pledge
from funds.ledger_aggregates import LedgerAccountTotal
from funds.models import Allocation, CommunityFund, Disbursement
from needs.models import (
    PUBLIC_STATES,
    Beneficiary,
    Evidence,
    Milestone,
    Need,
    Organisation,
    Programme,
)
from readside import reference
from readside.ledger_pages import TxnRow, account_txns
from readside.need_facts import NeedFacts, need_facts
from readside.rules import DisclosureStatus, disclosure_status


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
    disclosure: DisclosureStatus | None = None
    facts: NeedFacts | None = None


def milestone_status(milestone: Milestone, today) -> str:
    if milestone.done_at is not None:
        return "done"
    if milestone.due is not None and milestone.due < today:
        return "overdue"
    return "due"


# The statements of a need's pages, built once (the SQL is compiled once per process; each
# call binds its values): building them per request was a millisecond of CPU.
_NEED_ID = bindparam("need_id")
_PUBLIC_NEED = select(Need).where(Need.code == bindparam("code"), Need.state.in_(PUBLIC_STATES))
_PAID = (Donation.need_id == _NEED_ID) & (Donation.status == "paid")
# The newest 200 donors and how many there are, in one statement (the window counts the rows
# before LIMIT applies).
_DONORS = (select(Donor.name, Donor.show_name, Donation.amount, func.count().over())
           .join(Donation, Donation.donor_id == Donor.id).where(_PAID)
           .order_by(Donation.id.desc()).limit(200))
# Enterprise allocations and community-fund grants: one read of the need's executed transfer
# records (funds.models.Allocation), each joined to what it came from.
_TRANSFERS = (select(Allocation, Pledge, Enterprise, CommunityFund.code, CommunityFund.name)
              .join(Pledge, Pledge.id == Allocation.pledge_id, isouter=True)
              .join(Enterprise, Enterprise.id == Pledge.enterprise_id, isouter=True)
              .join(CommunityFund, CommunityFund.id == Allocation.fund_id, isouter=True)
              .where(Allocation.need_id == _NEED_ID, Allocation.status == "executed")
              .order_by(Allocation.id))
_MILESTONES = select(Milestone).where(Milestone.need_id == _NEED_ID).order_by(Milestone.seq)
_DISBURSEMENTS = (select(Disbursement).where(Disbursement.need_id == _NEED_ID)
                  .order_by(Disbursement.id))
_EVIDENCE = select(Evidence).where(Evidence.need_id == _NEED_ID).order_by(Evidence.id)
# The same as rows (attribute access like the objects), for the disclosure page.
_EVIDENCE_ROWS = (select(*Evidence.__table__.c).where(Evidence.need_id == _NEED_ID)
                  .order_by(Evidence.id))
_DISBURSEMENT_ROWS_NEWEST = (select(*Disbursement.__table__.c)
                             .where(Disbursement.need_id == _NEED_ID)
                             .order_by(Disbursement.id.desc()).limit(200))


def need_view(session: Session, code: str) -> NeedView:
    """Everything the public page of one need shows; each list is one indexed query."""
    need = session.execute(_PUBLIC_NEED, {"code": code}).scalars().first()
    if need is None:
        raise NotFound("找不到需求 %(code)s", code=code)
    at_need = {"need_id": need.id}
    donor_rows = session.execute(_DONORS, at_need).all()
    donor_count = donor_rows[0][3] if donor_rows else 0
    donors = [(donor_display_name(name, shown), amount) for name, shown, amount, _n in donor_rows]
    allocations, grants = [], []
    for a, p, e, fund_code, fund_name in session.execute(_TRANSFERS, at_need).all():
        if p is not None and e is not None:
            allocations.append((e.code, e.name, p.title or p.code, a.amount, a.ledger_seq))
        if fund_code is not None:
            grants.append((a.ledger_seq, a.id, (fund_code, fund_name, int(a.amount),
                                                a.ledger_seq)))
    grants = [grant for *_order, grant in sorted(grants, key=lambda g: (g[0] is None, g[0] or 0,
                                                                         g[1]))]
    milestones = list(session.execute(_MILESTONES, at_need).scalars().all())
    today = now().date()
    return NeedView(
        need=need,
        programme=reference.programme(session, need.programme_id),
        organisation=reference.organisation(session, need.organisation_id),
        beneficiary=session.get(Beneficiary, need.beneficiary_id) if need.beneficiary_id else None,
        donors=donors,
        donor_count=int(donor_count),
        disbursements=list(session.execute(_DISBURSEMENTS, at_need).scalars().all()),
        milestones=milestones,
        milestone_rows=[MilestoneRow(m, milestone_status(m, today)) for m in milestones],
        allocations=allocations,
        grants=grants,
        evidence=list(session.execute(_EVIDENCE, at_need).scalars().all()),
        disclosure=disclosure_status(need),
        facts=need_facts(session, need),
    )


@dataclass
class NeedDisclosure:
    need: Need  # a row of the need's columns (read like the object)
    programme: Programme | None
    raised: int  # credited to need:<code>, from the ledger
    disbursed: int  # balance of disbursed:<code>
    held: int  # balance of need:<code>
    first_seq: int | None
    last_seq: int | None
    txns: list[TxnRow]
    older: int | None
    evidence: list  # rows of Evidence's columns
    disbursements: list  # rows of Disbursement's columns
    status: DisclosureStatus


# Built once: the statement's SQL is compiled once per process (bound values per call).
_RAISED, _PAID = (aliased(LedgerAccountTotal, name="raised_acc"),
                  aliased(LedgerAccountTotal, name="paid_acc"))
_NEEDS = Need.__table__
# The need as a row of its columns (the page only reads it), its two accounts' totals, and
# whether it has any evidence or payout at all: most needs have neither, and then the two
# list reads are skipped.
_NEED_WITH_TOTALS = (
    select(*_NEEDS.c, _RAISED.money_in.label("raised_in"), _RAISED.money_out.label("raised_out"),
           _RAISED.first_seq.label("first_seq"), _RAISED.last_seq.label("last_seq"),
           _PAID.money_in.label("paid_in"), _PAID.money_out.label("paid_out"),
           select(func.count()).where(Evidence.need_id == _NEEDS.c.id)
           .scalar_subquery().label("evidence_count"),
           select(func.count()).where(Disbursement.need_id == _NEEDS.c.id)
           .scalar_subquery().label("disbursement_count"))
    .select_from(_NEEDS)
    .join(_RAISED, _RAISED.account == bindparam("raised_account"), isouter=True)
    .join(_PAID, _PAID.account == bindparam("paid_account"), isouter=True)
    .where(_NEEDS.c.code == bindparam("code"), _NEEDS.c.state.in_(PUBLIC_STATES)))


def need_disclosure(session: Session, code: str, before: int | None = None) -> NeedDisclosure:
    """The need with its two ledger accounts' totals (one statement: the totals the ledger
    keeps per account on append), its transactions (one statement), and its evidence and
    disbursements (a statement each, only when it has any)."""
    connection = session.connection()  # rows: the page only reads
    found = connection.execute(_NEED_WITH_TOTALS, {
        "code": code, "raised_account": f"need:{code}", "paid_account": f"disbursed:{code}"}
    ).first()
    if found is None:
        raise NotFound("找不到项目 %(code)s", code=code)
    raised = int(found.raised_in or 0)
    held = raised - int(found.raised_out or 0)
    disbursed = int(found.paid_in or 0) - int(found.paid_out or 0)
    txns, older = account_txns(session, [f"need:{code}"], before, upto_seq=found.last_seq)
    at_need = {"need_id": found.id}
    return NeedDisclosure(
        need=found,
        programme=reference.programme(session, found.programme_id),
        raised=raised, disbursed=disbursed, held=held, first_seq=found.first_seq,
        last_seq=found.last_seq, txns=txns, older=older,
        evidence=(connection.execute(_EVIDENCE_ROWS, at_need).all()
                  if found.evidence_count else []),
        disbursements=(connection.execute(_DISBURSEMENT_ROWS_NEWEST, at_need).all()
                       if found.disbursement_count else []),
        status=disclosure_status(found))
