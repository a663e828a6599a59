"""/api/v1/me/…: what a token's organisation or enterprise does through the API, with the
services and rules of the site's forms (needs.posting, needs.uploads): beneficiaries and
微心愿 posted as drafts (public only once a verifier verifies them), submission, evidence
photos; an enterprise's own pledges, open proposals and report."""
from __future__ import annotations

from flask import current_app, g, request, url_for
from spectree import Response
from werkzeug.datastructures import FileStorage

from core.clock import aware
from core.errors import UserError
from core.money import Money
from core.regions import RegionError, county_display
from donors.models import Enterprise
from needs import posting
from needs.duplicates import hash_key
from needs.evidence import MAX_BYTES
from needs.evidence_upload import upload_evidence
from needs.models import Need, Organisation
from readside.enterprise_money import enterprise_money, open_proposals
from readside.keyset import SortKey
from web.api import cursors
from web.api import own_schemas as o
from web.api import schemas as s
from web.api.auth import token_required
from web.api.blueprint import bp
from web.api.idempotent import idempotent
from web.api.problems import ApiProblem, bad_request, not_found
from web.api.serialise import money
from web.api.spec import BEARER, api
from web.converters import CODE_PATTERN as CODE
from web.db import db_session
from web.forms.charity import MAX_AMOUNT

TAGS = ("your organisation or enterprise",)
AUTH = {"HTTP_401": s.Problem, "HTTP_403": s.Problem, "HTTP_429": s.Problem}
WRITE = {**AUTH, "HTTP_400": s.Problem, "HTTP_422": s.Problem}
PER_PAGE = 50
NEWEST_FIRST = (SortKey(Need.id, True),)
IN_ID_ORDER = (SortKey(Need.id),)  # what a cursor of pledges or proposals carries: an id
# Which field of the request a service's refusal is about (else the request as a whole).
SERVICE_FIELDS = (("身份证", "id_number"), ("同意日期", "consent_on"), ("同意", "consent_by"),
                  ("地区", "region"),
                  ("受益人", "beneficiary"), ("心愿物品", "item"), ("标题", "title"),
                  ("金额", "price"), ("类别", "category"), ("说明", "caption"))


def _refused(exc: UserError, prefix: str = "") -> ApiProblem:
    field = "region" if isinstance(exc, RegionError) else next(
        (name for word, name in SERVICE_FIELDS if word in exc.msgid), "body")
    return ApiProblem(422, UserError("请求未被接受"), exc, [(prefix + field, exc)])


def _organisation(token, **_) -> Organisation | None:
    return db_session().get(Organisation, token.organisation_id) if token.organisation_id else None


def _enterprise(token, **_) -> Enterprise | None:
    return db_session().get(Enterprise, token.enterprise_id) if token.enterprise_id else None


def _need(token, code: str, **_) -> Need:
    found = posting.need_by_code(db_session(), code) if CODE.match(code) else None
    if found is None:
        raise not_found(UserError("找不到需求 %(code)s", code=code[:40]))
    return found


def _page(listing: str, keys) -> tuple[int, tuple | None]:
    """The page size asked for and where the page starts (the cursor's keys, or None)."""
    query = request.context.query
    return query.limit or PER_PAGE, cursors.read(query.cursor, listing, {}, keys)


def _next(endpoint: str, listing: str, keys, rows: list, limit: int, key) -> str | None:
    """`rows` holds up to limit + 1: a next page exists when the extra one came back."""
    last = (key(rows[limit - 1]),) if len(rows) > limit else None
    return cursors.next_link(endpoint, listing, {}, keys, last)


def _own_need(need: Need) -> o.OwnNeed:
    beneficiary = posting.beneficiary_code(db_session(), need.beneficiary_id)
    return o.OwnNeed(code=need.code, kind=need.kind, title=need.title, state=need.state,
                     category=need.category, region=county_display(need.region),
                     amount=money(need.amount), funded=money(need.funded),
                     beneficiary=beneficiary, html_url=url_for("public.need", code=need.code))


@bp.get("/v1/me")
@token_required(None)
@api.validate(query=s.Lang, resp=Response(HTTP_200=o.TokenInfo, **AUTH), tags=TAGS,
              security=BEARER)
def me():
    """The token's name, scope and organisation or enterprise, with links to what it may use."""
    token = g.api_token
    owner = _organisation(token) or _enterprise(token)
    links = ({"needs": url_for("api.own_needs"), "post_need": url_for("api.post_need"),
              "beneficiaries": url_for("api.post_beneficiary")} if token.organisation_id else
             {"pledges": url_for("api.own_pledges"), "proposals": url_for("api.own_proposals"),
              "report": url_for("api.own_report")})
    return o.TokenInfo(name=token.name, scope=token.scope, created_at=aware(token.created_at),
                       owner=o.TokenOwner(kind=token.kind, id=owner.id, name=owner.name),
                       links=links)


