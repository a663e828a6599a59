"""The database refuses memberships that break the role rules: duplicates (also with NULL
scopes), a role without its scope, a scope the role does not take."""
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import get_engine
from core.users import Membership, User
from donors import services as donors
from funds import services as funds
from tests.integration.helpers import BZ, committed, org


def _ids(url):
    def build(s):
        user = User(email="a@example.org", name="甲")
        s.add(user)
        s.flush()
        return {"user": user.id, "org": org(s).id, "fund": funds.create_fund(s, "基金", BZ).id,
                "firm": donors.create_enterprise(s, "企业", "山东省/滨州市").id}
    return committed(url, build)


def _insert(url, *rows):
    with Session(get_engine(url)) as s:
        for row in rows:
            s.add(row)
            s.flush()
        s.commit()


def _refused(url, *rows):
    with pytest.raises(IntegrityError):
        _insert(url, *rows)


def test_two_identical_global_admins_are_refused(clean_url):
    ids = _ids(clean_url)
    _insert(clean_url, Membership(user_id=ids["user"], role="admin"))
    _refused(clean_url, Membership(user_id=ids["user"], role="admin"))


@pytest.mark.parametrize("role,scope", [
    ("fund_manager", "fund_id"), ("org_admin", "organisation_id"),
    ("enterprise_staff", "enterprise_id"), ("verifier", "region"),
])
def test_scoped_duplicates_are_refused_but_other_scopes_are_fine(clean_url, role, scope):
    ids = _ids(clean_url)
    value = {"fund_id": ids["fund"], "organisation_id": ids["org"],
             "enterprise_id": ids["firm"], "region": "山东省/滨州市"}[scope]
    _insert(clean_url, Membership(user_id=ids["user"], role=role, **{scope: value}))
    _refused(clean_url, Membership(user_id=ids["user"], role=role, **{scope: value}))


def test_a_second_fund_for_the_same_manager_is_accepted(clean_url):
    ids = _ids(clean_url)
    other = committed(clean_url, lambda s: funds.create_fund(s, "另一基金", BZ).id)
    _insert(clean_url, Membership(user_id=ids["user"], role="fund_manager", fund_id=ids["fund"]),
            Membership(user_id=ids["user"], role="fund_manager", fund_id=other))


@pytest.mark.parametrize("role", ["fund_manager", "org_staff", "org_admin", "enterprise_staff",
                                  "enterprise_reviewer", "verifier"])
def test_a_scoped_role_without_its_scope_is_refused(clean_url, role):
    ids = _ids(clean_url)
    _refused(clean_url, Membership(user_id=ids["user"], role=role))


@pytest.mark.parametrize("role,extra", [
    ("fund_manager", {"organisation_id": "org"}),  # a manager with a fund and an organisation
    ("admin", {"fund_id": "fund"}),
    ("donor", {"region": "山东省"}),
    ("verifier", {"enterprise_id": "firm"}),
])
def test_a_scope_the_role_does_not_take_is_refused(clean_url, role, extra):
    ids = _ids(clean_url)
    base = {"fund_manager": {"fund_id": ids["fund"]}, "verifier": {"region": "山东省/滨州市"}}
    scope = dict(base.get(role, {}))
    scope.update({k: ids.get(v, v) for k, v in extra.items()})
    _refused(clean_url, Membership(user_id=ids["user"], role=role, **scope))


def test_an_unknown_role_is_refused(clean_url):
    ids = _ids(clean_url)
    _refused(clean_url, Membership(user_id=ids["user"], role="charity", organisation_id=ids["org"]))
