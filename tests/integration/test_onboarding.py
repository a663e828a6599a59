"""Organisations and enterprises apply; an admin approves (the applicant becomes its
admin) or rejects with a reason; both are mailed and in the audit log."""
from __future__ import annotations

from sqlmodel import Session, select

from core.audit import AuditEntry
from core.db import get_engine
from core.users import Membership
from donors.applications import OnboardingApplication
from donors.models import Enterprise
from needs.models import Organisation
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.mailbox import inbox  # noqa: F401 — the fixture
from tests.integration.onboarding_helpers import form, uscc


def _rows(url, model):
    with Session(get_engine(url)) as s:
        return list(s.exec(select(model)))


def _applicant(url, app):
    user_id = make_user(url, "applicant@b.cn", name="李主任")
    client = app.test_client()
    sign_in(client, user_id)
    return user_id, client


def _admin(url, app):
    admin_id = make_user(url, "admin@b.cn", ("admin", {}), name="管理员")
    client = app.test_client()
    sign_in(client, admin_id)
    return admin_id, client


def test_an_organisation_applies_and_an_admin_approves_it(clean_url, inbox):  # noqa: F811
    app = make_app(clean_url)
    user_id, client = _applicant(clean_url, app)
    response = client.post("/onboarding/apply", data=form(), content_type="multipart/form-data")
    assert response.status_code == 303
    [application] = _rows(clean_url, OnboardingApplication)
    [org] = _rows(clean_url, Organisation)
    assert application.status == "pending" and org.status == "pending"
    assert application.uscc == uscc() and application.applicant_id == user_id
    assert "滨州市阳光助学服务中心" in client.get("/onboarding/").get_data(as_text=True)

    admin_id, admin = _admin(clean_url, app)
    page = admin.get("/admin/applications").get_data(as_text=True)
    assert "滨州市阳光助学服务中心" in page
    detail = admin.get(f"/admin/applications/{application.id}")
    assert detail.status_code == 200 and uscc() in detail.get_data(as_text=True)
    certificate = admin.get(f"/admin/applications/{application.id}/certificate")
    assert certificate.status_code == 200 and certificate.data.startswith(b"%PDF-")
    assert admin.post(f"/admin/applications/{application.id}/approve").status_code == 303

    [org] = _rows(clean_url, Organisation)
    assert org.status == "approved"
    memberships = [(m.user_id, m.role, m.organisation_id) for m in _rows(clean_url, Membership)]
    assert (user_id, "org_admin", org.id) in memberships
    assert "入驻申请已通过" in inbox.messages[-1]["Subject"]
    assert inbox.messages[-1]["To"] == "applicant@b.cn"
    actions = [(e.action, e.actor_id) for e in _rows(clean_url, AuditEntry)]
    assert ("application.submit", user_id) in actions
    assert ("application.approve", admin_id) in actions
    # The new org admin sees their organisation and can invite staff.
    home = client.get("/account/").get_data(as_text=True)
    assert "滨州市阳光助学服务中心" in home and f"/onboarding/organisations/{org.id}/invite" in home
    # A second decision on the same application is refused and changes nothing.
    again = admin.post(f"/admin/applications/{application.id}/reject",
                       data={"reason": "重复"})
    assert again.status_code == 409 and "已经处理过" in again.get_data(as_text=True)
    assert _rows(clean_url, OnboardingApplication)[0].status == "approved"