# ---- organisations -------------------------------------------------------------------

@bp.post("/v1/me/beneficiaries")
@token_required("beneficiary.create", write=True, load=_organisation)
@idempotent
@api.validate(json=o.NewBeneficiary, resp=Response(HTTP_201=o.BeneficiaryCreated, **WRITE),
              tags=TAGS, security=BEARER)
def post_beneficiary(target: Organisation):
    """Register a beneficiary (private fields and consent kept for verifiers; never
    answered back)."""
    person = _add_beneficiary(target, request.context.json, "")
    return o.BeneficiaryCreated(code=person.code, pseudonym=person.pseudonym,
                                age_band=person.age_band,
                                region=county_display(person.region)), 201


def _add_beneficiary(organisation: Organisation, data: o.NewBeneficiary, prefix: str):
    try:
        return posting.add_beneficiary(db_session(), organisation, posting.NewBeneficiary(
            **data.model_dump()), g.api_token.created_by,
            hash_key(debug=current_app.debug or current_app.testing))
    except UserError as exc:
        raise _refused(exc, prefix) from None


@bp.post("/v1/me/needs")
@token_required("need.create", write=True, load=_organisation)
@idempotent
@api.validate(json=o.NewWish, resp=Response(HTTP_201=o.OwnNeed, **WRITE), tags=TAGS,
              security=BEARER)
def post_need(target: Organisation):
    """Post a 微心愿 as a draft (or submitted, with `submit`); public only once verified."""
    data: o.NewWish = request.context.json
    if (data.beneficiary is None) == (data.new_beneficiary is None):
        raise bad_request([(f, UserError("请给出 beneficiary 或 new_beneficiary 之一"))
                           for f in ("beneficiary", "new_beneficiary")])
    price = _price(data.price)
    session = db_session()
    if data.new_beneficiary is not None:
        person = _add_beneficiary(target, data.new_beneficiary, "new_beneficiary.")
    else:
        try:
            person = posting.own_beneficiary_by_code(session, target, data.beneficiary)
        except UserError as exc:
            raise _refused(exc) from None
    try:
        need = posting.post_wish(session, target, g.api_token.created_by,
                                 key=posting.api_post_key(), title=data.title, item=data.item,
                                 price=price, category=data.category, region=data.region,
                                 beneficiary=person, story=data.story, deadline=data.deadline)
        if data.submit:
            posting.submit_need(session, need, g.api_token.created_by)
    except UserError as exc:
        raise _refused(exc) from None
    return _own_need(need), 201, {"Location": url_for("api.own_need", code=need.code)}


def _price(text: str) -> Money:
    try:
        price = Money.parse(text)
    except UserError as exc:
        raise bad_request([("price", exc)]) from None
    if price <= 0 or price > MAX_AMOUNT:
        raise bad_request([("price", UserError("金额必须大于零且不超过 %(max)s",
                                               max=MAX_AMOUNT))])
    return price


@bp.get("/v1/me/needs")
@token_required("need.create", load=_organisation)
@api.validate(query=o.OwnQuery, resp=Response(HTTP_200=o.OwnNeedList, **AUTH), tags=TAGS,
              security=BEARER)
def own_needs(target: Organisation):
    """The organisation's needs in every state (draft, submitted, verified, …), newest
    first, 50 a page (follow `next`)."""
    limit, after = _page("own_needs", NEWEST_FIRST)
    rows, total = posting.needs_page(db_session(), target.id, limit + 1,
                                     before_id=after[0] if after else None)
    return o.OwnNeedList(items=[_own_need(n) for n in rows[:limit]], total=total,
                         next=_next("api.own_needs", "own_needs", NEWEST_FIRST, rows, limit,
                                    lambda n: n.id))


@bp.get("/v1/me/needs/<code>")
@token_required("need.edit", load=_need)
@api.validate(query=s.Lang, resp=Response(HTTP_200=o.OwnNeed, HTTP_404=s.Problem, **AUTH),
              tags=TAGS, security=BEARER)
def own_need(code: str, target: Need):
    """One of the organisation's needs, in whatever state it is."""
    return _own_need(target)


@bp.post("/v1/me/needs/<code>/submit")
@token_required("need.submit", write=True, load=_need)
@idempotent
@api.validate(resp=Response(HTTP_200=o.OwnNeed, HTTP_404=s.Problem, **WRITE), tags=TAGS,
              security=BEARER)
