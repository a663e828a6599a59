"""Read-side results (readside/) turned into the API's documents (web.api.schemas). Only
what the public pages show: regions at county level, donors masked as they chose, a
beneficiary as a pseudonym and an age band."""
from __future__ import annotations

from functools import lru_cache

from flask import request, url_for
from sqlalchemy import Row

from core.clock import aware
from core.money import fmt
from core.regions import county_display
from readside.api_reads import SUMMARY_WIDTH, NeedDetailRows
from readside.ledger_pages import TxnRow
from readside.result_cache import ResultCache
from web.api import schemas as s


def money(fen: int | None) -> s.Money:
    return _money(int(fen or 0))


@lru_cache(maxsize=8192)
def _money(fen: int) -> s.Money:
    # Amounts repeat (a need's 200 donors, the same goals), and formatting one was most of a
    # need's serialising. The documents are only ever dumped, so sharing a Money is safe.
    return s.Money(fen=fen, text=fmt(fen))


# A need's summary by everything it shows (issue 14): a list page builds only the summaries
# of needs that changed. Never stale: changed fields are a different key.
_summaries = ResultCache(20_000)


def need_summary(need: Row, programme_codes: dict[int, str]) -> s.NeedSummary:
    """`need` begins with the columns of readside.api_reads.SUMMARY: they are the key."""
    programme = programme_codes.get(need.programme_id) if need.programme_id else None
    key = (request.script_root, programme, need[:SUMMARY_WIDTH])
    return _summaries.get(key, None, lambda: _need_summary(need, programme))


def _need_summary(need: Row, programme: str | None) -> s.NeedSummary:
    return s.NeedSummary(
        code=need.code, kind=need.kind, title=need.title, category=need.category,
        region=county_display(need.region),
        programme=programme,
        urgency=need.urgency, people=need.people, deadline=need.deadline, state=need.state,
        posted_at=aware(need.posted_at), amount=money(need.amount), funded=money(need.funded),
        disbursed=money(need.disbursed), whole=need.whole,
        url=url_for("api.need", code=need.code),
        html_url=url_for("public.need", code=need.code))


def need_detail(detail: NeedDetailRows, programme_codes: dict[int, str],
                organisation: str) -> s.NeedDetail:
    need = detail.need
    return s.NeedDetail(
        **need_summary(need, programme_codes).model_dump(),
        story=need.story, organisation=organisation,
        beneficiary=s.Beneficiary(pseudonym=need.pseudonym, age_band=need.age_band)
        if need.pseudonym is not None else None,
        donor_count=detail.donor_count,
        donors=[s.Gift(name=name, amount=money(amount)) for name, amount in detail.donors],
        allocations=[s.EnterpriseAllocation(enterprise=code, enterprise_name=name, pledge=pledge,
                                            amount=money(amount), ledger_seq=seq)
                     for code, name, pledge, amount, seq in detail.allocations],
        grants=[s.FundGrant(fund=code, fund_name=name, amount=money(amount), ledger_seq=seq)
                for code, name, amount, seq in detail.grants],
        disbursements=[s.DisbursementRow(id=d_id, amount=money(amount), paid_to=paid_to,
                                         memo=memo, at=aware(at), ledger_seq=seq)
                       for d_id, amount, paid_to, memo, at, seq in detail.disbursements],
        evidence=[s.EvidenceLink(id=e_id, kind=kind, caption=caption, content_type=content_type,
                                 sha256=sha256, disbursement=disbursement,
                                 url=url_for("disclosure.evidence", id=e_id))
                  for e_id, kind, caption, content_type, sha256, disbursement in detail.evidence],
        milestones=[s.MilestoneRow(seq=seq, title=title, amount=money(amount), due=due,
                                   status=status)
                    for seq, title, amount, due, status in detail.milestones])


def transaction(row: TxnRow) -> s.Transaction:
    return s.Transaction(seq=row.seq, at=row.at, kind=row.kind, ref=row.ref, memo=row.memo,
                         hash=row.hash,
                         postings=[s.Posting(account=label.account, label=label.label,
                                             amount=money(amount))
                                   for label, amount in row.postings])
