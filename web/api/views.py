"""GET /api/v1/…: the public, read-only open data. Each view reads through readside/ (the
same parsers and queries as the pages) and answers a document of web.api.schemas."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request, url_for
from spectree import Response

from core.errors import NotFound, UserError
from core.regions import county_display
from funds import checkpoints, transparency
from funds.models import CommunityFund, LedgerTxn
from needs.models import Programme as ProgrammeRow
from readside import api_reads, browse, entities, ledger_pages, need_pages, reference, totals
from readside.keyset import SortKey
from web.api import cursors
from web.api import schemas as s
from web.api.blueprint import bp
from web.api.problems import bad_request, not_found
from web.api.serialise import money, need_detail, need_summary, transaction
from web.api.spec import api, openapi_document, read
from web.converters import CODE_PATTERN as CODE
from web.db import db_session
from web.transparency import ledger_verifier_key

ERRORS = {"HTTP_400": s.Problem, "HTTP_429": s.Problem}
TAGS = ("open data",)

# Which query parameter a refusal of readside.browse's parser is about.
BROWSE_FIELDS = {
    "项目类别（公益计划）“%(value)s”无效": "programme", "需求类型“%(value)s”无效": "kind",
    "领域“%(value)s”无效": "category", "状态“%(value)s”无效": "state",
    "排序方式“%(value)s”无效": "sort", "紧急程度应为 1 到 5": "urgency",
}
NEEDS_PER_PAGE, PER_PAGE = 20, 50
# What the cursors of the other lists carry: the last id (in id order), the seq to go on below.
PROGRAMME_KEYS = (SortKey(ProgrammeRow.id),)
FUND_KEYS = (SortKey(CommunityFund.id),)
LEDGER_KEYS = (SortKey(LedgerTxn.seq, True),)


def _programme_codes() -> dict[int, str]:
    return reference.programme_codes(db_session())


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app._get_current_object()))


@bp.get("/docs")
def docs():
    return render_template("api/docs.html")


@bp.get("/v1/")
@read(s.Lang, resp=Response(HTTP_200=s.Index, **ERRORS), tags=TAGS)
def index():
    """Links to every collection."""
    return s.Index(links={
        "needs": url_for("api.needs"), "programmes": url_for("api.programmes"),
        "funds": url_for("api.funds"), "enterprises": url_for("api.enterprises"),
        "totals": url_for("api.platform_totals"), "ledger": url_for("api.ledger"),
        "checkpoint": url_for("api.checkpoint"), "openapi": url_for("api.openapi")})


@bp.get("/v1/needs")
@read(s.NeedQuery, resp=Response(HTTP_200=s.NeedList, **ERRORS), tags=TAGS)
def needs():
    """Verified needs: the filters, sorts and forgiving search of /needs, 20 a page (`limit`
    up to 100), in keyset pages: follow `next`."""
    session = db_session()
    filter_, errors = browse.parse_need_filter(
        {k: v for k, v in request.args.items() if k != "page"}, _programme_codes().values())
    if errors:
        raise bad_request([(BROWSE_FIELDS.get(e.msgid, "region"), e) for e in errors])
    sort = filter_.effective_sort
    args = filter_.query_args()
    keys = need_pages.keys_for(sort)
    after = cursors.read(request.context.query.cursor, f"needs:{sort}", args, keys)
    found = api_reads.needs_after(session, filter_, after,
                                  request.context.query.limit or NEEDS_PER_PAGE)
    codes = _programme_codes() if found.rows else {}
    return s.NeedList(
        items=[need_summary(n, codes) for n in found.rows], total=found.total,
        truncated=found.truncated,
        next=cursors.next_link("api.needs", f"needs:{sort}", args, keys, found.last))


@bp.get("/v1/needs/<code>")
@read(s.Lang, resp=Response(HTTP_200=s.NeedDetail, HTTP_404=s.Problem, **ERRORS),
      tags=TAGS)
def need(code: str):
    """One need with its allocations, grants, disbursements, evidence and milestones."""
    if not CODE.match(code):
        raise not_found(UserError("找不到需求 %(code)s", code=code[:40]))
    session = db_session()
    try:
        detail = api_reads.need_detail(session, code)
    except NotFound as missing:
        raise not_found(missing) from None
    organisation = reference.organisation(session, detail.need.organisation_id)
    return need_detail(detail, _programme_codes(), organisation.name if organisation else "")


@bp.get("/v1/programmes")
@read(s.PageQuery, resp=Response(HTTP_200=s.ProgrammeList, **ERRORS), tags=TAGS)
def programmes():
    """Every programme with its needs' totals, 50 a page (follow `next`)."""
    limit = request.context.query.limit or PER_PAGE
    after = cursors.read(request.context.query.cursor, "programmes", {}, PROGRAMME_KEYS)
    rows = totals.programmes_with_totals(db_session(), after[0] if after else None, limit + 1)
    more = (rows[limit - 1][0].id,) if len(rows) > limit else None
    return s.ProgrammeList(items=[
        s.Programme(code=p.code, name=p.name, summary=p.summary, organiser=p.organiser,
                    region=county_display(p.region), needs=int(n), amount=money(amount),
                    funded=money(funded),
                    url=url_for("disclosure.programme", code=p.code))
        for p, n, amount, funded in rows[:limit]],
        next=cursors.next_link("api.programmes", "programmes", {}, PROGRAMME_KEYS, more))


