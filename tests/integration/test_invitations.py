"""An org admin (or an enterprise reviewer) invites staff by mail; the link creates or
links the account and grants the staff role, once."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session, select

from core.db import get_engine, unit_of_work
from core.users import Membership, User
from donors import services as donor_services
from needs import services as need_services
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.mailbox import inbox  # noqa: F401 — the fixture


def _org(url, status="approved"):
    with unit_of_work(get_engine(url)) as s:
        return need_services.create_organisation(s, "滨州市慈善总会", "山东省/滨州市/滨城区",
                                                 status=status).id


def _memberships(url, email):
    with Session(get_engine(url)) as s:
        user = s.exec(select(User).where(User.email == email)).first()
        if user is None:
            return None
        return [(m.role, m.organisation_id, m.enterprise_id) for m in
                s.exec(select(Membership).where(Membership.user_id == user.id))]


def test_an_invited_newcomer_gets_an_account_and_the_staff_role_once(clean_url, inbox):  # noqa: F811
    org_id = _org(clean_url)
    admin_id = make_user(clean_url, "boss@b.cn", ("org_admin", {"organisation_id": org_id}))
    app = make_app(clean_url)
    client = app.test_client()
    sign_in(client, admin_id)
    response = client.post(f"/onboarding/organisations/{org_id}/invite",
                           data={"email": "New.Staff@b.cn"})
    assert response.status_code == 200 and "邀请已发送" in response.get_data(as_text=True)
    assert inbox.messages[-1]["To"] == "new.staff@b.cn"
    path = urlsplit(inbox.link()).path
    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200 and "滨州市慈善总会" in page.get_data(as_text=True)
    short = newcomer.post(path, data={"name": "王社工", "password": "short"})
    assert short.status_code == 422 and _memberships(clean_url, "new.staff@b.cn") is None
    done = newcomer.post(path, data={"name": "王社工", "password": "long enough password"})
    assert done.status_code == 303
    assert _memberships(clean_url, "new.staff@b.cn") == [("org_staff", org_id, None)]
    # The link again (a double submit, a second click) grants nothing more.
    assert newcomer.post(path, data={}).status_code == 303
    assert _memberships(clean_url, "new.staff@b.cn") == [("org_staff", org_id, None)]


def test_an_existing_account_is_linked(clean_url, inbox):  # noqa: F811
    org_id = _org(clean_url)
    admin_id = make_user(clean_url, "boss@b.cn", ("org_admin", {"organisation_id": org_id}))
    make_user(clean_url, "donor@b.cn", ("donor", {}))
    client = make_app(clean_url).test_client()
    sign_in(client, admin_id)
    client.post(f"/onboarding/organisations/{org_id}/invite", data={"email": "donor@b.cn"})
    other = make_app(clean_url).test_client()
    assert other.post(urlsplit(inbox.link()).path, data={}).status_code == 303
    assert sorted(_memberships(clean_url, "donor@b.cn")) == [("donor", None, None),
                                                             ("org_staff", org_id, None)]


def test_an_enterprise_reviewer_invites_enterprise_staff(clean_url, inbox):  # noqa: F811
    with unit_of_work(get_engine(clean_url)) as s:
        firm_id = donor_services.create_enterprise(s, "滨州某某科技有限公司", "山东省/滨州市").id
    reviewer = make_user(clean_url, "rev@b.cn", ("enterprise_reviewer", {"enterprise_id": firm_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, reviewer)
    assert client.post(f"/onboarding/enterprises/{firm_id}/invite",
                       data={"email": "clerk@b.cn"}).status_code == 200
    newcomer = make_app(clean_url).test_client()
    newcomer.post(urlsplit(inbox.link()).path, data={"name": "赵会计",
                                                     "password": "long enough password"})
    assert _memberships(clean_url, "clerk@b.cn") == [("enterprise_staff", None, firm_id)]


def test_bad_invitations_are_refused(clean_url, inbox):  # noqa: F811
    org_id = _org(clean_url)
    pending_id = None
    with unit_of_work(get_engine(clean_url)) as s:
        pending_id = need_services.create_organisation(s, "待审核机构", "山东省/滨州市").id
    admin_id = make_user(clean_url, "boss@b.cn", ("org_admin", {"organisation_id": org_id}),
                         ("org_admin", {"organisation_id": pending_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, admin_id)
    client.set_cookie("lang", "en")
    bad = client.post(f"/onboarding/organisations/{org_id}/invite", data={"email": "nope"})
    assert bad.status_code == 422 and "valid email" in bad.get_data(as_text=True)
    pending = client.post(f"/onboarding/organisations/{pending_id}/invite",
                          data={"email": "x@b.cn"})
    assert pending.status_code == 422
    assert inbox.messages == []
    forged = make_app(clean_url).test_client().get("/account/invitation/forged.token")
    assert forged.status_code == 400
