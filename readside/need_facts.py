"""The facts beside a need's story that the rules for online fundraising platforms require
on its page — the posting organisation's full name and 统一社会信用代码, and for a public
appeal the organisation holding 公募资格 with its certificate and the 募捐方案备案编号 — and
what the kind adds: a project's period and budget, a sponsorship's school year, the
community fund a 小急难 request asks."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from funds.models import CommunityFund
from needs.models import Need, Organisation  # noqa: F401  (NeedFacts' field types)


@dataclass(frozen=True)
class NeedFacts:
    organisation: Organisation
    holder: Organisation | None  # holds the public appeal's 公募资格
    fund: CommunityFund | None  # the fund a 小急难 request asks


def need_facts(session: Session, need: Need) -> NeedFacts:
    from readside import reference  # organisations change only with `site`: no query

    return NeedFacts(
        organisation=reference.organisation(session, need.organisation_id),
        holder=reference.organisation(session, need.fundraiser_id) if need.fundraiser_id else None,
        fund=session.get(CommunityFund, need.fund_id) if need.fund_id else None)
