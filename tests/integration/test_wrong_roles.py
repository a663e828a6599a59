"""For every route of accounts, onboarding and admin: the right person gets in and a
person of a wrong role (a donor on an admin page, an org admin of another organisation,
an enterprise reviewer of another enterprise, a verifier of another region) is refused."""
from __future__ import annotations

import pytest

from core.db import get_engine, unit_of_work
from donors import services as donor_services
from needs import services as need_services
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.onboarding_helpers import form


@pytest.fixture
def world(clean_url):
    with unit_of_work(get_engine(clean_url)) as s:
        org = need_services.create_organisation(s, "滨州市慈善总会", "山东省/滨州市/滨城区",
                                                status="approved")
        other_org = need_services.create_organisation(s, "潍坊市慈善总会", "山东省/潍坊市/奎文区",
                                                      status="approved")
        firm = donor_services.create_enterprise(s, "滨州某某科技有限公司", "山东省/滨州市")
        other_firm = donor_services.create_enterprise(s, "潍坊某某食品有限公司", "山东省/潍坊市")
        ids = {"org": org.id, "other_org": other_org.id, "firm": firm.id,
               "other_firm": other_firm.id}
    people = {
        "admin": make_user(clean_url, "admin@b.cn", ("admin", {})),
        "donor": make_user(clean_url, "donor@b.cn", ("donor", {})),
        "org_admin": make_user(clean_url, "oa@b.cn", ("org_admin", {"organisation_id": ids["org"]})),
        "other_org_admin": make_user(clean_url, "oa2@b.cn",
                                     ("org_admin", {"organisation_id": ids["other_org"]})),
        "org_staff": make_user(clean_url, "os@b.cn", ("org_staff", {"organisation_id": ids["org"]})),
        "reviewer": make_user(clean_url, "er@b.cn",
                              ("enterprise_reviewer", {"enterprise_id": ids["firm"]})),
        "other_reviewer": make_user(clean_url, "er2@b.cn",
                                    ("enterprise_reviewer", {"enterprise_id": ids["other_firm"]})),
        "verifier_weifang": make_user(clean_url, "v@b.cn", ("verifier", {"region": "山东省/潍坊市"})),
    }
    app = make_app(clean_url)
    applicant = app.test_client()
    sign_in(applicant, people["donor"])
    assert applicant.post("/onboarding/apply", data=form(),
                          content_type="multipart/form-data").status_code == 303
    return app, ids, people


# (method, URL template, right person, wrong people, data for a POST)
TABLE = [
    ("GET", "/admin/applications", "admin", ["donor", "org_admin", "verifier_weifang"], None),
    ("GET", "/admin/applications/1", "admin", ["donor", "org_admin", "reviewer"], None),
    ("GET", "/admin/applications/1/certificate", "admin", ["donor", "org_staff"], None),
    ("POST", "/admin/applications/1/reject", "admin", ["donor", "org_admin", "verifier_weifang"],
     {"reason": "材料不全"}),
    ("GET", "/admin/users", "admin", ["donor", "org_admin", "reviewer"], None),
    ("GET", "/admin/users/2", "admin", ["donor", "org_admin"], None),
    ("POST", "/admin/users/2/grant", "admin", ["donor", "org_admin", "verifier_weifang"],
     {"role": "verifier", "region": "山东省/滨州市"}),
    ("GET", "/admin/audit", "admin", ["donor", "org_admin", "verifier_weifang"], None),
    ("GET", "/dev/outbox/", "admin", ["donor", "org_admin"], None),
    ("GET", "/onboarding/organisations/{org}/invite", "org_admin",
     ["other_org_admin", "org_staff", "donor", "reviewer", "admin"], None),
    ("POST", "/onboarding/organisations/{org}/invite", "org_admin",
     ["other_org_admin", "org_staff", "verifier_weifang"], {"email": "new@b.cn"}),
    ("GET", "/onboarding/enterprises/{firm}/invite", "reviewer",
     ["other_reviewer", "org_admin", "donor"], None),
    ("POST", "/onboarding/enterprises/{firm}/invite", "reviewer",
     ["other_reviewer", "org_admin"], {"email": "new@b.cn"}),
]


@pytest.mark.parametrize("method,template,right,wrong,data", TABLE,
                         ids=[f"{m} {t}" for m, t, *_ in TABLE])
def test_the_right_person_gets_in_and_wrong_roles_are_refused(world, method, template, right,
                                                              wrong, data):
    app, ids, people = world
    url = template.format(**ids)
    for who in wrong:
        client = app.test_client()
        sign_in(client, people[who])
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, (who, url, response.status_code)
    client = app.test_client()
    sign_in(client, people[right])
    response = client.open(url, method=method, data=data)
    assert response.status_code in (200, 303), (right, url, response.status_code)


def test_the_revoke_route_too(world):
    app, _ids, people = world
    from sqlmodel import Session, select

    from core.users import Membership
    with Session(get_engine(app.config["SHANLIAN"].database_url)) as s:
        membership = s.exec(select(Membership).where(
            Membership.user_id == people["org_staff"])).one()
    url = f"/admin/users/{people['org_staff']}/memberships/{membership.id}/revoke"
    for who in ("donor", "org_admin", "verifier_weifang"):
        client = app.test_client()
        sign_in(client, people[who])
        assert client.post(url).status_code == 403
    client = app.test_client()
    sign_in(client, people["admin"])
    assert client.post(url).status_code == 303
    with Session(get_engine(app.config["SHANLIAN"].database_url)) as s:
        assert s.get(Membership, membership.id) is None
