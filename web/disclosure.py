"""阳光慈善: disclosure pages, the paginated ledger, exports, evidence files, the ledger
download and how to verify it; plus the printable wish card of a need."""
from __future__ import annotations

import re

import segno
from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, lazy_gettext
from markupsafe import Markup

from core.data_version import LISTS, SITE, scope_version
from core.db import get_engine, unit_of_work
from core.errors import NotFound
from core.regions import county_display
from funds import ledger
from needs import evidence as evidence_service
from needs.models import PUBLIC_STATES
from needs.vocabulary import label
from readside import entities, ledger_pages, totals
from readside import exports as export_rows
from readside import need_page as need_pages
from readside.grant_decisions import fund_decisions
from readside.ledger_totals import ledger_head
from web import charts, export_cache, exports
from web.converters import is_code, query_int, query_page
from web.db import db_session
from web.security import limiter

bp = Blueprint("disclosure", __name__, url_prefix="/disclosure")
pages = Blueprint("need_pages", __name__)  # unprefixed: /needs/<code>/card

def _code(code: str) -> str:
    """A code embedded in a longer path segment (exports: fund-<code>)."""
    if not is_code(code):
        raise NotFound("找不到 %(code)s", code=code[:40])
    return code


@bp.app_template_global()
def txn_url(seq: int | None) -> str:
    """Link to one transaction on the public ledger page (its anchor is #seq-N)."""
    if not seq:
        return url_for("disclosure.ledger_view")
    return url_for("disclosure.ledger_view", before=seq + 1, _anchor=f"seq-{seq}")


@bp.app_template_global()
def qr_svg(url: str, scale: int = 4) -> Markup:
    """A QR code of `url` as inline SVG (no JavaScript, prints crisply)."""
    qr = segno.make(url, error="m", micro=False)
    return Markup(qr.svg_inline(scale=scale, title=url, dark="#000", light="#fff",
                                svgclass="qr", lineclass=None))


KIND_NAMES = {
    "donation": lazy_gettext("捐赠"), "pledge_payment": lazy_gettext("企业认捐到账"),
    "allocation": lazy_gettext("企业资助"), "grant": lazy_gettext("基金拨款"),
    "disbursement": lazy_gettext("拨付"), "refund": lazy_gettext("退款"),
    "reversal": lazy_gettext("冲正"), "match": lazy_gettext("配捐"),
    "redirect": lazy_gettext("转捐"),
}


@bp.app_template_global()
def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


@bp.app_template_global()
def txn_rows_key(rows) -> tuple:
    """What a table of ledger rows shows, for its fragment key."""
    return tuple(row.shown for row in rows)


@bp.app_template_global()
def monthly_rows(summary) -> list[tuple[str, tuple[int, int]]]:
    """The last 24 months of (raised for needs, disbursed) for the column chart."""
    return tuple((month, (raised, disbursed)) for month, _in, raised, disbursed
                 in summary.monthly()[-24:])


@bp.app_template_global()
def breakdown_rows(rows, county: bool = False, limit: int = 30):
    return tuple((county_display(b.label) if county else label("category", b.label),
                  (b.funded, b.disbursed))
                 for b in rows[:limit])


bp.add_app_template_global(charts.hbar_chart, "hbar_chart")
bp.add_app_template_global(charts.column_chart, "column_chart")


@bp.app_template_global()
def account_url(label) -> str | None:
    if label.endpoint == "need":
        return url_for("disclosure.need_page", code=label.code)
    if label.endpoint == "fund":
        return url_for("disclosure.fund", code=label.code)
    if label.endpoint == "enterprise":
        return url_for("disclosure.enterprise", code=label.code)
    return None


@bp.get("/")
def index():
    return render_template("disclosure/index.html", platform=totals.platform(db_session()))


@bp.get("/ledger")
def ledger_view():
    kind = request.args.get("kind") or None
    if kind is not None and not re.match(r"^[a-z_]{1,30}$", kind):
        kind = None
    page = ledger_pages.ledger_page(db_session(), before=query_int("before"), kind=kind)
    return render_template("disclosure/ledger.html", page=page)


# Exports read up to a million rows when not yet cached: one budget per client address for
# all of them (EXPORT_RATE_LIMIT), answered with 429 and Retry-After.
DEFAULT_EXPORT_RATE_LIMIT = "30/minute"


def _export_rate_limit() -> str:
    return current_app.config.get("EXPORT_RATE_LIMIT", DEFAULT_EXPORT_RATE_LIMIT)


exports_limit = limiter.shared_limit(_export_rate_limit, scope="exports")


@bp.get("/ledger.jsonl")
@exports_limit
def ledger_jsonl():
    engine = get_engine(current_app.config["SHANLIAN"].database_url)

    def lines():
        # Its own unit of work: the stream outlives the request's session.
        with unit_of_work(engine) as db:
            yield from ledger.export_lines(db)

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": "attachment; filename=shanlian-ledger.jsonl"})


@bp.get("/verify")
def verify():
    seq, head_hash = ledger_head(db_session())
    return render_template("disclosure/verify.html", head_seq=seq, head_hash=head_hash)


@bp.get("/needs/<code:code>")
def need_page(code: str):
    view = need_pages.need_disclosure(db_session(), _code(code), before=query_int("before"))
    return render_template("disclosure/need.html", view=view)


