"""Organisation staff post the other kinds of need, as drafts, in the style of the 微心愿
(needs/posting.py): a 项目 with its period and budget lines, a 慈心助学 sponsorship (one
need per school year, ¥10,000 by default, for a student entered as a beneficiary), and a
小急难 micro-grant request addressed to a community fund, whose grant is proposed to the
fund's managers when a verifier verifies the request (`propose_requested_grant`).

Each takes the form's one-time key: the same form sent twice returns what the first send
created. Projects and sponsorships raise from the public, so they name the organisation
holding 公募资格 and the fundraising plan's filing number (needs/fundraising.py)."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from core.audit import record
from core.clock import today
from core.errors import UserError
from core.money import Money, require_positive
from core.regions import within
from funds.models import Allocation, CommunityFund
from needs import services
from needs.fundraising import holder_for
from needs.grant_rules import approval_count
from needs.models import Beneficiary, Need, NeedPostKey, Organisation
from needs.posting import need_for_key, require_approved
from needs.transfers import propose_grant

SPONSORSHIP_YEAR = Money.yuan(10_000)  # 慈心助学: ¥10,000 per student per school year
MAX_YEARS = 6
MAX_BUDGET_LINES = 30
MAX_MILESTONES = 20
OPEN_GRANT_STATES = ("proposed", "approved", "executed")


def _check_key(session: Session, key: str) -> Need | None:
    existing = need_for_key(session, key)
    if existing is None and (not key or len(key) > 60):
        raise UserError("表单已失效，请重新打开")
    return existing


def _posted(session: Session, need: Need, key: str, actor_id: int | None, **detail) -> Need:
    need.posted_by = actor_id
    session.add(need)
    session.add(NeedPostKey(key=key, need_id=need.id))
    session.flush()
    record(session, "need.post", f"need:{need.code}", actor_id, **detail)
    return need


def check_budget(lines: list[tuple[str, Money]], amount: Money) -> list[list]:
    """Budget lines as stored ([[item, fen], ...]); they must add up to the amount."""
    if len(lines) > MAX_BUDGET_LINES:
        raise UserError("预算最多 %(n)s 行", n=MAX_BUDGET_LINES)
    if lines and sum(int(fen) for _item, fen in lines) != int(amount):
        raise UserError("预算合计 %(total)s 与目标金额 %(amount)s 不一致",
                        total=Money.fen(sum(int(f) for _i, f in lines)), amount=amount)
    return [[item, int(require_positive(fen))] for item, fen in lines]


def post_project(session: Session, organisation: Organisation, actor_id: int | None, *,
                 key: str, title: str, amount: Money, category: str, region: str,
                 period_start: date | None, period_end: date | None,
                 budget: list[tuple[str, Money]], holder_id: int | None, filing: str,
                 story: str = "", people: int = 1,
                 milestones: list[tuple[str, date]] = ()) -> Need:
    """A 项目 draft: a target amount, funded in parts, over an implementation period, with
    its milestones (title, due date) inside that period."""
    require_approved(organisation)
    existing = _check_key(session, key)
    if existing is not None:
        return existing
    if period_start is None or period_end is None:
        raise UserError("请填写实施周期的开始和结束日期")
    if period_end < period_start:
        raise UserError("结束日期不能早于开始日期")
    if period_end < today():
        raise UserError("实施周期已经结束，不能再募集")
    lines = check_budget(budget, require_positive(amount))
    check_milestones(milestones, period_start, period_end)
    holder, filing = holder_for(session, organisation, holder_id, filing)
    need = services.create_need(session, organisation, kind="project", title=title,
                                amount=amount, category=category, region=region, story=story,
                                people=people, deadline=period_end)
    need.period_start, need.period_end, need.budget = period_start, period_end, lines
    need.fundraiser_id, need.fundraising_filing = holder.id, filing
    services.add_milestones(session, need, [(title.strip(), 0, due) for title, due in milestones])
    return _posted(session, need, key, actor_id, kind="project")


def check_milestones(milestones: list[tuple[str, date]], start: date, end: date) -> None:
    if len(milestones) > MAX_MILESTONES:
        raise UserError("里程碑最多 %(n)s 个", n=MAX_MILESTONES)
    for title, due in milestones:
        if not title.strip() or len(title.strip()) > 200:
            raise UserError("里程碑名称不能为空，最多 200 字")
        if not start <= due <= end:
            raise UserError("里程碑日期须在实施周期内")


def school_year(first: int) -> str:
    return f"{first}-{first + 1}"


def post_sponsorship(session: Session, organisation: Organisation, actor_id: int | None, *,
                     key: str, title: str, beneficiary: Beneficiary, first_year: int,
                     years: int, per_year: Money, region: str, holder_id: int | None,
                     filing: str, story: str = "") -> list[Need]:
    """慈心助学 drafts: one whole-funded need per school year for one student."""
    require_approved(organisation)
    existing = _check_key(session, key)
    if existing is not None:
        return _sponsorships_for_key(session, key, existing)
    if beneficiary.organisation_id != organisation.id:
        raise UserError("请选择本机构登记的受益人")
    if not isinstance(years, int) or not 1 <= years <= MAX_YEARS:
        raise UserError("资助年数须为 1 至 %(n)s 年", n=MAX_YEARS)
    this_year = today().year
    if not isinstance(first_year, int) or not this_year - 1 <= first_year <= this_year + 1:
        raise UserError("第一个学年须从 %(low)s 至 %(high)s 年之间开始",
                        low=this_year - 1, high=this_year + 1)
    require_positive(per_year)
    holder, filing = holder_for(session, organisation, holder_id, filing)
    wanted = [school_year(first_year + i) for i in range(years)]
    taken = session.exec(select(Need.school_year).where(
        Need.kind == "sponsorship", Need.beneficiary_id == beneficiary.id,
        Need.school_year.in_(wanted),
        Need.state.not_in(("rejected", "cancelled", "expired")))).first()
    if taken:
        raise UserError("这位学生 %(year)s 学年已有助学需求", year=taken)
    needs = []
    for i, year in enumerate(wanted):
        need = services.create_need(
            session, organisation, kind="sponsorship", title=f"{title.strip()}（{year}学年）",
            amount=per_year, category="助学", region=region, story=story,
            beneficiary=beneficiary)
        need.school_year, need.fundraiser_id, need.fundraising_filing = year, holder.id, filing
        needs.append(_posted(session, need, key if i == 0 else f"{key}:{i}", actor_id,
                             kind="sponsorship", school_year=year))
    return needs


def _sponsorships_for_key(session: Session, key: str, first: Need) -> list[Need]:
    rest = [need_for_key(session, f"{key}:{i}") for i in range(1, MAX_YEARS)]
    return [first, *(n for n in rest if n is not None)]


def funds_for(session: Session, organisation: Organisation) -> list[CommunityFund]:
    """The community funds an organisation may ask: those in its area or containing it."""
    rows = session.exec(select(CommunityFund).order_by(CommunityFund.region,
                                                       CommunityFund.name)).all()
    return [f for f in rows if within(f.region, organisation.region)
            or within(organisation.region, f.region)]


def check_fund_allows(fund: CommunityFund, region: str, amount: Money) -> None:
    """What the fund's own rules already say about a request (needs.funding.fund_rules
    checks them again when the grant moves money)."""
    if not within(region, fund.region):
        raise UserError("需求地区不在%(fund)s的资助范围内", fund=fund.name)
    if fund.need_kinds and "microgrant" not in fund.need_kinds:
        raise UserError("%(fund)s不资助小急难", fund=fund.name)
    if fund.per_grant_cap is not None and amount > fund.per_grant_cap:
        raise UserError("超过%(fund)s的单笔上限（%(cap)s）", fund=fund.name,
                        cap=Money.fen(fund.per_grant_cap))


def post_microgrant(session: Session, organisation: Organisation, actor_id: int | None, *,
                    key: str, title: str, amount: Money, fund_id: int | None, urgency: int,
                    category: str, region: str, story: str = "",
                    beneficiary: Beneficiary | None = None) -> Need:
    """A 小急难 request draft addressed to one community fund."""
    require_approved(organisation)
    existing = _check_key(session, key)
    if existing is not None:
        return existing
    fund = session.get(CommunityFund, fund_id) if isinstance(fund_id, int) else None
    if fund is None or fund not in funds_for(session, organisation):
        raise UserError("请选择本机构所在地区的社区基金")
    if beneficiary is not None and beneficiary.organisation_id != organisation.id:
        raise UserError("请选择本机构登记的受益人")
    check_fund_allows(fund, region, require_positive(amount))
    need = services.create_need(session, organisation, kind="microgrant", title=title,
                                amount=amount, category=category, region=region, story=story,
                                urgency=urgency, beneficiary=beneficiary)
    need.fund_id = fund.id
    return _posted(session, need, key, actor_id, kind="microgrant", fund=fund.code)


def propose_requested_grant(session: Session, need: Need) -> None:
    """A verified 小急难 request goes to its fund's grant queue, once. A re-verified request
    keeps the grant already proposed or paid; a proposed one no manager has approved yet
    follows an edited amount."""
    if need.kind != "microgrant" or need.fund_id is None:
        return
    already = session.exec(select(Allocation).where(
        Allocation.need_id == need.id, Allocation.fund_id == need.fund_id,
        Allocation.status.in_(OPEN_GRANT_STATES))).first()
    if already is not None:
        if (already.status == "proposed" and already.amount != need.open_amount
                and approval_count(session, already) == 0):
            record(session, "grant.amend", f"need:{need.code}", need.posted_by,
                   transfer=already.id, old=already.amount, new=need.open_amount)
            already.amount = need.open_amount
            session.add(already)
            session.flush()
        return
    propose_grant(session, session.get(CommunityFund, need.fund_id), need,
                  Money.fen(need.open_amount), reason="小急难申请（已核实）",
                  requested_by=need.posted_by)
