"""The policy matrix: each role may do its own actions, on its own scope, and nothing
else; the public and unknown roles may do nothing."""
import pytest

from core import policy
from core.policy import POLICY, Principal, can
from core.users import ROLES, Membership
from donors.models import Enterprise, Pledge
from funds.models import Allocation, CommunityFund
from needs.models import Need, Organisation

BZ = "山东省/滨州市/邹平市/黄山街道/齐明社区"
WF = "山东省/潍坊市/奎文区"

ORG = Organisation(id=1, code="O-1", name="机构", region=BZ)
OTHER_ORG = Organisation(id=2, code="O-2", name="别的机构", region=WF)
NEED = Need(id=10, organisation_id=1, region=BZ, kind="wish", title="书包", amount=15000,
            category="助学")
NEED_WF = Need(id=11, organisation_id=2, region=WF, kind="wish", title="书包", amount=15000,
               category="助学")
FIRM = Enterprise(id=5, code="E-5", name="企业", region="山东省/滨州市")
PLEDGE = Pledge(id=7, enterprise_id=5, budget=100)
OTHER_PLEDGE = Pledge(id=8, enterprise_id=6, budget=100)
FUND = CommunityFund(id=3, code="F-3", name="齐明社区基金", region=BZ)
GRANT = Allocation(id=20, need_id=10, fund_id=3, amount=100)
OTHER_GRANT = Allocation(id=21, need_id=10, fund_id=4, amount=100)


def who(role, **scope):
    return Principal(user_id=1, memberships=(Membership(user_id=1, role=role, **scope),))


@pytest.mark.parametrize("person,action,obj,expected", [
    (who("donor"), "donation.create", None, True),
    (who("donor"), "need.verify", NEED, False),
    (who("org_staff", organisation_id=1), "need.create", ORG, True),
    (who("org_staff", organisation_id=1), "need.edit", NEED, True),
    (who("org_staff", organisation_id=1), "need.edit", NEED_WF, False),
    (who("org_staff", organisation_id=1), "disbursement.record", NEED, True),
    (who("org_staff", organisation_id=2), "disbursement.record", NEED, False),
    (who("org_admin", organisation_id=1), "disbursement.record", NEED, True),
    (who("org_admin", organisation_id=1), "organisation.manage_staff", OTHER_ORG, False),
    (who("verifier", region="山东省/滨州市"), "need.verify", NEED, True),
    (who("verifier", region="山东省/滨州市/邹平市"), "need.verify", NEED, True),
    (who("verifier", region="山东省/滨州市"), "need.verify", NEED_WF, False),
    (who("verifier", region="山东省/滨州"), "need.verify", NEED, False),  # whole segments only
    (who("verifier", region="山东省/滨州市"), "need.verify", None, False),
    (who("verifier", region="山东省/滨州市"), "beneficiary.view_private", NEED, True),
    (who("enterprise_staff", enterprise_id=5), "pledge.create", FIRM, True),
    (who("enterprise_staff", enterprise_id=5), "match.review", PLEDGE, False),
    (who("enterprise_reviewer", enterprise_id=5), "match.review", PLEDGE, True),
    (who("enterprise_reviewer", enterprise_id=5), "match.review", OTHER_PLEDGE, False),
    (who("fund_manager", fund_id=3), "grant.approve", GRANT, True),
    (who("fund_manager", fund_id=3), "grant.approve", OTHER_GRANT, False),
    (who("fund_manager", fund_id=3), "fund.view_queue", FUND, True),
    (who("fund_manager", fund_id=3), "need.verify", NEED, False),
    (who("admin"), "organisation.approve", OTHER_ORG, True),
    (who("admin"), "grant.approve", GRANT, False),  # admins are not fund managers
    (who("admin"), "need.verify", NEED, False),
    (None, "donation.create", None, False),
])
def test_matrix(person, action, obj, expected):
    assert can(person, action, obj) is expected


def test_every_action_names_only_known_roles_and_scopes():
    scopes = {policy.ANYWHERE, policy.ORGANISATION, policy.ENTERPRISE, policy.FUND, policy.REGION}
    for action, roles in POLICY.items():
        assert roles, action
        assert set(roles) <= set(ROLES), action
        assert set(roles.values()) <= scopes, action


def test_a_person_with_no_membership_may_do_nothing():
    nobody = Principal(user_id=1)
    assert [a for a in POLICY if can(nobody, a, NEED)] == []


def test_an_unknown_action_is_an_error_not_a_silent_no():
    with pytest.raises(ValueError):
        can(who("admin"), "need.delete_everything")


def test_two_memberships_add_up():
    both = Principal(user_id=1, memberships=(
        Membership(user_id=1, role="fund_manager", fund_id=3),
        Membership(user_id=1, role="verifier", region="山东省/滨州市")))
    assert can(both, "grant.approve", GRANT) and can(both, "need.verify", NEED)
    assert not can(both, "grant.approve", OTHER_GRANT)
