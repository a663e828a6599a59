"""Read-side queries for public pages. Only verified needs are ever returned, and only the
public fields of a beneficiary."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import NotFound
from core.privacy import donor_display_name
from donors.models import Donation, Donor, Pledge
from funds.models import CommunityFund, Disbursement
from needs.models import Beneficiary, Milestone, Need, Organisation, Programme

PUBLIC_STATES = ("verified", "funded", "disbursed", "delivered", "closed")


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


def public_needs(session: Session, page: int = 1, per_page: int = 20) -> tuple[list[Need], int]:
    query = select(Need).where(Need.state.in_(PUBLIC_STATES))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Need.urgency.desc(), Need.posted_at.desc(), Need.id.desc())
                        .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


@dataclass
class NeedView:
    need: Need
    programme: Programme | None
    organisation: Organisation
    beneficiary: Beneficiary | None
    donors: list[tuple[str, int]]  # (public name, amount)
    disbursements: list[Disbursement]
    milestones: list[Milestone]


def need_view(session: Session, code: str) -> NeedView:
    need = session.exec(select(Need).where(Need.code == code,
                                           Need.state.in_(PUBLIC_STATES))).first()
    if need is None:
        raise NotFound(f"找不到需求 {code} / no need {code}")
    donors = [(donor_display_name(d.name, d.show_name), amount) for d, amount in session.exec(
        select(Donor, Donation.amount).join(Donation, Donation.donor_id == Donor.id)
        .where(Donation.need_id == need.id, Donation.status == "paid")
        .order_by(Donation.id)).all()]
    return NeedView(
        need=need,
        programme=session.get(Programme, need.programme_id) if need.programme_id else None,
        organisation=session.get(Organisation, need.organisation_id),
        beneficiary=session.get(Beneficiary, need.beneficiary_id) if need.beneficiary_id else None,
        donors=donors,
        disbursements=list(session.exec(select(Disbursement).where(
            Disbursement.need_id == need.id).order_by(Disbursement.id)).all()),
        milestones=list(session.exec(select(Milestone).where(
            Milestone.need_id == need.id).order_by(Milestone.seq)).all()),
    )
