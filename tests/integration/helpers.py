"""Small builders for integration tests: a verified need, a fund with money, a donor."""
from core.db import get_engine, unit_of_work
from donors import services as donors
from funds import services as funds
from needs import services as needs

BZ = "山东省/滨州市/邹平市/黄山街道/齐明社区"


def org(session):
    return needs.create_organisation(session, "测试机构", "山东省/滨州市/邹平市", status="approved")


def verified_need(session, organisation, kind="wish", amount=15_000, **kw):
    kw.setdefault("category", "助学")
    kw.setdefault("region", BZ)
    need = needs.create_need(session, organisation, kind=kind, title=kw.pop("title", "一个书包"),
                             amount=amount, **kw)
    needs.submit(session, need)
    needs.verify(session, need)
    return need


def fund_with(session, balance, cap=None):
    fund = funds.create_fund(session, "齐明社区基金", BZ, per_grant_cap=cap)
    firm = donors.create_enterprise(session, f"企业{fund.id}", "山东省/滨州市")
    donors.enterprise_gift_to_fund(session, firm, fund, balance)
    return fund


def committed(url, build):
    """Run `build(session)` in its own committed unit of work and return its result."""
    with unit_of_work(get_engine(url)) as session:
        return build(session)


def fund_manager(session, fund, email=None):
    """A user who manages `fund` (grants need a manager's approval)."""
    from core.users import Membership, User

    user = User(email=email or f"manager{fund.id}-{fund.code}@example.org", name="基金管理员")
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, role="fund_manager", fund_id=fund.id))
    session.flush()
    return user
