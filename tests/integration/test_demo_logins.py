"""`make run`'s demo: one login per role, each signs in with the known password and lands
on a real organisation, enterprise, fund or region; the admin has an application to decide."""
from __future__ import annotations

from sqlmodel import Session, select

from core.db import get_engine
from core.users import Membership, User
from demo.h8a_data import PASSWORD
from donors.applications import OnboardingApplication
from donors.models import Enterprise
from funds.models import CommunityFund
from needs.models import Organisation

EXPECTED = {
    "donor@demo.shanlian": "donor",
    "enterprise-staff@demo.shanlian": "enterprise_staff",
    "enterprise-reviewer@demo.shanlian": "enterprise_reviewer",
    "org-staff@demo.shanlian": "org_staff",
    "org-admin@demo.shanlian": "org_admin",
    "verifier@demo.shanlian": "verifier",
    "fund-manager@demo.shanlian": "fund_manager",
    "admin@demo.shanlian": "admin",
}


def test_every_role_has_a_demo_login_that_signs_in(demo_app, demo_url):
    for email in EXPECTED:
        client = demo_app.test_client()
        response = client.post("/account/sign-in", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303, email
        home = client.get("/account/").get_data(as_text=True)
        assert email in home
    with Session(get_engine(demo_url)) as s:
        for email, role in EXPECTED.items():
            user = s.exec(select(User).where(User.email == email)).one()
            [membership] = s.exec(select(Membership).where(Membership.user_id == user.id))
            assert membership.role == role
            if membership.organisation_id:
                assert s.get(Organisation, membership.organisation_id).name == "滨州市慈善总会"
            if membership.enterprise_id:
                assert s.get(Enterprise, membership.enterprise_id).status == "approved"
            if membership.fund_id:
                assert s.get(CommunityFund, membership.fund_id).name == "邹平市齐明社区基金"
            if role == "verifier":
                assert membership.region == "山东省/滨州市"
        pending = s.exec(select(OnboardingApplication)
                         .where(OnboardingApplication.status == "pending")).all()
        assert len(pending) == 1


def test_the_demo_admin_sees_the_pending_application(demo_app):
    client = demo_app.test_client()
    client.post("/account/sign-in", data={"email": "admin@demo.shanlian", "password": PASSWORD})
    page = client.get("/admin/applications").get_data(as_text=True)
    assert "滨州市阳光助学服务中心（演示申请）" in page
    donor = demo_app.test_client()
    donor.post("/account/sign-in", data={"email": "donor@demo.shanlian", "password": PASSWORD})
    assert donor.get("/admin/applications").status_code == 403