def test_an_enterprise_applies_and_is_rejected_with_a_reason(clean_url, inbox):  # noqa: F811
    app = make_app(clean_url)
    user_id, client = _applicant(clean_url, app)
    response = client.post("/onboarding/apply", data=form("滨州某某科技有限公司", kind="enterprise"),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    [application] = _rows(clean_url, OnboardingApplication)
    _admin_id, admin = _admin(clean_url, app)
    empty = admin.post(f"/admin/applications/{application.id}/reject", data={"reason": "  "})
    assert empty.status_code == 422 and "请填写不通过的原因" in empty.get_data(as_text=True)
    assert _rows(clean_url, OnboardingApplication)[0].status == "pending"
    assert inbox.messages == []
    done = admin.post(f"/admin/applications/{application.id}/reject",
                      data={"reason": "登记证书与名称不符"})
    assert done.status_code == 303
    [application] = _rows(clean_url, OnboardingApplication)
    [enterprise] = _rows(clean_url, Enterprise)
    assert application.status == "rejected" and application.reason == "登记证书与名称不符"
    assert enterprise.status == "rejected"
    assert not [m for m in _rows(clean_url, Membership) if m.role == "enterprise_reviewer"]
    assert "登记证书与名称不符" in inbox.text()
    assert "登记证书与名称不符" in client.get("/onboarding/").get_data(as_text=True)


def test_approving_an_enterprise_makes_the_applicant_its_reviewer(clean_url, inbox):  # noqa: F811
    app = make_app(clean_url)
    user_id, client = _applicant(clean_url, app)
    client.post("/onboarding/apply", data=form("滨州某某科技有限公司", kind="enterprise"),
                content_type="multipart/form-data")
    [application] = _rows(clean_url, OnboardingApplication)
    _admin_id, admin = _admin(clean_url, app)
    assert admin.post(f"/admin/applications/{application.id}/approve").status_code == 303
    [enterprise] = _rows(clean_url, Enterprise)
    assert enterprise.status == "approved" and enterprise.code == f"E-{enterprise.id}"
    assert [(m.role, m.enterprise_id) for m in _rows(clean_url, Membership)
            if m.user_id == user_id] == [("enterprise_reviewer", enterprise.id)]


def test_a_double_submit_creates_one_application(clean_url):
    app = make_app(clean_url)
    _user_id, client = _applicant(clean_url, app)
    assert client.post("/onboarding/apply", data=form(),
                       content_type="multipart/form-data").status_code == 303
    again = client.post("/onboarding/apply", data=form(), content_type="multipart/form-data")
    assert again.status_code == 422 and "已提交过入驻申请" in again.get_data(as_text=True)
    same_name = client.post("/onboarding/apply", data=form(code=uscc(2)),
                            content_type="multipart/form-data")
    assert same_name.status_code == 422 and "已被使用" in same_name.get_data(as_text=True)
    assert len(_rows(clean_url, OnboardingApplication)) == 1
    assert len(_rows(clean_url, Organisation)) == 1


def _refused(client, data, message, lang=None):
    if lang:
        client.set_cookie("lang", lang)
    response = client.post("/onboarding/apply", data=data, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body
    assert message in body, body
    return body


def test_bad_applications_say_why_beside_the_field_and_write_nothing(clean_url):
    app = make_app(clean_url)
    _user_id, client = _applicant(clean_url, app)
    good = uscc()
    wrong_check = good[:-1] + ("1" if good[-1] != "1" else "2")
    body = _refused(client, form(code=wrong_check), "统一社会信用代码校验位不符")
    assert 'id="uscc-errors"' in body
    _refused(client, form(code="123"), "统一社会信用代码应为18位")
    _refused(client, form(certificate=b"just text, not a certificate"), "只接受 JPEG")
    _refused(client, form(certificate=b"\x89PNG\r\n\x1a\n" + b"0" * 40, filename="c.pdf"),
             "文件内容与文件名不符")
    _refused(client, form(certificate=PDF_WITH_SCRIPT), "PDF 文件含有脚本")
    data = form()
    del data["certificate"]
    _refused(client, data, "请上传登记证书")
    _refused(client, form(region="山东省/烟台市"), "Not a valid choice", lang="en")
    _refused(client, form(contact_email="not-an-address"), "valid email", lang="en")
    _refused(client, form(kind="charity_shop"), "Not a valid choice", lang="en")
    assert _rows(clean_url, OnboardingApplication) == []
    assert _rows(clean_url, Organisation) == []


PDF_WITH_SCRIPT = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(x)>>>>"
                   b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_the_application_form_needs_a_csrf_token(clean_url):
    app = make_app(clean_url)
    app.config["WTF_CSRF_ENABLED"] = True
    _user_id, client = _applicant(clean_url, app)
    response = client.post("/onboarding/apply", data=form(), content_type="multipart/form-data")
    assert response.status_code == 400
    assert _rows(clean_url, OnboardingApplication) == []
    admin_id = make_user(clean_url, "admin@b.cn", ("admin", {}))
    sign_in(client, admin_id)
    assert client.post("/admin/applications/1/approve").status_code == 400
