"""The public side, honest to the fen (issue 15): no 5xx on any input, every disclosure
figure equals the sum its label names, English pages carry no Chinese outside proper names,
the demo lies in the past, exports are for people, caches and proxies are handled, and
absolute links never come from the Host header."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlmodel import func, select

from core.clock import aware, now
from core.config import Settings
from core.db import get_engine, unit_of_work
from donors.match_models import MatchOffer
from donors.models import Donor, Enterprise, Pledge
from funds.models import Allocation, Approval, CommunityFund, Disbursement, LedgerPosting, LedgerTxn
from needs.models import (
    PUBLIC_STATES,
    Beneficiary,
    Evidence,
    Milestone,
    Need,
    Organisation,
    Programme,
)
from tests.conftest import make_app


@pytest.fixture(scope="module")
def demo_app(demo_url):
    return make_app(demo_url)


@pytest.fixture
def client(demo_app):
    return demo_app.test_client()


def _read(url, statement):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(statement).all()


# ---- 8. No 5xx on any input ---------------------------------------------------------------

ISSUE_URLS = {  # each answered 500 before; each must be a 400 or 404 with a message
    "/needs?page=%C2%B2": 400, "/needs?urgency=%C2%B3": 400, "/needs?page=%E2%91%A0": 400,
    "/needs/%00": 404, "/needs/J-2%00": 404, "/disclosure/evidence/2147483648": 404,
    "/disclosure/needs/J-2?before=2147483648": 400,
    "/disclosure/funds/F-1?before=9223372036854775808": 400,
    "/disclosure/funds?page=99999999999999999999": 400,
}


@pytest.mark.parametrize("url,status", ISSUE_URLS.items())
def test_the_inputs_of_the_issue_are_refused_with_a_message(client, url, status):
    response = client.get(url)
    assert response.status_code == status, url
    assert '<main id="main"' in response.get_data(as_text=True)  # the site's error page


BAD_SEGMENTS = ["%00", "J-2%00", "2147483648", "9223372036854775808", "-1", "0", "%C2%B2",
                "%E2%91%A0", "x" * 300, "%F0%9F%98%80", "..%2F..%2Fetc", "1e9"]
BAD_QUERIES = ["page=%C2%B2", "page=%E2%91%A0", "page=99999999999999999999", "page=-5",
               "page=0", "before=2147483648", "before=9223372036854775808", "before=%00",
               "urgency=%C2%B3", "kind=%00", "q=%00", "region=%00", "sort=%00",
               "province=%00&city=%00", "lang=%00", "next=%00"]


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "static":
            yield rule


def _fill(rule, value: str) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:>]+:)?{name}>", value, path)
    return path.replace("<any(csv, xlsx):fmt>", "csv")


def test_every_route_is_fuzzed_and_never_answers_5xx(demo_app, client):
    """Every GET route, with bad ids, codes and page numbers in its path and query."""
    checked = 0
    for rule in _get_rules(demo_app):
        paths = [_fill(rule, v) for v in BAD_SEGMENTS] if rule.arguments else [rule.rule]
        for path in paths:
            for query in ["", *BAD_QUERIES]:
                url = f"{path}?{query}" if query else path
                status = client.get(url).status_code
                assert status < 500, url
                checked += 1
    assert checked > 500  # the walk really covered the routes


def test_a_good_page_number_past_the_end_still_answers(client):
    assert client.get("/disclosure/funds?page=99999").status_code == 200
    assert client.get("/needs?page=99999").status_code == 200


# ---- 2. Each disclosure figure equals the sum its label names -----------------------------

def _figure(html: str, label: str) -> str:
    block = re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]+)</dd>(.*?)</div>", html, re.S)
    assert block, label
    return block.group(1), block.group(2)


def _fen(text: str) -> int:
    return int(Decimal(text.strip().lstrip("¥").replace(",", "")) * 100)


def test_each_disclosure_figure_equals_the_sum_its_label_names(client, demo_url):
    html = client.get("/disclosure/").get_data(as_text=True)
    figure, parts = _figure(html, "已匹配到需求")
    named = re.findall(r'kind=(\w+)" data-part="to-needs">[^<]*<span class="part-amount">([^<]+)',
                       parts)
    # the parts named under the figure add up to it, and include the direct donations
    assert sum(_fen(a) for _k, a in named) == _fen(figure)
    assert {"donation", "allocation", "grant"} <= {k for k, _a in named}
    # … and each part is the money credited to needs by transactions of that kind
    for kind, amount in named:
        credited = _read(demo_url, select(func.sum(LedgerPosting.amount))
                         .join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
                         .where(LedgerTxn.kind == kind, LedgerPosting.account.startswith("need:"),
                                LedgerPosting.amount > 0))[0]
        assert _fen(amount) == credited, kind
    disbursed, _ = _figure(html, "已拨付")
    paid_out = _read(demo_url, select(func.sum(Disbursement.amount)))[0]
    assert _fen(disbursed) == paid_out
    money_in, _ = _figure(html, "善款到账")
    held, _ = _figure(html, "结存（待拨付）")
    assert _fen(held) == _fen(money_in) - _fen(disbursed)


def test_no_enterprise_is_listed_at_zero_when_it_gave(client, demo_url):
    html = client.get("/disclosure/enterprises").get_data(as_text=True)
    rows = re.findall(r'<tr><th scope="row"><a [^>]+>([^<]+)</a></th>((?:<td class="num">[^<]+</td>)+)',
                      html)
    assert rows
    for name, cells in rows:
        amounts = [_fen(a) for a in re.findall(r'<td class="num">([^<]+)</td>', cells)]
        assert sum(amounts) > 0, name
    founders = [r for r in rows if "发起企业" in r[0]]
    assert len(founders) == 12  # the 安心 fund's founders gave to the fund: shown with it


def test_a_sponsorship_badge_does_not_repeat_its_category(client, demo_url):
    code = _read(demo_url, select(Need.code).where(Need.kind == "sponsorship"))[0]
    html = client.get(f"/needs/{code}").get_data(as_text=True)
    tags = re.findall(r'<span class="tag">([^<]+)</span>', html)
    assert tags == ["助学资助"]


LEDGER_KINDS = {"donation", "pledge_payment", "allocation", "grant", "disbursement", "refund",
                "reversal", "match", "redirect"}  # every kind a service appends


def test_every_ledger_kind_has_a_name_in_both_languages(demo_app, demo_url):
    """The 配捐 kind showed as "match" on the Chinese totals page: every kind the services
    write (and every kind in the demo ledger) is named, and the English name is not the
    Chinese one."""
    from flask_babel import force_locale

    from web.disclosure import kind_name

    kinds = LEDGER_KINDS | set(_read(demo_url, select(LedgerTxn.kind).distinct()))
    with demo_app.test_request_context("/"):
        for kind in kinds:
            chinese = kind_name(kind)
            with force_locale("en"):
                english = kind_name(kind)
            assert chinese != kind and CJK.search(chinese), kind
            assert english != chinese and not CJK.search(english), kind


def test_enterprise_money_is_not_called_a_match(client, demo_url):
    html = client.get("/disclosure/").get_data(as_text=True)
    assert "企业配捐" not in html and "企业资助" in html


# ---- 1. and 7. The demo lies in the past and discloses on time ----------------------------

def test_the_demo_history_ends_before_it_was_loaded_and_never_goes_backwards(demo_url):
    times = [aware(t) for t in _read(demo_url, select(LedgerTxn.at).order_by(LedgerTxn.seq))]
    assert times and max(times) <= now()
    assert all(a <= b for a, b in zip(times, times[1:], strict=False))
    dones = [aware(m) for m in _read(demo_url, select(Milestone.done_at)) if m]
    assert dones and max(dones) <= now()


def test_the_demo_discloses_on_time_but_for_one_or_two_projects(client):
    html = client.get("/disclosure/").get_data(as_text=True)
    count = int(re.search(r'class="flag overdue">逾期项目：(\d+)</p>', html).group(1))
    assert 1 <= count <= 2


# ---- 3. 7. 10. 11. Links, times, cards ----------------------------------------------------

def test_the_header_opens_the_readable_ledger_which_links_the_download(client):
    home = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav aria-label="主导航">(.*?)</nav>', home, re.S).group(1)
    assert 'href="/disclosure/ledger"' in nav and "ledger.jsonl" not in nav
    ledger_page = client.get("/disclosure/ledger").get_data(as_text=True)
    assert 'href="/disclosure/ledger.jsonl"' in ledger_page


def test_times_are_shown_in_beijing_time(client, demo_url):
    seq, at = _read(demo_url, select(LedgerTxn.seq, LedgerTxn.at).order_by(LedgerTxn.seq))[0]
    html = client.get(f"/disclosure/ledger?before={seq + 1}").get_data(as_text=True)
    row = re.search(rf'id="seq-{seq}">(.*?)</tr>', html, re.S).group(1)
    from zoneinfo import ZoneInfo
    shown = aware(at).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert shown in row and "北京时间" in html and "(UTC)" not in html


def test_the_wish_card_uses_site_url_not_the_host_header_and_promises_only_a_view(demo_url):
    app = make_app(demo_url)
    app.config["SHANLIAN"] = Settings(database_url=demo_url, secret_key="test",
                                      site_url="https://shanlian.example")
    code = _read(demo_url, select(Need.code).where(Need.kind == "wish"))[0]
    html = app.test_client().get(f"/needs/{code}/card", headers={"Host": "evil.example"}) \
        .get_data(as_text=True)
    assert "evil.example" not in html
    assert f"https://shanlian.example/needs/{code}" in html
    assert "扫码认领" not in html and "扫码查看" in html


def test_home_programme_cards_link_to_their_programme(client, demo_url):
    html = client.get("/").get_data(as_text=True)
    for code in _read(demo_url, select(Programme.code)):
        assert f'href="/disclosure/programmes/{code}"' in html, code


# ---- 9. Caching headers and the proxy -----------------------------------------------------

def test_pages_vary_on_the_language_cookie(client):
    for url in ("/", "/needs", "/disclosure/", "/disclosure/ledger"):
        assert "Cookie" in client.get(url).headers.get("Vary", ""), url


def test_evidence_is_revalidated_not_cached_for_a_year(client, demo_url):
    evidence_id = _read(demo_url, select(Evidence.id))[0]
    response = client.get(f"/disclosure/evidence/{evidence_id}")
    assert response.status_code == 200
    policy = response.headers["Cache-Control"]
    assert "no-cache" in policy and "31536000" not in policy
    assert response.headers.get("ETag")
    again = client.get(f"/disclosure/evidence/{evidence_id}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("proxies,secure", [(0, False), (1, True)])
def test_lang_cookie_is_secure_behind_a_tls_proxy_only_when_configured(demo_url, proxies, secure):
    from web import create_app

    app = create_app(Settings(database_url=demo_url, secret_key="test", proxy_fix=proxies))
    app.config.update(TESTING=True)
    response = app.test_client().get("/lang/en", headers={"X-Forwarded-Proto": "https"})
    assert ("Secure" in response.headers["Set-Cookie"]) is secure


@pytest.mark.parametrize("env,message", [({"PROXY_FIX": "x"}, "PROXY_FIX"),
                                         ({"SITE_URL": "evil"}, "SITE_URL"),
                                         ({"SITE_URL": "https://a.example/path"}, "SITE_URL")])
def test_bad_proxy_and_site_settings_are_refused(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


# ---- 6. Exports for people ----------------------------------------------------------------

def test_csv_has_one_charset_a_bom_yuan_columns_and_headers_in_the_visitors_language(client):
    response = client.get("/disclosure/export/ledger.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    fen, yuan = header.index("金额（分）"), header.index("金额（元）")
    assert all(Decimal(r[yuan]) * 100 == int(r[fen]) for r in rows[1:])
    english = client.get("/disclosure/export/ledger.csv?lang=en").get_data(as_text=True)
    header_en = next(csv.reader(io.StringIO(english.lstrip("\ufeff"))))
    assert "Amount (fen)" in header_en and "Amount (yuan)" in header_en
    assert not [h for h in header_en if CJK.search(h)]


def test_xlsx_keeps_yuan_as_a_number(client):
    import openpyxl

    response = client.get("/disclosure/export/needs.xlsx?lang=en")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    fen, yuan = rows[0].index("Target amount (fen)"), rows[0].index("Target amount (yuan)")
    assert all(Decimal(str(r[yuan])) * 100 == r[fen] for r in rows[1:])
    assert sheet.cell(row=2, column=yuan + 1).number_format == "#,##0.00"


# ---- 4. English pages carry no CJK outside proper names -----------------------------------

CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")


class _Text(HTMLParser):
    """Visible text and the attributes people read (title, alt, aria-label, placeholder)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre"):  # code: account ids and hashes
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "alt", "aria-label", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _proper_names(url) -> list[str]:
    """Data, not interface: names of programmes, organisations, places, people and projects,
    and what organisations and approvers wrote (stories, memos, captions, reasons)."""
    names: set[str] = set()
    with unit_of_work(get_engine(url)) as s:
        for statement in (select(Programme.name), select(Programme.summary),
                          select(Programme.organiser), select(Programme.region),
                          select(Organisation.name),
                          select(Need.title), select(Need.story), select(Need.region),
                          select(CommunityFund.name), select(CommunityFund.region),
                          select(Enterprise.name), select(Pledge.title), select(Donor.name),
                          select(Beneficiary.pseudonym), select(Milestone.title),
                          select(Evidence.caption), select(LedgerTxn.memo),
                          select(Disbursement.paid_to), select(Disbursement.memo),
                          select(Allocation.reason), select(Allocation.why), select(Approval.reason),
                          select(Organisation.public_fundraising_cert),
                          select(Need.fundraising_filing),
                          select(MatchOffer.title)):  # an enterprise's 配捐 offer: its words
            for value in s.exec(statement).all():
                if value:
                    names.add(value)
                    names.update(value.split("/"))  # a region path: each place is a name
    from core.privacy import mask_name
    from core.regions import county_display
    names |= {mask_name(n) for n in list(names)} | {county_display(n) for n in list(names)}
    names |= {n[:11] + "…" for n in names if len(n) > 12}  # a chart's shortened label
    # The brand is a name too, and the language switch names Chinese in Chinese (中文).
    names |= {"善联", "中文"}
    return sorted((n for n in names if n), key=len, reverse=True)


