"""No public page, export or log line ever shows a beneficiary's private data, nor the name
of an individual donor who did not choose to be named.

The pages are discovered from the app's URL map, so a page added later is covered without
editing this file; parameters are filled from the demo database.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from sqlmodel import select
from werkzeug.routing import AnyConverter

from core.db import get_engine, unit_of_work

NEED_LINK = re.compile(r"/needs/[A-Z]+-\d+")
JSON_LINK = re.compile(r'"(/(?:api/v1|needs|disclosure)/[^"#\s]*)"')  # links inside API documents
SKIP_ENDPOINTS = {"static", "api.unknown",  # api.unknown: the API's catch-all 404
                  # ---- h9: the demo has no gifts, receipts or 配捐 offers yet; these pages are
                  # checked for personal data in tests/integration/test_giving_offline.py
                  # and test_match_offers.py.
                  "give.gift", "give.receipt_download", "give.receipt_public",
                  "give.match_offer", "give.match_meter",
                  # Token links answer only a signed token the crawl cannot make; their pages
                  # are tested in test_password_reset.py and test_invitations.py.
                  "accounts.reset_password", "accounts.accept_invitation",
                  # The gift-return link is a signed token too (test_gift_returns.py).
                  "returns.by_link"}
# Routes whose parameters are in the query string (the rest are in the path).
QUERIES = {"transparency.inclusion_proof": "?seq=1&size=1",
           "transparency.consistency_proof": "?from=1&to=1",
           "api.inclusion_proof": "?seq=1&size=1", "api.consistency_proof": "?from=1&to=1"}


# ------------------------------------------------------------------ what is private ---

def birth_forms(born) -> list[str]:
    if born is None:
        return []
    return [born.isoformat(), born.strftime("%Y%m%d"), f"{born.year}年{born.month}月{born.day}日",
            f"{born.year}年{born.month:02d}月{born.day:02d}日", f"{born.year}/{born.month}/{born.day}",
            f"{born.year}.{born.month:02d}.{born.day:02d}"]


def private_values(session) -> dict[str, str]:
    """value -> what it is, for every non-empty private field and hidden donor name."""
    from donors.models import Donor
    from needs.models import BeneficiaryPrivate

    secrets: dict[str, str] = {}
    for p in session.exec(select(BeneficiaryPrivate)).all():
        for field in ("full_name", "id_number", "address", "school", "guardian_phone"):
            value = (getattr(p, field) or "").strip()
            if value:
                secrets[value] = f"beneficiary {p.beneficiary_id} {field}"
        for form in birth_forms(p.birth_date):
            secrets[form] = f"beneficiary {p.beneficiary_id} birth_date"
    donors = session.exec(select(Donor)).all()
    named = {d.name for d in donors if d.show_name}
    for d in donors:
        if not d.show_name and d.name.strip() and d.name not in named:
            secrets[d.name.strip()] = f"donor {d.id} name (not shown by choice)"
    return secrets


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [f"{what}: {value!r}" for value, what in secrets.items() if value in text]


def body_text(response) -> str:
    """Everything a client receives: headers and body; XLSX is unzipped and every part read."""
    data = response.get_data()
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    if data[:2] == b"PK":
        import openpyxl

        parts = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                parts.append(archive.read(name).decode("utf-8", "replace"))
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                parts.append("\t".join("" if v is None else str(v) for v in row))
        return headers + "\n" + "\n".join(parts)
    return headers + "\n" + data.decode("utf-8", "replace").lstrip("\ufeff")


# -------------------------------------------------------------------- which pages ---

class _Forms(HTMLParser):
    """Every GET form field on a page: name -> option values (empty for a text box)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, set[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, set())
        elif tag == "option" and self._select and a.get("value"):
            self.fields[self._select].add(a["value"])
        elif tag == "input" and name and a.get("type") in ("radio", "checkbox") and a.get("value"):
            self.fields.setdefault(name, set()).add(a["value"])
        elif tag == "input" and name and a.get("type", "text") in ("text", "search"):
            self.fields.setdefault(name, set())

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def demo_codes(session) -> dict[str, list[str]]:
    from donors.models import Enterprise, Pledge
    from funds.models import CommunityFund, LedgerTxn
    from needs.models import PUBLIC_STATES, Evidence, Need, Organisation, Programme

    needs = session.exec(select(Need.code, Need.state, Need.kind)).all()
    return {
        "need": [c for c, s, _ in needs if s in PUBLIC_STATES],
        "hidden_need": [c for c, s, _ in needs if s not in PUBLIC_STATES],
        "project": [c for c, s, k in needs if s in PUBLIC_STATES and k == "project"],
        "fund": list(session.exec(select(CommunityFund.code)).all()),
        "enterprise": list(session.exec(select(Enterprise.code)).all()),
        "pledge": [c for c in session.exec(select(Pledge.code)).all() if c],
        "programme": list(session.exec(select(Programme.code)).all()),
        "organisation": [str(i) for i in session.exec(select(Organisation.id)).all()],
        "seq": [str(s) for s in session.exec(select(LedgerTxn.seq).limit(20)).all()],
        "evidence": [str(i) for i in session.exec(select(Evidence.id)).all()],
    }


