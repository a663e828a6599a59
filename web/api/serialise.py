"""Read-side results (readside/) turned into the API's documents (web.api.schemas). Only
what the public pages show: regions at county level, donors masked as they chose, a
beneficiary as a pseudonym and an age band."""
from __future__ import annotations

from flask import request, url_for

from core.clock import aware
from core.money import fmt
from core.regions import county_display
from needs.models import Need
from readside.ledger_pages import TxnRow
from readside.need_page import NeedView
from readside.result_cache import ResultCache
from web.api import schemas as s


def money(fen: int | None) -> s.Money:
    fen = int(fen or 0)
    return s.Money(fen=fen, text=fmt(fen))


# A need's summary by everything it shows (issue 14): a list page builds only the summaries
# of needs that changed. Never stale: changed fields are a different key.
_summaries = ResultCache(20_000)


def need_summary(need: Need, programme_codes: dict[int, str]) -> s.NeedSummary:
    programme = programme_codes.get(need.programme_id) if need.programme_id else None
    key = (request.script_root, need.code, need.kind, need.title, need.category, need.region,
           programme, need.urgency, need.people, need.deadline, need.state, need.posted_at,
           need.amount, need.funded, need.disbursed, need.whole)
    return _summaries.get(key, None, lambda: _need_summary(need, programme))


def _need_summary(need: Need, programme: str | None) -> s.NeedSummary:
    return s.NeedSummary(
        code=need.code, kind=need.kind, title=need.title, category=need.category,
        region=county_display(need.region),
        programme=programme,
        urgency=need.urgency, people=need.people, deadline=need.deadline, state=need.state,
        posted_at=aware(need.posted_at), amount=money(need.amount), funded=money(need.funded),
        disbursed=money(need.disbursed), whole=need.whole,
        url=url_for("api.need", code=need.code),
        html_url=url_for("public.need", code=need.code))


def need_detail(view: NeedView) -> s.NeedDetail:
    need = view.need
    codes = {view.programme.id: view.programme.code} if view.programme else {}
    b = view.beneficiary
    return s.NeedDetail(
        **need_summary(need, codes).model_dump(),
        story=need.story, organisation=view.organisation.name,
        beneficiary=s.Beneficiary(pseudonym=b.pseudonym, age_band=b.age_band) if b else None,
        donor_count=view.donor_count,
        donors=[s.Gift(name=name, amount=money(amount)) for name, amount in view.donors],
        allocations=[s.EnterpriseAllocation(enterprise=code, enterprise_name=name, pledge=pledge,
                                            amount=money(amount), ledger_seq=seq)
                     for code, name, pledge, amount, seq in view.allocations],
        grants=[s.FundGrant(fund=code, fund_name=name, amount=money(amount), ledger_seq=seq)
                for code, name, amount, seq in view.grants],
        disbursements=[s.DisbursementRow(id=d.id, amount=money(d.amount), paid_to=d.paid_to,
                                         memo=d.memo, at=aware(d.at), ledger_seq=d.ledger_seq)
                       for d in view.disbursements],
        evidence=[s.EvidenceLink(id=e.id, kind=e.kind, caption=e.caption,
                                 content_type=e.content_type, sha256=e.sha256,
                                 disbursement=e.disbursement_id,
                                 url=url_for("disclosure.evidence", id=e.id))
                  for e in view.evidence],
        milestones=[s.MilestoneRow(seq=row.milestone.seq, title=row.milestone.title,
                                   amount=money(row.milestone.amount), due=row.milestone.due,
                                   status=row.status)
                    for row in view.milestone_rows])


def transaction(row: TxnRow) -> s.Transaction:
    return s.Transaction(seq=row.seq, at=row.at, kind=row.kind, ref=row.ref, memo=row.memo,
                         hash=row.hash,
                         postings=[s.Posting(account=label.account, label=label.label,
                                             amount=money(amount))
                                   for label, amount in row.postings])