def submit_need(code: str, target: Need):
    """Send a draft to the verifiers (a submitted need stays submitted)."""
    try:
        posting.submit_need(db_session(), target, g.api_token.created_by)
    except UserError as exc:
        raise _refused(exc) from None
    return _own_need(target)


@bp.post("/v1/me/needs/<code>/evidence")
@token_required("evidence.upload", write=True, load=_need)
@idempotent
@api.validate(form=o.EvidenceUpload, resp=Response(HTTP_201=o.EvidenceCreated,
                                                   HTTP_404=s.Problem, **WRITE),
              tags=TAGS, security=BEARER)
def post_evidence(code: str, target: Need):
    """Attach a photo (multipart field `file`): checked by its content, EXIF/GPS removed."""
    upload = request.files.get("file")
    if not isinstance(upload, FileStorage):
        raise bad_request([("file", UserError("请上传文件"))])
    data = upload.read(MAX_BYTES + 1)
    caption = request.context.form.caption
    try:
        row = upload_evidence(db_session(), current_app.config["SHANLIAN"].upload_dir, target,
                              data, upload.filename, caption=caption,
                              shows_face=request.context.form.shows_face,
                              uploaded_by=g.api_token.created_by)
    except UserError as exc:
        raise ApiProblem(422, UserError("文件未被接受"), exc, [("file", exc)]) from None
    return o.EvidenceCreated(id=row.id, need=target.code, content_type=row.content_type,
                             sha256=row.sha256, caption=row.caption,
                             url=url_for("disclosure.evidence", id=row.id)), 201


# ---- enterprises ---------------------------------------------------------------------

@bp.get("/v1/me/pledges")
@token_required("pledge.view", load=_enterprise)
@api.validate(query=o.OwnQuery, resp=Response(HTTP_200=o.PledgeList, **AUTH), tags=TAGS,
              security=BEARER)
def own_pledges(target: Enterprise):
    """The enterprise's pledges: budget, paid in, allocated and (in proportion) disbursed;
    in id order, 50 a page (follow `next`)."""
    limit, after = _page("own_pledges", IN_ID_ORDER)
    report = enterprise_money(db_session(), target)  # an enterprise has a handful of pledges
    rows = [f for f in report.pledges if after is None or f.pledge.id > after[0]][:limit + 1]
    return o.PledgeList(items=[
        o.Pledge(code=f.pledge.code, title=f.pledge.title, status=f.pledge.status,
                 budget=money(f.pledge.budget), paid_in=money(f.pledge.paid_in),
                 allocated=money(f.pledge.allocated), disbursed=money(f.disbursed),
                 period_start=f.pledge.period_start, period_end=f.pledge.period_end)
        for f in rows[:limit]],
        next=_next("api.own_pledges", "own_pledges", IN_ID_ORDER, rows, limit,
                   lambda f: f.pledge.id))


@bp.get("/v1/me/proposals")
@token_required("match.review", load=_enterprise)
@api.validate(query=o.OwnQuery, resp=Response(HTTP_200=o.ProposalList, **AUTH), tags=TAGS,
              security=BEARER)
def own_proposals(target: Enterprise):
    """The matching engine's proposals on the enterprise's pledges awaiting its review, in
    id order, 50 a page (follow `next`)."""
    limit, after = _page("own_proposals", IN_ID_ORDER)
    rows = open_proposals(db_session(), target, after[0] if after else None, limit + 1)
    return o.ProposalList(items=[
        o.Proposal(id=a.id, need=n.code, need_title=n.title, pledge=p.code,
                   amount=money(a.amount), match_run=a.match_run_id, expires_at=aware(a.expires_at),
                   review_due=aware(a.review_due))
        for a, n, p in rows[:limit]],
        next=_next("api.own_proposals", "own_proposals", IN_ID_ORDER, rows, limit,
                   lambda row: row[0].id))


@bp.get("/v1/me/report")
@token_required("pledge.view", load=_enterprise)
@api.validate(query=s.Lang, resp=Response(HTTP_200=o.Report, **AUTH), tags=TAGS,
              security=BEARER)
def own_report(target: Enterprise):
    """The report-back: where the enterprise's money went, by county and by need."""
    r = enterprise_money(db_session(), target)
    return o.Report(enterprise=target.name, budget=money(r.budget), paid_in=money(r.paid_in),
                    allocated=money(r.allocated), disbursed=money(r.disbursed),
                    by_county=[o.CountyLine(county=c, amount=money(a), needs=n)
                               for c, a, n in r.by_county],
                    needs=[o.NeedLine(need=n.code, title=n.title,
                                      county=county_display(n.region), amount=money(a))
                           for n, a in r.needs])
