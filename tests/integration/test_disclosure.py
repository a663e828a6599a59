"""阳光慈善 disclosure on the demo data: every page renders, every figure is traceable to
the ledger, exports parse and hold no private field, the 3-month rule follows the clock,
and the verifier printed on /disclosure/verify works on the downloaded ledger."""
import csv
import html as htmllib
import io
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import Session, select

from core import clock
from core.clock import add_months, aware
from core.db import get_engine, unit_of_work
from donors.models import Enterprise, Pledge
from funds import ledger
from funds.models import CommunityFund, LedgerPosting
from needs.models import PUBLIC_STATES, BeneficiaryPrivate, Need, Programme
from readside import ledger_totals, rules


class Reader:
    """Short read transactions: SQLite's write lock must be free when the app answers."""

    def __init__(self, url):
        self.url = url

    def __getattr__(self, name):
        def call(*args, **kwargs):
            with unit_of_work(get_engine(self.url)) as session:
                return getattr(session, name)(*args, **kwargs).all() if name == "exec" \
                    else getattr(session, name)(*args, **kwargs)
        return call

    def run(self, fn, *args, **kwargs):
        with unit_of_work(get_engine(self.url)) as session:
            return fn(session, *args, **kwargs)


@pytest.fixture
def s(demo_url):
    return Reader(demo_url)


def test_every_disclosure_page_renders(demo_client, s):
    urls = ["/disclosure/", "/disclosure/ledger", "/disclosure/ledger?before=10",
            "/disclosure/ledger?kind=grant", "/disclosure/verify",
            "/disclosure/funds", "/disclosure/funds?page=2", "/disclosure/enterprises"]
    urls += [f"/disclosure/programmes/{c}" for c in s.exec(select(Programme.code))]
    urls += [f"/disclosure/funds/{c}" for c in s.exec(select(CommunityFund.code).limit(5))]
    urls += ["/disclosure/funds/F-ANXIN", "/disclosure/funds/F-VENTURE"]
    urls += [f"/disclosure/enterprises/{c}" for c in s.exec(select(Enterprise.code))]
    urls += [f"/disclosure/needs/{c}" for c in s.exec(select(Need.code).where(
        Need.state.in_(PUBLIC_STATES)))]
    for url in urls:
        response = demo_client.get(url)
        assert response.status_code == 200, url
    for url in ("/disclosure/funds/NOPE", "/disclosure/enterprises/E-999",
                "/disclosure/programmes/none", "/disclosure/needs/W-99999",
                "/disclosure/export/secrets.csv", "/disclosure/export/fund-NOPE.xlsx"):
        assert demo_client.get(url).status_code == 404, url
    # A page number or `before` that is not a number in range is refused, with a message.
    refused = demo_client.get("/disclosure/ledger?before=abc")
    assert refused.status_code == 400 and "before" in refused.get_data(as_text=True)


def _dd(html: str, css: str) -> int:
    return int(re.search(rf'class="{css}" data-fen="(-?\d+)"', html).group(1))


def test_fund_page_balance_is_the_ledger_balance(demo_client, s):
    for code in ("F-ANXIN", "F-VENTURE", *s.exec(select(CommunityFund.code).limit(3))):
        html = demo_client.get(f"/disclosure/funds/{code}").get_data(as_text=True)
        balance = s.run(ledger.balance, f"fund:{code}")
        assert _dd(html, "fund-balance") == balance
        fund = s.exec(select(CommunityFund).where(CommunityFund.code == code))[0]
        assert fund.balance == balance  # the mirror agrees too
        first = s.exec(select(LedgerPosting.seq).where(LedgerPosting.account == f"fund:{code}")
                       .order_by(LedgerPosting.seq))[0]
        assert f'href="/disclosure/ledger?before={first + 1}#seq-{first}"' in html


def test_enterprise_page_totals_equal_its_postings(demo_client, s):
    for enterprise in s.exec(select(Enterprise).where(Enterprise.status == "approved")
                             .limit(6)):
        html = demo_client.get(f"/disclosure/enterprises/{enterprise.code}").get_data(as_text=True)
        pledges = s.exec(select(Pledge.code).where(Pledge.enterprise_id == enterprise.id))
        out_of_pledges = -sum(a for a in s.exec(select(LedgerPosting.amount).where(
            LedgerPosting.account.in_([f"pledge:{c}" for c in pledges]),
            LedgerPosting.amount < 0)))
        assert _dd(html, "ent-paid") == -s.run(ledger.balance, f"enterprise:{enterprise.code}")
        assert _dd(html, "ent-allocated") == out_of_pledges
    assert "滨州鲁北爱心实业有限公司" in demo_client.get("/disclosure/enterprises").get_data(as_text=True)


