"""The API's own reads (readside.api_reads) answer what the public pages' reads answer:
one need's lists, built by the database in one statement, equal readside.need_page's six
queries for every public need of the demo data; a need with more than 200 donors lists the
newest 200 and counts them all; the list's columns equal the pages' Need rows. On SQLite and
PostgreSQL alike (json_group_array / json_agg)."""
from __future__ import annotations

from sqlmodel import select

from core.clock import aware
from core.db import get_engine, unit_of_work
from core.privacy import donor_display_name
from donors.models import Donation, Donor
from needs.models import PUBLIC_STATES, Need
from readside import api_reads, need_page
from readside.browse import SORTS, filtered_needs, parse_need_filter
from tests.integration.helpers import committed, org, verified_need


def _expected(view: need_page.NeedView) -> dict:
    b = view.beneficiary
    return {
        "donor_count": view.donor_count, "donors": view.donors,
        "allocations": [(c, n, p, int(a), s) for c, n, p, a, s in view.allocations],
        "grants": [(c, n, int(a), s) for c, n, a, s in view.grants],
        "milestones": [(r.milestone.seq, r.milestone.title, int(r.milestone.amount),
                        r.milestone.due, r.status) for r in view.milestone_rows],
        "disbursements": [(d.id, int(d.amount), d.paid_to, d.memo, aware(d.at), d.ledger_seq)
                          for d in view.disbursements],
        "evidence": [(e.id, e.kind, e.caption, e.content_type, e.sha256, e.disbursement_id)
                     for e in view.evidence],
        "beneficiary": (b.pseudonym, b.age_band) if b else None,
        "story": view.need.story, "organisation_id": view.need.organisation_id,
    }


def _got(detail: api_reads.NeedDetailRows) -> dict:
    row = detail.need
    return {
        "donor_count": detail.donor_count, "donors": detail.donors,
        "allocations": detail.allocations, "grants": detail.grants,
        "milestones": detail.milestones,
        "disbursements": [(i, a, p, m, aware(at), s) for i, a, p, m, at, s in detail.disbursements],
        "evidence": detail.evidence,
        "beneficiary": (row.pseudonym, row.age_band) if row.pseudonym is not None else None,
        "story": row.story, "organisation_id": row.organisation_id,
    }


def test_one_need_in_one_statement_equals_the_pages_reads(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        codes = s.exec(select(Need.code).where(Need.state.in_(PUBLIC_STATES))).all()
        assert codes
        seen = set()
        for code in codes:
            got = _got(api_reads.need_detail(s, code))
            assert got == _expected(need_page.need_view(s, code)), code
            seen |= {k for k, v in got.items() if v}
    # the demo data exercises every list
    assert {"donors", "allocations", "grants", "milestones", "disbursements", "evidence",
            "beneficiary"} <= seen


def test_a_need_with_more_than_200_donors_lists_the_newest_200_and_counts_all(clean_url):
    def build(s):
        need = verified_need(s, org(s))
        for i in range(205):
            donor = Donor(name=f"捐赠人{i}", show_name=i % 2 == 0)
            s.add(donor)
            s.flush()
            s.add(Donation(donor_id=donor.id, need_id=need.id, amount=100 + i, status="paid"))
        s.add(Donation(donor_id=donor.id, need_id=need.id, amount=7, status="pending"))
        return need.code

    code = committed(clean_url, build)
    with unit_of_work(get_engine(clean_url)) as s:
        detail = api_reads.need_detail(s, code)
        assert detail.donor_count == 205 and len(detail.donors) == 200
        assert detail.donors[0] == (donor_display_name("捐赠人204", True), 304)
        assert detail.donors == need_page.need_view(s, code).donors


def test_the_lists_columns_are_the_pages_rows(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        for sort in [s_ for s_ in SORTS if s_ != "relevance"]:
            f, _ = parse_need_filter({"sort": sort}, [])
            pages_rows, _total, _page, _ = filtered_needs(s, f, per_page=20)
            got = api_reads.needs_after(s, f, None, 20)
            assert [r.code for r in got.rows] == [n.code for n in pages_rows], sort
            # The page's rows carry what a card shows; the rest is read from the need.
            for row, card in zip(got.rows, pages_rows, strict=True):
                need = s.get(Need, card.id)
                assert (row.amount, row.funded, row.disbursed, aware(row.posted_at)) == (
                    int(need.amount), int(need.funded), int(need.disbursed),
                    aware(need.posted_at))
        f, _ = parse_need_filter({"q": "zhuxue"}, [])
        pages_rows, total, _page, _ = filtered_needs(s, f, per_page=20)
        got = api_reads.needs_after(s, f, None, 20)
        assert [r.code for r in got.rows] == [n.code for n in pages_rows] and got.total == total
