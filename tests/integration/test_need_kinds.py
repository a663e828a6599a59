"""Posting a 项目, a 慈心助学 sponsorship and a 小急难 request through the web app, on SQLite
and (with DATABASE_URL) PostgreSQL: the good path to the public page or the fund's queue,
bad input (422, the message beside the field, nothing written), the wrong role and the
wrong organisation (403), double submits, CSRF, and the 公募资格 rule."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.mail import MailSettings
from funds.models import Allocation
from needs import duplicate_check
from needs.models import Beneficiary, BeneficiaryPrivate, Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.charity_helpers import WF, id_number, organisation, staff, verifier
from tests.integration.need_kind_helpers import (
    FILING,
    fund,
    microgrant_form,
    project_form,
    qualify,
    sponsorship_form,
)

USCC = "53371626MJD0000018"  # shown as given; its check character is not this test's concern


@pytest.fixture(autouse=True)
def fresh_duplicate_index(tmp_path, monkeypatch):
    duplicate_check.forget_indexes()
    monkeypatch.delenv("MAIL_SERVER", raising=False)  # decision mails go to an outbox
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    yield
    duplicate_check.forget_indexes()


@pytest.fixture
def world(clean_url):
    org = organisation(clean_url, "邹平市慈善总会")
    qualify(clean_url, org, uscc=USCC)
    plain = organisation(clean_url, "邹平市齐明社工站")  # no 公募资格
    other = organisation(clean_url, "滨城区阳光社工站", "山东省/滨州市/滨城区")
    w = {"url": clean_url, "app": make_app(clean_url), "org": org, "plain": plain,
         "other": other, "fund": fund(clean_url),
         "staff": staff(clean_url, "staff@zp.cn", org),
         "plain_staff": staff(clean_url, "staff@qm.cn", plain),
         "other_staff": staff(clean_url, "staff@yg.cn", other),
         "donor": make_user(clean_url, "donor@x.cn", ("donor", {})),
         "verifier": verifier(clean_url, "v@bz.cn", "山东省/滨州市")}
    w["manager"] = make_user(clean_url, "m@qm.cn", ("fund_manager", {"fund_id": w["fund"]}))
    return w


def client(world, who):
    c = world["app"].test_client()
    sign_in(c, world[who])
    return c


def rows(url, model):
    with unit_of_work(get_engine(url)) as s:
        key = next(iter(model.__table__.primary_key.columns))
        return s.exec(select(model).order_by(key)).all()


def post(world, kind, data, who="staff", org="org"):
    return client(world, who).post(f"/org/{world[org]}/needs/new-{kind}", data=data)


def submit_and_verify(world, need):
    assert client(world, "staff").post(f"/org/needs/{need.code}/submit").status_code == 303
    response = client(world, "verifier").post(f"/verify/needs/{need.code}",
                                              data={"decision": "verify"})
    assert response.status_code == 303, response.get_data(as_text=True)


# ---- 项目 ------------------------------------------------------------------------------

def test_a_project_posted_verified_and_shown_with_its_public_appeal_facts(world):
    response = post(world, "project", project_form(holder=str(world["org"])))
    assert response.status_code == 303
    need, = rows(world["url"], Need)
    assert (need.kind, need.state, need.amount, need.whole) == ("project", "draft", 5_000_000,
                                                                False)
    assert need.budget == [["课桌椅", 2_000_000], ["图书", 1_800_000], ["地面改造", 1_200_000]]
    assert (need.period_start.isoformat(), need.period_end.isoformat()) == ("2026-12-10",
                                                                           "2027-06-30")
    assert (need.fundraiser_id, need.fundraising_filing) == (world["org"], FILING)
    assert need.posted_by == world["staff"] and need.people == 40
    submit_and_verify(world, need)
    page = world["app"].test_client().get(f"/needs/{need.code}").get_data(as_text=True)
    for shown in ("邹平市慈善总会", USCC, FILING, "鲁民慈公募证字第001号", "课桌椅",
                  "2026-12-10"):
        assert shown in page


def test_an_unqualified_organisation_raises_under_a_qualified_partner(world):
    # Its own name is not offered: it has no 公募资格.
    page = client(world, "plain_staff").get(f"/org/{world['plain']}/needs/new-project")
    assert page.status_code == 200
    assert "邹平市慈善总会" in page.get_data(as_text=True)
    refused = post(world, "project", project_form(holder=str(world["plain"])),
                   who="plain_staff", org="plain")
    assert refused.status_code == 422 and rows(world["url"], Need) == []
    assert post(world, "project", project_form(holder=str(world["org"])),
                who="plain_staff", org="plain").status_code == 303
    need, = rows(world["url"], Need)
    assert (need.organisation_id, need.fundraiser_id) == (world["plain"], world["org"])
    submit_page = client(world, "plain_staff").get(f"/org/needs/{need.code}")
    assert FILING in submit_page.get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "abc", "不是有效金额"),
    ("amount", "0", "金额必须大于零"),
    ("budget", "课桌椅 20000\n图书 18000", "与目标金额"),
    ("budget", "课桌椅两万", "第 1 行应写成"),
    ("period_end", "2026-12-01", "结束日期不能早于开始日期"),
    ("period_start", "", "请填写实施开始日期"),
    ("filing", "", "请填写募捐方案备案编号"),
    ("filing", "备案123", "10 至 40 位"),
    ("people", "0", "受益人数须为"),
    ("region", "火星/北极", "未知地区"),
    ("holder", "999", "不是有效的选择"),
    ("category", "赌博", "不是有效的选择"),
])
def test_bad_project_input_is_refused_beside_the_field(world, field, value, message):
    data = {**project_form(holder=str(world["org"])), field: value}
    response = post(world, "project", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert rows(world["url"], Need) == []


def test_project_refusals_are_in_english_for_an_english_visitor(world):
    c = client(world, "staff")
    c.set_cookie("lang", "en")
    response = c.post(f"/org/{world['org']}/needs/new-project",
                      data=project_form(holder=str(world["org"]), filing="x"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "filing number" in text.lower() and "备案" not in text.split("<main")[-1]


def test_a_project_sent_twice_is_one_need(world):
    data = project_form(key="twice", holder=str(world["org"]))
    assert post(world, "project", data).status_code == 303
    assert post(world, "project", data).status_code == 303
    assert len(rows(world["url"], Need)) == 1


@pytest.mark.parametrize("kind", ["project", "sponsorship", "microgrant"])
@pytest.mark.parametrize("who", ["donor", "verifier", "manager", "other_staff"])
def test_only_staff_of_that_organisation_may_post(world, kind, who):
    data = {"project": project_form(holder=str(world["org"])), "sponsorship":
            sponsorship_form(holder=str(world["org"])),
            "microgrant": microgrant_form(world["fund"])}[kind]
    assert client(world, who).get(f"/org/{world['org']}/needs/new-{kind}").status_code == 403
    assert post(world, kind, data, who=who).status_code == 403
    assert rows(world["url"], Need) == [] and rows(world["url"], Beneficiary) == []


@pytest.mark.parametrize("kind", ["project", "sponsorship", "microgrant"])
def test_anonymous_visitors_are_sent_to_sign_in(world, kind):
    response = world["app"].test_client().post(f"/org/{world['org']}/needs/new-{kind}",
                                               data={})
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("kind", ["project", "sponsorship", "microgrant"])
def test_the_forms_need_a_csrf_token(world, kind):
    world["app"].config["WTF_CSRF_ENABLED"] = True
    data = {"project": project_form(holder=str(world["org"])), "sponsorship":
            sponsorship_form(holder=str(world["org"])),
            "microgrant": microgrant_form(world["fund"])}[kind]
    response = post(world, kind, data)
    assert response.status_code == 400
    assert rows(world["url"], Need) == []


# ---- 慈心助学 ----------------------------------------------------------------------------

def test_a_sponsorship_is_one_whole_need_per_school_year_for_a_private_student(world):
    response = post(world, "sponsorship", sponsorship_form(holder=str(world["org"])))
    assert response.status_code == 303
    first, second = rows(world["url"], Need)
    assert [(n.kind, n.amount, n.whole, n.school_year) for n in (first, second)] == [
        ("sponsorship", 1_000_000, True, "2026-2027"),
        ("sponsorship", 1_000_000, True, "2027-2028")]
    assert first.beneficiary_id == second.beneficiary_id
    assert (first.fundraiser_id, first.fundraising_filing) == (world["org"], FILING)
    private, = rows(world["url"], BeneficiaryPrivate)
    number = id_number(7)
    assert private.full_name == "张禾" and private.id_number == number[:6] + "*" * 8 + number[-4:]
    submit_and_verify(world, first)
    page = world["app"].test_client().get(f"/needs/{first.code}").get_data(as_text=True)
    assert "2026-2027" in page and FILING in page and "小禾" in page
    for private_field in ("张禾", "黄山中学", number, "齐明社区8号"):
        assert private_field not in page


def test_a_sponsorship_sent_twice_is_one_set_of_years(world):
    data = sponsorship_form(key="twice", holder=str(world["org"]))
    assert post(world, "sponsorship", data).status_code == 303
    assert post(world, "sponsorship", data).status_code == 303
    assert len(rows(world["url"], Need)) == 2 and len(rows(world["url"], Beneficiary)) == 1


def test_a_school_year_already_asked_for_the_same_student_is_refused(world):
    assert post(world, "sponsorship", sponsorship_form(
        holder=str(world["org"]), years="1")).status_code == 303
    person, = rows(world["url"], Beneficiary)
    again = post(world, "sponsorship", sponsorship_form(
        key="s-2", holder=str(world["org"]), beneficiary=str(person.id), first_year="2026"))
    assert again.status_code == 422
    assert "2026-2027 学年已有助学需求" in again.get_data(as_text=True)
    assert len(rows(world["url"], Need)) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("years", "7", "资助学年数须为 1 至 6"),
    ("first_year", "2031", "第一个学年须从"),
    ("per_year", "0", "金额必须大于零"),
    ("full_name", "", "新受益人必须填写此项"),
    ("id_number", "37162620140506001X", "身份证号校验位不符"),
    ("filing", "", "请填写募捐方案备案编号"),
    ("beneficiary", "999", "不是有效的选择"),
])
def test_bad_sponsorship_input_writes_nothing(world, field, value, message):
    response = post(world, "sponsorship",
                    {**sponsorship_form(holder=str(world["org"])), field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert rows(world["url"], Need) == [] and rows(world["url"], Beneficiary) == []


# ---- 小急难 ----------------------------------------------------------------------------

def test_a_verified_microgrant_request_joins_its_funds_grant_queue_once(world):
    assert post(world, "microgrant", microgrant_form(world["fund"])).status_code == 303
    need, = rows(world["url"], Need)
    assert (need.kind, need.fund_id, need.urgency, need.amount) == ("microgrant", world["fund"],
                                                                    5, 80_000)
    queue = client(world, "manager").get(f"/funds/{world['fund']}/queue")
    assert need.code not in queue.get_data(as_text=True)  # not before verification
    submit_and_verify(world, need)
    grant, = rows(world["url"], Allocation)
    assert (grant.fund_id, grant.amount, grant.status, grant.requested_by) == (
        world["fund"], 80_000, "proposed", world["staff"])
    queue = client(world, "manager").get(f"/funds/{world['fund']}/queue")
    assert need.code in queue.get_data(as_text=True)
    # Edited (the story) and verified again: still the one grant.
    edit = client(world, "staff").post(f"/org/needs/{need.code}/edit", data={
        "title": need.title, "story": "水管和阀门都要换。", "amount": "800", "beneficiary": "0"})
    assert edit.status_code == 303
    assert client(world, "verifier").post(f"/verify/needs/{need.code}",
                                          data={"decision": "verify"}).status_code == 303
    assert len(rows(world["url"], Allocation)) == 1
    # A new amount, before any manager approved: the one proposed grant follows it.
    edit = client(world, "staff").post(f"/org/needs/{need.code}/edit", data={
        "title": need.title, "story": "水管和阀门都要换。", "amount": "650", "beneficiary": "0"})
    assert edit.status_code == 303
    assert client(world, "verifier").post(f"/verify/needs/{need.code}",
                                          data={"decision": "verify"}).status_code == 303
    grant, = rows(world["url"], Allocation)
    assert (grant.amount, grant.status) == (65_000, "proposed")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "2500", "超过齐明社区基金的单笔上限"),
    ("amount", "1.001", "金额最多两位小数"),
    ("urgency", "9", "不是有效的选择"),
    ("region", WF, "不在齐明社区基金的资助范围内"),
    ("fund", "999", "不是有效的选择"),
    ("title", "", "请填写标题"),
])
def test_bad_microgrant_input_writes_nothing(world, field, value, message):
    response = post(world, "microgrant", microgrant_form(world["fund"], **{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert rows(world["url"], Need) == []


def test_a_fund_of_another_region_is_not_offered(world):
    far = fund(world["url"], region=WF, name="东方社区基金")
    page = client(world, "staff").get(f"/org/{world['org']}/needs/new-microgrant")
    assert "东方社区基金" not in page.get_data(as_text=True)
    assert "齐明社区基金" in page.get_data(as_text=True)
    assert post(world, "microgrant", microgrant_form(far)).status_code == 422
    assert rows(world["url"], Need) == []


def test_a_microgrant_sent_twice_is_one_request(world):
    data = microgrant_form(world["fund"], key="twice")
    assert post(world, "microgrant", data).status_code == 303
    assert post(world, "microgrant", data).status_code == 303
    assert len(rows(world["url"], Need)) == 1


def test_a_projects_amount_cannot_drift_from_its_budget_lines(world):
    assert post(world, "project", project_form(holder=str(world["org"]))).status_code == 303
    need, = rows(world["url"], Need)
    response = client(world, "staff").post(f"/org/needs/{need.code}/edit", data={
        "title": need.title, "story": need.story, "amount": "60000", "beneficiary": "0"})
    assert response.status_code == 422 and "预算合计" in response.get_data(as_text=True)
    assert rows(world["url"], Need)[0].amount == 5_000_000


# ---- 公募资格 on the application ----------------------------------------------------------

def test_an_organisation_states_its_qualification_when_it_applies(world):
    from needs.models import Organisation
    from tests.integration.onboarding_helpers import form, uscc

    applicant = client(world, "donor")
    refused = applicant.post("/onboarding/apply", content_type="multipart/form-data",
                             data=form(name="滨州市春晖基金会", public_fundraising="y"))
    assert refused.status_code == 422
    assert "必须填写公募资格证书编号" in refused.get_data(as_text=True)
    assert [o.name for o in rows(world["url"], Organisation)].count("滨州市春晖基金会") == 0
    assert applicant.post("/onboarding/apply", content_type="multipart/form-data", data=form(
        name="滨州市春晖基金会", code=uscc(5), public_fundraising="y",
        public_fundraising_cert="鲁民慈公募证字第9号")).status_code == 303
    org = next(o for o in rows(world["url"], Organisation) if o.name == "滨州市春晖基金会")
    assert (org.uscc, org.public_fundraising, org.public_fundraising_cert, org.status) == (
        uscc(5), True, "鲁民慈公募证字第9号", "pending")
    # Pending: not yet offered as a partner holding the qualification.
    page = client(world, "plain_staff").get(f"/org/{world['plain']}/needs/new-project")
    assert "滨州市春晖基金会" not in page.get_data(as_text=True)