def test_platform_totals_are_ledger_sums(demo_client, demo_url):
    ledger_totals.clear_cache()
    with unit_of_work(get_engine(demo_url)) as db:
        summary = ledger_totals.ledger_summary(db)
        outside = sum(ledger.balances(db, "donor:").values()) + \
            sum(ledger.balances(db, "enterprise:").values())
        assert summary.money_in == -outside
        assert summary.disbursed == sum(ledger.balances(db, "disbursed:").values())
        assert summary.held == sum(ledger.balances(db, "need:").values()) + \
            sum(ledger.balances(db, "fund:").values()) + sum(ledger.balances(db, "pledge:").values())
        assert summary.upto_seq == ledger.head(db).seq
    page = demo_client.get("/disclosure/").get_data(as_text=True)
    for figure in (summary.money_in, summary.to_needs, summary.disbursed, summary.held):
        yuan, fen = divmod(figure, 100)
        assert f"¥{yuan:,}.{fen:02d}" in page
    assert page.count('role="img"') == 3 and "<table>" in page
    assert page.count("<script") == 1  # only htmx, from base.html: the charts need none
    # monthly raised/disbursed add up to the totals
    months = summary.monthly()
    assert sum(m[2] for m in months) == summary.to_needs
    assert sum(m[3] for m in months) == summary.disbursed


def test_ledger_summary_follows_the_head_and_reads_the_kept_totals(demo_url):
    """Cached while the head stays, and equal to summing every posting from scratch."""
    from funds.ledger_aggregates import rebuild

    engine = get_engine(demo_url)
    with unit_of_work(engine) as db:
        ledger_totals.clear_cache()
        before = ledger_totals.ledger_summary(db)
        assert ledger_totals.ledger_summary(db) is before  # same head: the cached object
    with engine.connect() as conn:  # recompute from the postings, then roll it back
        with conn.begin() as txn:
            rebuild(conn)
            from_scratch = ledger_totals._read_totals(Session(bind=conn), 0, "")
            txn.rollback()
    assert from_scratch.cells == before.cells and from_scratch.txn_counts == before.txn_counts


def test_ledger_page_anchors_and_paging(demo_client, s):
    head = s.run(ledger.head).seq
    html = demo_client.get("/disclosure/ledger").get_data(as_text=True)
    assert f'id="seq-{head}"' in html and f'id="seq-{head - 49}"' in html
    assert f'id="seq-{head - 50}"' not in html
    older = demo_client.get(f"/disclosure/ledger?before={head - 49}").get_data(as_text=True)
    assert f'id="seq-{head - 50}"' in older and f'id="seq-{head}"' not in older
    grants = demo_client.get("/disclosure/ledger?kind=grant").get_data(as_text=True)
    assert grants.count('id="seq-') == 21 and "捐赠</td>" not in grants


def _csv(response):
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _xlsx(response):
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def _same(value):
    """A cell as CSV and XLSX both hold it: yuan is 150.00 in one and 150 (a number) in the
    other."""
    text = str(value)
    return str(Decimal(text).quantize(Decimal("0.01"))) if re.fullmatch(r"-?\d+(\.\d+)?", text) \
        else text


def test_exports_parse_and_hold_no_private_field(demo_client, s):
    private = set()
    for p in s.exec(select(BeneficiaryPrivate)):
        private |= {p.full_name, p.id_number, p.address, p.school, p.guardian_phone}
    private.discard("")
    public = s.exec(select(Need).where(Need.state.in_(PUBLIC_STATES)))
    names = ["needs", "ledger", "funds", "enterprises", "fund-F-ANXIN", "enterprise-E-1"]
    for what in names:
        rows_csv = _csv(demo_client.get(f"/disclosure/export/{what}.csv"))
        rows_xlsx = _xlsx(demo_client.get(f"/disclosure/export/{what}.xlsx"))
        assert len(rows_csv) == len(rows_xlsx) > 1, what
        assert [_same(v) for v in rows_xlsx[1]] == [_same(v) for v in rows_csv[1]], what
        text = "\n".join(",".join(map(str, r)) for r in rows_csv + rows_xlsx)
        assert not [v for v in private if v in text], what
    needs = _csv(demo_client.get("/disclosure/export/needs.csv"))
    header = needs[0]
    assert "地区（县级）" in header and not {"full_name", "id_number", "address", "school",
                                       "birth_date", "guardian_phone", "region"} & set(header)
    assert {r[0] for r in needs[1:]} == {n.code for n in public}
    county = header.index("地区（县级）")
    assert all(r[county].count("省") + r[county].count("区") <= 3 and "镇" not in r[county]
               and "村" not in r[county] for r in needs[1:])
    led = _csv(demo_client.get("/disclosure/export/ledger.csv"))
    assert sum(int(r[6]) for r in led[1:]) == 0
    assert len(led) - 1 == len(s.exec(select(LedgerPosting.id)))
    fund = _csv(demo_client.get("/disclosure/export/fund-F-ANXIN.csv"))
    assert sum(int(r[6]) for r in fund[1:]) == s.run(ledger.balance, "fund:F-ANXIN")