@bp.get("/funds")
def funds():
    page = query_page()
    rows, total = entities.funds_list(db_session(), page=page)
    return render_template("disclosure/funds.html", funds=rows, total=total, page=page,
                           per_page=ledger_pages.PER_PAGE)


@bp.get("/funds/<code:code>")
def fund(code: str):
    view = entities.fund_page(db_session(), _code(code), before=query_int("before"))
    return render_template("disclosure/fund.html", view=view,
                           decisions=fund_decisions(db_session(), view.fund))


@bp.get("/enterprises")
def enterprises():
    return render_template("disclosure/enterprises.html",
                           rows=entities.enterprises_list(db_session()))


@bp.get("/enterprises/<code:code>")
def enterprise(code: str):
    view = entities.enterprise_page(db_session(), _code(code), before=query_int("before"),
                                   page=query_page())
    return render_template("disclosure/enterprise.html", view=view, page=query_page(),
                           per_page=ledger_pages.PER_PAGE)


@bp.get("/programmes/<code:code>")
def programme(code: str):
    page = query_page()
    view = entities.programme_page(db_session(), _code(code), page=page)
    return render_template("disclosure/programme.html", view=view, page=page,
                           per_page=ledger_pages.PER_PAGE)


def _export_source(db, what: str):
    """(file stem, sheet name, columns, rows) for an export name."""
    if what == "needs":
        return "needs", export_rows.NEED_EXPORT_COLUMNS, export_rows.export_needs(db)
    if what == "ledger":
        return "ledger", export_rows.LEDGER_EXPORT_COLUMNS, export_rows.export_ledger(db)
    if what == "funds":
        return "funds", export_rows.FUND_EXPORT_COLUMNS, export_rows.export_funds(db)
    if what == "enterprises":
        return ("enterprises", export_rows.ENTERPRISE_EXPORT_COLUMNS,
                export_rows.export_enterprise_allocations(db))
    if what.startswith("fund-"):
        fund = entities.fund_page(db, _code(what[5:]))  # 404 for an unknown fund
        return (what, export_rows.LEDGER_EXPORT_COLUMNS,
                export_rows.export_ledger(db, accounts=[f"fund:{fund.fund.code}"]))
    if what.startswith("enterprise-"):
        code = _code(what[len("enterprise-"):])
        entities.enterprise_page(db, code)  # 404 for an unknown enterprise
        return (what, export_rows.ENTERPRISE_EXPORT_COLUMNS,
                export_rows.export_enterprise_allocations(db, code))
    raise NotFound("没有名为 %(name)s 的导出", name=what[:40])


def _is_ledger(what: str) -> bool:
    return what == "ledger" or what.startswith("fund-")


@bp.get("/export/<what>.<any(csv, xlsx):fmt>")
@exports_limit
def export(what: str, fmt: str):
    """Built once per data version into a file, then sent from disk (web.export_cache)."""
    db = db_session()
    _export_source(db, what)  # refuse unknown names before anything is built
    version = scope_version(db, SITE, LISTS)

    def write(path):  # in this request's unit of work (SQLite allows one writer-ready txn)
        stem, columns, rows = _export_source(db, what)
        headers = exports.headers_for_people(columns, _is_ledger(what))
        rows = exports.rows_for_people(columns, rows)
        if fmt == "xlsx":
            exports.write_xlsx(path, stem, headers, rows)
        else:
            exports.write_csv(path, headers, rows)

    # Headers follow the visitor's language: one cached file per language.
    path = export_cache.export_file(what, fmt, version, write, language=str(get_locale()))
    response = send_file(path, mimetype=exports.XLSX_TYPE if fmt == "xlsx" else "text/csv",
                         as_attachment=True, download_name=f"shanlian-{what}.{fmt}", max_age=0)
    if fmt != "xlsx":
        response.headers["Content-Type"] = exports.CSV_TYPE
    response.vary.add("Cookie")
    return response


@bp.get("/evidence/<id:id>")
def evidence(id: int):  # noqa: A002 — the URL's name for it
    row, path = evidence_service.evidence_file(
        db_session(), current_app.config["SHANLIAN"].upload_dir, id, PUBLIC_STATES)
    # Revalidated on every use (ETag / Last-Modified): a withdrawn photo must stop showing,
    # so it may not sit in a cache for a year.
    # An invoice (PDF) is a download, never rendered in the site's own origin.
    response = send_file(path, mimetype=row.content_type, max_age=0, conditional=True,
                         as_attachment=row.content_type == "application/pdf",
                         download_name=f"evidence-{row.id}.{path.suffix.lstrip('.')}")
    response.cache_control.no_cache = True
    response.cache_control.public = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@pages.get("/needs/<code:code>/card")
def need_card(code: str):
    view = need_pages.need_view(db_session(), _code(code))
    return render_template("need_card.html", view=view,
                           page_url=site_url("public.need", code=view.need.code))


@bp.app_template_global()
def site_url(endpoint: str, **values) -> str:
    """An absolute link on the configured SITE_URL; the request's Host header is not trusted."""
    return current_app.config["SHANLIAN"].site_url + url_for(endpoint, **values)