EXPORT_NAMES = ["needs", "projects", "ledger", "donations", "disbursements", "funds",
                "enterprises", "programmes", "pledges", "allocations", "totals", "grants"]


def values_for(rule, arg: str, codes: dict[str, list[str]]) -> list[str]:
    converter = rule._converters.get(arg)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    where = (rule.rule + " " + rule.endpoint + " " + arg).lower()
    if "lang" in where:
        return ["zh_CN", "en"]
    if arg in ("fmt", "format", "ext"):
        return ["csv", "xlsx", "jsonl", "json"]
    if arg in ("what", "name", "kind", "table", "dataset"):
        per_object = [f"{kind}-{c}" for kind, key in (("fund", "fund"), ("enterprise", "enterprise"),
                                                       ("need", "need"), ("project", "project"),
                                                       ("programme", "programme"))
                      for c in codes[key]]
        return EXPORT_NAMES + per_object[:6]  # the rest are reached by following links
    if "evidence" in where:
        return codes["evidence"]
    if arg in ("seq", "id", "page") and "organisation" not in where:
        return codes["seq"]
    for key in ("fund", "enterprise", "pledge", "programme", "organisation", "project"):
        if key in where:
            return codes[key]
    return codes["need"] + codes["fund"] + codes["enterprise"] + codes["programme"]


def public_urls(app, codes) -> dict[str, list[str]]:
    """endpoint -> every concrete URL to fetch for it."""
    from web.permissions import access_of

    urls: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.endpoint.startswith("bench"):
            continue
        if str(access_of(app, rule.endpoint)).startswith("token:"):
            continue  # 401 without a token: read with tokens in test_token_reads_of_the_api_are_clean
        args = sorted(rule.arguments)
        if not args:
            urls[rule.endpoint] = [rule.rule + QUERIES.get(rule.endpoint, "")]
            continue
        combos = [{}]
        for arg in args:
            combos = [dict(c, **{arg: v}) for c in combos for v in values_for(rule, arg, codes)]
        built = []
        with app.test_request_context():
            from flask import url_for

            for combo in combos:
                try:
                    built.append(url_for(rule.endpoint, **combo))
                except Exception:  # a value the converter refuses: not a URL of this rule
                    continue
        urls[rule.endpoint] = built
    return urls


# ------------------------------------------------------------------------- fixtures ---