def test_overdue_disclosure_follows_the_three_month_rule(demo_client, s):
    project = s.exec(select(Need).where(Need.code == "J-2"))[0]  # verified June 2026
    assert project.last_disclosed_at is None and project.funded > 0
    verified = aware(project.verified_at)
    with clock.frozen(datetime(2026, 8, 1, tzinfo=UTC)):
        assert not rules.disclosure_status(project).overdue
        assert "信息公开逾期" not in demo_client.get("/needs/J-2").get_data(as_text=True)
        assert "J-2 " not in demo_client.get("/disclosure/").get_data(as_text=True)
    late = add_months(verified, 3) + timedelta(days=1)
    with clock.frozen(late):
        assert rules.disclosure_status(project).overdue
        assert "信息公开逾期" in demo_client.get("/needs/J-2").get_data(as_text=True)
        assert "信息公开逾期" in demo_client.get("/disclosure/needs/J-2").get_data(as_text=True)
        home = demo_client.get("/disclosure/").get_data(as_text=True)
        assert 'href="/disclosure/needs/J-2"' in home
    # A short project (micro-wish, due within 6 months) is never flagged.
    wish = s.exec(select(Need).where(Need.kind == "wish", Need.funded > 0))[0]
    with clock.frozen(datetime(2027, 6, 1, tzinfo=UTC)):
        assert not rules.disclosure_status(wish).overdue


@pytest.mark.parametrize("moment", [datetime(2026, 7, 1, tzinfo=UTC),
                                    datetime(2026, 9, 10, 12, tzinfo=UTC),
                                    datetime(2027, 1, 15, tzinfo=UTC),
                                    datetime(2027, 5, 31, 23, 59, tzinfo=UTC)])
def test_sql_and_python_agree_on_who_is_overdue(s, moment):
    flagged, count = s.run(rules.overdue_needs, moment, limit=10_000)
    python = {n.code for n in s.exec(select(Need))
              if rules.disclosure_status(n, moment).overdue}
    assert {n.code for n in flagged} == python and count == len(python)


def test_add_months_clamps_like_postgresql():
    assert add_months(datetime(2026, 8, 31), 6) == datetime(2027, 2, 28)
    assert add_months(datetime(2027, 11, 30), 3) == datetime(2028, 2, 29)
    assert add_months(datetime(2026, 3, 31), -1) == datetime(2026, 2, 28)


def test_published_verifier_accepts_our_ledger_and_rejects_a_change(demo_client, tmp_path):
    page = demo_client.get("/disclosure/verify").get_data(as_text=True)
    code = htmllib.unescape(re.search(r'<pre class="code"><code>(.*?)</code></pre>', page,
                                      re.S).group(1))
    assert 10 <= len(code.strip().splitlines()) <= 60  # still read in a minute (issue 13)
    assert "flask --app web ledger verify" in page
    script = tmp_path / "verify_ledger.py"
    script.write_text(code, encoding="utf-8")
    body = demo_client.get("/disclosure/ledger.jsonl").get_data(as_text=True)
    good = tmp_path / "ledger.jsonl"
    good.write_text(body, encoding="utf-8")
    ok = subprocess.run([sys.executable, str(script), str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("OK:"), ok.stderr
    lines = body.splitlines()
    lines[4] = lines[4].replace('"amount":-', '"amount":-1', 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = subprocess.run([sys.executable, str(script), str(bad)], capture_output=True, text=True)
    assert broken.returncode != 0 and "seq 5" in broken.stderr


def test_a_needs_disclosure_lists_its_payouts_and_evidence_and_says_when_it_has_none(demo_app,
                                                                                      demo_url):
    """The page reads payouts and evidence only when the need has any (readside.need_page):
    both branches, against the rows themselves."""
    from funds.models import Disbursement
    from needs.models import Evidence

    with Session(get_engine(demo_url)) as s:
        with_payouts = s.exec(select(Need).where(Need.state.in_(PUBLIC_STATES), Need.id.in_(
            select(Evidence.need_id).where(Evidence.disbursement_id.is_not(None))))).first()
        payouts = s.exec(select(Disbursement).where(
            Disbursement.need_id == with_payouts.id)).all()
        photos = s.exec(select(Evidence).where(Evidence.need_id == with_payouts.id)).all()
        bare = s.exec(select(Need).where(
            Need.state.in_(PUBLIC_STATES), Need.disbursed == 0,
            Need.id.not_in(select(Evidence.need_id)),
            Need.id.not_in(select(Disbursement.need_id)))).first()
    client = demo_app.test_client()
    page = client.get(f"/disclosure/needs/{with_payouts.code}").get_data(as_text=True)
    assert payouts and photos
    for payout in payouts[-200:]:
        assert f"#{payout.ledger_seq}</a>" in page
    for photo in photos:
        assert f"/disclosure/evidence/{photo.id}" in page
    assert "暂无拨付" not in page
    empty = client.get(f"/disclosure/needs/{bare.code}")
    assert empty.status_code == 200
    text = empty.get_data(as_text=True)
    assert "暂无拨付" in text and "/disclosure/evidence/" not in text
