"""Demo logins: one account per role, each on a real demo organisation, enterprise, fund
or region, with a known password, so a newcomer can try every role at once; and one
pending organisation application for the admin to decide."""
from __future__ import annotations

import random

from core import accounts
from core.config import Settings
from core.identifiers import generate_uscc
from demo.data import BINZHOU
from donors import onboarding
from needs.uploads import check_upload

PASSWORD = "shanlian-demo"  # the README lists it; demo data only

CERTIFICATE = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def logins(demo) -> list[tuple[str, str, dict]]:
    """(email, role, scope) of every demo login, on the objects the other steps made."""
    d = demo.made
    qiming = d.community_funds["邹平市/黄山街道/齐明社区"]
    firm = d.firms[0]  # 滨州鲁北爱心实业有限公司
    return [
        ("donor@demo.shanlian", "donor", {}),
        ("enterprise-staff@demo.shanlian", "enterprise_staff", {"enterprise_id": firm.id}),
        ("enterprise-reviewer@demo.shanlian", "enterprise_reviewer", {"enterprise_id": firm.id}),
        ("org-staff@demo.shanlian", "org_staff", {"organisation_id": d.org_bz.id}),
        ("org-admin@demo.shanlian", "org_admin", {"organisation_id": d.org_bz.id}),
        ("verifier@demo.shanlian", "verifier", {"region": BINZHOU}),
        ("fund-manager@demo.shanlian", "fund_manager", {"fund_id": qiming.id}),
        ("admin@demo.shanlian", "admin", {}),
    ]


NAMES = {"donor": "演示捐赠人", "enterprise_staff": "演示企业工作人员",
         "enterprise_reviewer": "演示企业审核人", "org_staff": "演示机构工作人员",
         "org_admin": "演示机构管理员", "verifier": "演示审核员（滨州市）",
         "fund_manager": "演示基金管理人（齐明社区）", "admin": "演示平台管理员"}


def demo_logins(demo) -> None:
    s = demo.session
    demo.tick()
    users = {}
    for email, role, scope in logins(demo):
        user = accounts.create_user(s, email, NAMES[role], PASSWORD)
        accounts.grant(s, user, role, **scope)
        users[role] = user
    applicant = accounts.create_user(s, "applicant@demo.shanlian", "演示申请人", PASSWORD)
    accounts.grant(s, applicant, "donor")
    demo.tick()
    onboarding.apply(
        s, applicant, kind="organisation", name="滨州市阳光助学服务中心（演示申请）",
        region=f"{BINZHOU}/滨城区", uscc=generate_uscc(random.Random(8)),
        certificate=check_upload(CERTIFICATE, "certificate.pdf"),
        upload_dir=Settings.from_env().upload_dir, contact_name="李主任",
        contact_phone="0543-1234567", contact_email="applicant@demo.shanlian")