def _english_urls(url) -> list[str]:
    urls = ["/", "/needs", "/needs?kind=sponsorship", "/disclosure/", "/disclosure/ledger",
            "/disclosure/verify", "/disclosure/funds", "/disclosure/enterprises",
            "/account/sign-in", "/account/sign-up", "/needs?page=%C2%B2", "/needs/NOPE"]
    with unit_of_work(get_engine(url)) as s:
        for kind in ("wish", "project", "sponsorship", "microgrant"):
            code = s.exec(select(Need.code).where(Need.kind == kind,
                                                  Need.state.in_(PUBLIC_STATES))).first()
            urls += [f"/needs/{code}", f"/needs/{code}/card", f"/disclosure/needs/{code}"]
        urls += [f"/disclosure/programmes/{c}" for c in s.exec(select(Programme.code)).all()]
        urls += [f"/disclosure/funds/{c}" for c in ("F-ANXIN", "F-VENTURE")]
        urls += [f"/disclosure/enterprises/{s.exec(select(Enterprise.code)).first()}"]
    return urls


def test_every_page_in_english_has_no_cjk_outside_proper_names(client, demo_url):
    names = _proper_names(demo_url)
    leaks = {}
    for url in _english_urls(demo_url):
        client.set_cookie("lang", "en")
        response = client.get(url)
        assert response.status_code < 500, url
        parser = _Text()
        parser.feed(response.get_data(as_text=True))
        text = "\n".join(parser.parts)
        for name in names:
            text = text.replace(name, " ")
        found = sorted({line.strip() for line in text.splitlines() if CJK.search(line)})
        if found:
            leaks[url] = found[:5]
    assert not leaks, leaks