@bp.get("/v1/funds")
@read(s.PageQuery, resp=Response(HTTP_200=s.FundList, **ERRORS), tags=TAGS)
def funds():
    """Community funds, 50 a page (follow `next`)."""
    limit = request.context.query.limit or PER_PAGE
    after = cursors.read(request.context.query.cursor, "funds", {}, FUND_KEYS)
    rows, total = entities.funds_list(db_session(), per_page=limit + 1,
                                      after_id=after[0] if after else 0)
    more = (rows[limit - 1].id,) if len(rows) > limit else None
    codes = _programme_codes()
    return s.FundList(
        items=[s.Fund(code=f.code, name=f.name, region=county_display(f.region),
                      programme=codes.get(f.programme_id) if f.programme_id else None,
                      balance=money(f.balance),
                      per_grant_cap=money(f.per_grant_cap) if f.per_grant_cap else None,
                      need_kinds=list(f.need_kinds or []),
                      html_url=url_for("disclosure.fund", code=f.code)) for f in rows[:limit]],
        total=total, next=cursors.next_link("api.funds", "funds", {}, FUND_KEYS, more))


@bp.get("/v1/enterprises")
@read(s.PageQuery, resp=Response(HTTP_200=s.EnterpriseList, **ERRORS), tags=TAGS)
def enterprises():
    """Approved donor enterprises with what they pledged and paid in, most money first, 50 a
    page (follow `next`)."""
    limit = request.context.query.limit or PER_PAGE
    keys = entities.ENTERPRISE_KEYS
    after = cursors.read(request.context.query.cursor, "enterprises", {}, keys)
    rows = entities.enterprises_list(db_session(), after, limit + 1)
    more = entities.enterprise_key(rows[limit - 1]) if len(rows) > limit else None
    return s.EnterpriseList(items=[
        s.Enterprise(code=e.code, name=e.name, region=county_display(e.region), pledged=money(budget),
                     paid_in=money(paid), html_url=url_for("disclosure.enterprise", code=e.code))
        for e, budget, paid, _given in rows[:limit]],
        next=cursors.next_link("api.enterprises", "enterprises", {}, keys, more))


@bp.get("/v1/totals")
@read(s.Lang, resp=Response(HTTP_200=s.Totals, **ERRORS), tags=TAGS)
def platform_totals():
    """Money in, matched, disbursed and held; funds and their balance."""
    t = totals.platform_totals(db_session())
    return s.Totals(needs=t.needs, money_in=money(t.money_in), matched=money(t.matched),
                    disbursed=money(t.disbursed), held=money(t.held), funds=t.funds,
                    fund_balance=money(t.fund_balance),
                    enterprises_paid=money(t.enterprises_paid))


@bp.get("/v1/ledger")
@read(s.LedgerQuery, resp=Response(HTTP_200=s.LedgerPage, **ERRORS), tags=TAGS)
def ledger():
    """The ledger, newest first, in keyset pages of 50 (`limit` up to 100; follow `next`)."""
    query = request.context.query  # as validated
    args = {"kind": query.kind} if query.kind else {}
    after = cursors.read(query.cursor, "ledger", args, LEDGER_KEYS)
    before = after[0] if after else query.before
    page = ledger_pages.ledger_page(db_session(), before, query.kind,
                                    per_page=query.limit or PER_PAGE)
    return s.LedgerPage(items=[transaction(row) for row in page.rows], head=page.head,
                        next=cursors.next_link("api.ledger", "ledger", args, LEDGER_KEYS,
                                   (page.older,) if page.older else None))


@bp.get("/v1/checkpoint")
@read(s.Lang, resp=Response(HTTP_200=s.Checkpoint, HTTP_404=s.Problem, **ERRORS),
      tags=TAGS)
def checkpoint():
    """The latest signed checkpoint of the ledger's Merkle tree, and the key to check it."""
    latest = checkpoints.latest(db_session())
    if latest is None:
        raise not_found(UserError("尚未签发检查点，请一分钟后再试"))
    return s.Checkpoint(origin=latest.origin, size=latest.size, root=latest.root,
                        issued_at=latest.issued_at, note=latest.note,
                        verifier_key=ledger_verifier_key())


@bp.get("/v1/proof/inclusion")
@read(s.InclusionQuery,
      resp=Response(HTTP_200=s.InclusionProof, HTTP_404=s.Problem, **ERRORS), tags=TAGS)
def inclusion_proof():
    """Transaction `seq` is in the tree of `size` transactions (within the latest checkpoint)."""
    query = request.context.query
    return s.InclusionProof(**_proof(lambda: transparency.inclusion(
        db_session(), query.seq, query.size), "seq"))


@bp.get("/v1/proof/consistency")
@api.validate(query=s.ConsistencyQuery,
              resp=Response(HTTP_200=s.ConsistencyProof, HTTP_404=s.Problem, **ERRORS),
              tags=TAGS)
def consistency_proof():
    """The tree of `from` transactions is a prefix of the tree of `to` (no rewrite)."""
    query = request.context.query
    proof = s.ConsistencyProof(**_proof(lambda: transparency.consistency(
        db_session(), query.from_, query.to), "from"))
    return jsonify(proof.model_dump(mode="json", by_alias=True))  # "from", as the contract says


def _proof(make, field: str) -> dict:
    """The same proofs as /disclosure/proof/…; refusals as problems naming the field."""
    try:
        return make()
    except NotFound as missing:
        raise not_found(missing) from None
    except UserError as bad:
        raise bad_request([(field, bad)]) from None


@bp.route("/v1/<path:_rest>")
def unknown(_rest: str):
    raise not_found()