@pytest.fixture(scope="module")
def secrets(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        values = private_values(s)
    assert sum("beneficiary" in w for w in values.values()) >= 20, "demo has no private data?"
    assert any("donor" in w for w in values.values()), "demo has no hidden donor names?"
    return values


@pytest.fixture(scope="module")
def codes(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        return demo_codes(s)


@pytest.fixture(scope="module", autouse=True)
def signed_demo(demo_url):
    """The demo ledger signed, as the checkpoint job would have done by now."""
    from funds import checkpoints
    from funds.signed_note import Signer

    with unit_of_work(get_engine(demo_url)) as s:
        config = checkpoints.TlogConfig(signing_key=Signer.generate("test").encode())
        checkpoints.issue(s, config)


@pytest.fixture
def fetch(demo_app, secrets, caplog):
    """GET a URL, assert it is clean, return the response."""
    client = demo_app.test_client()
    caplog.set_level(logging.DEBUG)

    def get(url: str, **kw):
        response = client.get(url, **kw)
        found = leaks(body_text(response), secrets)
        assert not found, f"{url} leaks private data: {found}"
        return response
    return get


def assert_logs_clean(caplog, secrets) -> None:
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    found = leaks(text, secrets)
    assert not found, f"private data in the log: {found}"


# ---------------------------------------------------------------------------- tests ---

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith("/") and not href.startswith(("//", "/static/", "/lang/")):
            self.hrefs.add(href.split("#")[0])


def test_every_public_route_is_clean(demo_app, codes, fetch, caplog, secrets):
    """Every GET route of the app, with every demo code, and every same-site link found on
    those pages (exports, pages 2, 3 ..., filters): nothing private in any of them."""
    served: dict[str, int] = {}
    seen: set[str] = set()
    links: set[str] = set()

    def visit(url: str, partial: bool = True) -> int:
        seen.add(url)
        response = fetch(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            if partial:
                fetch(url, headers={"HX-Request": "true"})  # the htmx partial too
            parser = _Links()
            parser.feed(response.get_data(as_text=True))
            links.update(parser.hrefs)
        elif response.status_code == 200 and response.is_json:  # the API: follow its links
            links.update(JSON_LINK.findall(response.get_data(as_text=True)))
        return response.status_code

    for endpoint, urls in public_urls(demo_app, codes).items():
        served[endpoint] = 0
        for url in urls:  # htmx partials of list pages; per-object pages have none
            if visit(url, partial=len(urls) == 1) < 400:
                served[endpoint] += 1
    # Crawl: every export link, and a bounded number of other links (further pages, filters).
    budget = 250
    while todo := sorted(links - seen):
        exports = [u for u in todo if "/export/" in u]
        others = [u for u in todo if "/export/" not in u][:budget]
        if not exports and not others:
            break
        budget -= len(others)
        for url in exports + others:
            visit(url, partial=False)
    from web.permissions import access_of

    # Pages behind a sign-in answer anonymous visitors with a redirect: only public ones must
    # have served a page.
    never = [e for e, n in served.items() if n == 0 and access_of(demo_app, e) == "public"
             and not (e.endswith("evidence") and not codes["evidence"])]  # no demo files
    print(f"{len(seen)} URLs checked")
    assert not never, f"these routes never answered with demo values (teach values_for): {never}"
    assert served.get("public.need", 0) == len(codes["need"])
    assert served.get("api.need", 0) == len(codes["need"])  # the API's copy of every need
    assert any(u.startswith("/api/v1/ledger?cursor=") for u in seen)  # keyset pages crawled
    assert_logs_clean(caplog, secrets)


def test_needs_list_with_every_filter_and_page_is_clean(fetch, caplog, secrets):
    page = fetch("/needs").get_data(as_text=True)
    forms = _Forms()
    forms.feed(page)
    requested = 0
    for name, options in forms.fields.items():
        for value in sorted(options) or ["书包", "助学", "滨州"]:
            assert fetch("/needs?" + urlencode({name: value})).status_code < 500
            requested += 1
    for number in range(1, 30):
        response = fetch(f"/needs?page={number}")
        if not NEED_LINK.search(response.get_data(as_text=True)):
            break
    assert number > 2, "the demo should span several pages of needs"
    assert_logs_clean(caplog, secrets)


def test_search_does_not_find_needs_by_private_fields(demo_app, demo_url, secrets, caplog):
    """Searching for a child's ID number or guardian's phone never finds that child's needs
    (the search index holds public fields only), and searching for any private value shows
    nothing private beyond the query the visitor typed in. (Names and schools are not used
    for the first check: the search is fuzzy and pinyin-aware, so 张子华 may honestly match
    沾化区 in a title; what matters is that no private field is indexed.)"""
    from needs.models import Need

    with unit_of_work(get_engine(demo_url)) as s:
        own: dict[int, set[str]] = {}
        for code, beneficiary_id in s.exec(select(Need.code, Need.beneficiary_id)).all():
            if beneficiary_id:
                own.setdefault(beneficiary_id, set()).add(f"/needs/{code}")
    client = demo_app.test_client()
    caplog.set_level(logging.DEBUG)
    values = [(v, w) for v, w in secrets.items() if w.startswith("beneficiary")
              and not w.endswith("birth_date")]
    unique = [(v, int(w.split()[1])) for v, w in values
              if w.endswith(("id_number", "guardian_phone"))]
    assert unique and any(b in own for _, b in unique)
    for param in ("q", "search"):
        # What a search for a word that is nowhere finds (everything, if the route ignores
        # this parameter): a private value may find that, nothing more of its own child's.
        nowhere = set(NEED_LINK.findall(client.get(
            "/needs?" + urlencode({param: "无此词zqxj"})).get_data(as_text=True)))
        for value, beneficiary_id in unique[:60]:
            text = client.get("/needs?" + urlencode({param: value})).get_data(as_text=True)
            found = (set(NEED_LINK.findall(text)) - nowhere) & own.get(beneficiary_id, set())
            assert not found, f"search for {secrets[value]} found the child's need {found}"
        for value, _what in values[:80]:
            response = client.get("/needs?" + urlencode({param: value}))
            assert response.status_code == 200
            found = leaks(response.get_data(as_text=True).replace(value, ""), secrets)
            assert not found, f"search page leaks {found}"
    assert_logs_clean(caplog, secrets)


def test_hidden_needs_stay_hidden(fetch, codes):
    assert codes["hidden_need"]
    for code in codes["hidden_need"]:
        assert fetch(f"/needs/{code}").status_code == 404


def test_token_reads_of_the_api_are_clean(demo_app, demo_url, fetch, caplog, secrets):
    """/api/v1/me/…, read with the demo organisation's and enterprise's tokens: an
    organisation's own needs in every state (drafts included) and an enterprise's pledges,
    proposals and report show no private field either; every token GET route is fetched."""
    from core import api_tokens
    from core.users import Membership
    from web.permissions import access_of

    with unit_of_work(get_engine(demo_url)) as s:
        tokens = {}
        for role, kind, column in (("org_admin", "organisation", "organisation_id"),
                                   ("enterprise_reviewer", "enterprise", "enterprise_id")):
            member = s.exec(select(Membership).where(Membership.role == role)).first()
            tokens[kind] = api_tokens.create(s, kind, getattr(member, column), name="privacy",
                                             scope="read", actor_id=member.user_id).secret
    routes = [rule for rule in demo_app.url_map.iter_rules()
              if str(access_of(demo_app, rule.endpoint)).startswith("token:")
              and "GET" in rule.methods]
    assert routes, "no token routes?"
    fetched = 0
    for kind, secret in tokens.items():
        auth = {"Authorization": f"Bearer {secret}"}
        todo = [r.rule for r in routes if not r.arguments]
        mine = fetch("/api/v1/me/needs", headers=auth)
        if kind == "organisation":
            needs = mine.get_json()["items"]
            assert needs and {n["state"] for n in needs} - {"verified", "funded", "closed"}
            todo += [f"/api/v1/me/needs/{n['code']}" for n in needs]
            if mine.get_json()["next"]:
                todo.append(mine.get_json()["next"])
        for url in todo:
            response = fetch(url, headers=auth)
            assert response.status_code in (200, 403), (url, response.status_code)
            fetched += response.status_code == 200
    assert fetched >= 5
    assert_logs_clean(caplog, secrets)


def test_the_checker_catches_a_leaking_page_and_log(demo_app, secrets, caplog):
    """The checks above can fail: a page or a log line with a child's data is caught."""
    name = next(v for v, w in secrets.items() if w.endswith("full_name"))
    hidden = next(v for v, w in secrets.items() if w.startswith("donor"))
    born = next(v for v, w in secrets.items() if w.endswith("birth_date") and "年" in v)
    assert leaks(f"<p>受助人：{name}</p>", secrets)
    assert leaks(f"<li>{hidden} · ¥10.00</li>", secrets)
    assert leaks(f"出生于{born}", secrets)

    class Fake:
        headers = {"Content-Type": "application/vnd.openxmlformats"}

        @staticmethod
        def get_data():
            import openpyxl

            book = openpyxl.Workbook()
            book.active.append(["W-1", name])
            out = io.BytesIO()
            book.save(out)
            return out.getvalue()

    assert leaks(body_text(Fake), secrets), "a name inside an XLSX must be found"
    caplog.set_level(logging.DEBUG)
    logging.getLogger("shanlian.test").info("claimed by %s", name)
    with pytest.raises(AssertionError):
        assert_logs_clean(caplog, secrets)