# ---- 2. and 7. The 3-month rule, with a frozen clock, for every kind of need --------------

@pytest.mark.parametrize("kind,applies", [("wish", False), ("microgrant", False),
                                          ("project", True), ("sponsorship", True)])
def test_the_overdue_rule_for_every_kind_of_need(demo_url, kind, applies):
    """Projects and school-year sponsorships disclose every 3 months; a 微心愿 or a paid-out
    小急难 is a one-off gift and is never flagged, however long ago it was funded. The SQL
    list agrees with the Python rule at every moment."""
    from datetime import timedelta

    from core import clock
    from readside import rules

    with unit_of_work(get_engine(demo_url)) as s:
        funded = [n for n in s.exec(select(Need).where(Need.kind == kind, Need.funded > 0,
                                                       Need.state.in_(PUBLIC_STATES))).all()]
        assert funded, kind
        for need in funded:
            base = aware(need.last_disclosed_at or need.verified_at)
            for moment in (base + timedelta(days=1), rules.add_months(base, 3)
                           + timedelta(days=1), base + timedelta(days=400)):
                with clock.frozen(moment):
                    status = rules.disclosure_status(need)
                    listed = {n.id for n in rules.overdue_needs(s, limit=1000)[0]}
                    expected = (applies and rules.rule_applies(need)
                                and moment > rules.add_months(base, 3))
                    assert status.overdue is expected, (need.code, moment)
                    assert (need.id in listed) is expected, (need.code, moment)
        if applies:  # the rule really bites for this kind somewhere in the demo
            assert any(rules.rule_applies(n) for n in funded), kind
