"""The charity side end to end through the web app, on SQLite and (with DATABASE_URL)
PostgreSQL: posting a 微心愿 with a new beneficiary, the private fields' storage, double
submits, the verification queue and its scope, decisions, duplicate flags and the
re-verification rule."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.audit import AuditEntry
from core.db import get_engine, unit_of_work
from core.mail import MailSettings, list_outbox
from needs import duplicate_check
from needs.models import (
    Beneficiary,
    BeneficiaryConsent,
    BeneficiaryPrivate,
    DuplicateFlag,
    Need,
)
from tests.conftest import make_app
from tests.integration.auth import sign_in
from tests.integration.charity_helpers import (
    id_number,
    organisation,
    staff,
    verifier,
    wish_form,
)


@pytest.fixture(autouse=True)
def fresh_duplicate_index():
    duplicate_check.forget_indexes()  # the database is emptied between tests
    yield
    duplicate_check.forget_indexes()


@pytest.fixture
def outbox(tmp_path, monkeypatch):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    return tmp_path


@pytest.fixture
def world(clean_url):
    app = make_app(clean_url)
    org = organisation(clean_url, "邹平市齐明社工站")
    other = organisation(clean_url, "滨城区阳光社工站", "山东省/滨州市/滨城区")
    return {
        "url": clean_url, "app": app, "org": org, "other": other,
        "staff": staff(clean_url, "staff@qm.cn", org),
        "other_staff": staff(clean_url, "staff@yg.cn", other),
        "bz_verifier": verifier(clean_url, "v@bz.cn", "山东省/滨州市"),
        "wf_verifier": verifier(clean_url, "v@wf.cn", "山东省/潍坊市"),
    }


def client_as(world, who):
    client = world["app"].test_client()
    sign_in(client, world[who])
    return client


def read(url, build):
    with unit_of_work(get_engine(url)) as session:
        return build(session)


def post_wish(world, who="staff", org="org", **form):
    return client_as(world, who).post(f"/org/{world[org]}/needs/new-wish", data=wish_form(**form))


def need_by_title(url, title="一个新书包"):
    return read(url, lambda s: s.exec(select(Need).where(Need.title == title)).one())


def posted_and_submitted(world, **form) -> Need:
    assert post_wish(world, **form).status_code == 303
    need = need_by_title(world["url"], form.get("title", "一个新书包"))
    response = client_as(world, "staff").post(f"/org/needs/{need.code}/submit")
    assert response.status_code == 303
    return need_by_title(world["url"], form.get("title", "一个新书包"))


def test_a_wish_for_a_new_beneficiary_keeps_private_fields_private(world):
    response = post_wish(world)
    assert response.status_code == 303
    need = need_by_title(world["url"])
    assert (need.kind, need.state, need.amount, need.whole) == ("wish", "draft", 15050, True)
    private, consent, person = read(world["url"], lambda s: (
        s.get(BeneficiaryPrivate, need.beneficiary_id),
        s.exec(select(BeneficiaryConsent)).one(), s.get(Beneficiary, need.beneficiary_id)))
    number = id_number(1)
    assert private.id_number == number[:6] + "********" + number[-4:]  # never in plain text
    assert private.id_hash and number not in private.id_hash
    assert private.birth_date.isoformat() == "2014-05-06"  # taken from the ID number
    assert (person.pseudonym, person.age_band, person.is_minor) == ("小安", "12-14", True)
    assert (consent.given_by, consent.allow_photo, consent.allow_story) == ("王大山", True, True)
    audit = read(world["url"], lambda s: [e.detail for e in s.exec(select(AuditEntry))])
    assert "王小安" not in repr(audit) and number not in repr(audit)


def test_the_same_form_sent_twice_creates_one_need(world):
    assert post_wish(world, key="same").status_code == 303
    assert post_wish(world, key="same").status_code == 303
    assert read(world["url"], lambda s: len(s.exec(select(Need)).all())) == 1
    assert read(world["url"], lambda s: len(s.exec(select(Beneficiary)).all())) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("id_number", "37162620140506001X", "身份证号校验位不符"),
    ("price", "12.345", "金额最多两位小数"),
    ("price", "-5", "金额不能为负"),
    ("price", "1e40", "不是有效金额"),
    ("price", "99999999999999999999", "金额过大"),
    ("price", "abc", "不是有效金额"),
    ("full_name", "", "新受益人必须填写此项"),
    ("category", "赌博", "不是有效的选择"),
    ("region", "火星/北极", "未知地区"),
    ("beneficiary", "999", "不是有效的选择"),
    ("consent_on", "2999-01-01", "同意日期不能晚于今天"),
])
def test_bad_input_is_refused_beside_the_field_and_writes_nothing(world, field, value, message):
    response = post_wish(world, **{field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert read(world["url"], lambda s: (s.exec(select(Need)).all(),
                                         s.exec(select(Beneficiary)).all())) == ([], [])


def test_refusals_are_in_english_for_an_english_visitor(world):
    client = client_as(world, "staff")
    client.set_cookie("lang", "en")
    response = client.post(f"/org/{world['org']}/needs/new-wish",
                           data=wish_form(price="12.345"))
    assert response.status_code == 422
    assert "two decimal" in response.get_data(as_text=True).lower()


def test_staff_cannot_post_for_or_edit_another_organisations_needs(world):
    assert post_wish(world, who="other_staff").status_code == 403
    posted_and_submitted(world)
    need = need_by_title(world["url"])
    other = client_as(world, "other_staff")
    assert other.get(f"/org/needs/{need.code}/edit").status_code == 403
    assert other.post(f"/org/needs/{need.code}/edit",
                      data={"title": "改了", "amount": "1", "story": "",
                            "beneficiary": str(need.beneficiary_id)}).status_code == 403
    assert other.post(f"/org/needs/{need.code}/submit").status_code == 403
    assert need_by_title(world["url"]).amount == 15050


def test_an_organisation_not_yet_approved_cannot_post(world):
    pending = organisation(world["url"], "待审机构", status="pending")
    world["pending_staff"] = staff(world["url"], "p@x.cn", pending)
    response = client_as(world, "pending_staff").post(f"/org/{pending}/needs/new-wish",
                                                      data=wish_form())
    assert response.status_code == 422
    assert "机构尚未通过审核" in response.get_data(as_text=True)
    assert read(world["url"], lambda s: s.exec(select(Need)).all()) == []


def test_the_verifier_of_weifang_cannot_see_or_verify_a_binzhou_need(world):
    need = posted_and_submitted(world)
    wf = client_as(world, "wf_verifier")
    assert need.code not in wf.get("/verify/").get_data(as_text=True)
    assert wf.get(f"/verify/needs/{need.code}").status_code == 403
    assert wf.post(f"/verify/needs/{need.code}", data={"decision": "verify"}).status_code == 403
    assert need_by_title(world["url"]).state == "submitted"
    bz = client_as(world, "bz_verifier")
    page = bz.get(f"/verify/needs/{need.code}").get_data(as_text=True)
    assert "王小安" in page and "齐明小学" in page  # the private fields, for the verifier only


def test_the_queue_is_oldest_submission_first_and_only_submitted(world, outbox):
    first = posted_and_submitted(world, key="a", title="第一")
    second = posted_and_submitted(world, key="b", title="第二", id_number=id_number(2),
                                  full_name="李小明", pseudonym="小明")
    post_wish(world, key="c", title="草稿", id_number=id_number(3), full_name="赵小花")
    page = client_as(world, "bz_verifier").get("/verify/").get_data(as_text=True)
    assert page.index(first.code) < page.index(second.code)
    assert "草稿" not in page


def test_verify_reject_and_send_back_are_audited_and_mailed(world, outbox):
    bz = client_as(world, "bz_verifier")
    need = posted_and_submitted(world)
    response = bz.post(f"/verify/needs/{need.code}", data={"decision": "reject", "reason": ""})
    assert response.status_code == 422 and "必须写明理由" in response.get_data(as_text=True)
    assert need_by_title(world["url"]).state == "submitted"
    response = bz.post(f"/verify/needs/{need.code}",
                       data={"decision": "send_back", "reason": "请补充书包照片"})
    assert response.status_code == 303
    assert need_by_title(world["url"]).state == "draft"
    staff_page = client_as(world, "staff").get(f"/org/needs/{need.code}").get_data(as_text=True)
    assert "请补充书包照片" in staff_page
    client_as(world, "staff").post(f"/org/needs/{need.code}/submit")
    assert bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"}).status_code == 303
    assert need_by_title(world["url"]).state == "verified"
    actions = read(world["url"], lambda s: [(e.action, e.actor_id) for e in s.exec(
        select(AuditEntry).where(AuditEntry.target == f"need:{need.code}")
        .order_by(AuditEntry.id))])
    assert ("need.draft", world["bz_verifier"]) in actions
    assert ("need.verified", world["bz_verifier"]) in actions
    subjects = sorted(m.subject for m in list_outbox(outbox))
    assert any("被退回修改" in s for s in subjects) and any("已通过审核" in s for s in subjects)


def test_editing_a_verified_story_sends_it_back_to_verification(world, outbox):
    need = posted_and_submitted(world)
    bz = client_as(world, "bz_verifier")
    assert bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"}).status_code == 303
    public = world["app"].test_client()
    assert need.code in public.get("/needs").get_data(as_text=True)
    response = client_as(world, "staff").post(f"/org/needs/{need.code}/edit", data={
        "title": need.title, "amount": "150.50", "story": "新的故事",
        "beneficiary": str(need.beneficiary_id)})
    assert response.status_code == 303
    edited = need_by_title(world["url"])
    assert (edited.state, edited.verified_at, edited.story) == ("submitted", None, "新的故事")
    assert need.code not in public.get("/needs").get_data(as_text=True)
    assert public.get(f"/needs/{need.code}").status_code == 404
    assert need.code in bz.get("/verify/").get_data(as_text=True)


@pytest.mark.parametrize("change", ["amount", "beneficiary"])
def test_editing_a_verified_amount_or_beneficiary_sends_it_back_too(world, outbox, change):
    other_person = None
    if change == "beneficiary":  # a second beneficiary of the same organisation
        assert post_wish(world, key="other", title="文具", full_name="李小雨", pseudonym="小雨",
                         id_number=id_number(2)).status_code == 303
        other_person = need_by_title(world["url"], "文具").beneficiary_id
    need = posted_and_submitted(world)
    bz = client_as(world, "bz_verifier")
    assert bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"}).status_code == 303
    public = world["app"].test_client()
    assert need.code in public.get("/needs").get_data(as_text=True)
    form = {"title": need.title, "amount": "150.50", "story": need.story,
            "beneficiary": str(need.beneficiary_id)}
    if change == "amount":
        form["amount"] = "180.00"
    else:
        form["beneficiary"] = str(other_person)
    response = client_as(world, "staff").post(f"/org/needs/{need.code}/edit", data=form)
    assert response.status_code == 303
    edited = need_by_title(world["url"])
    assert (edited.state, edited.verified_at) == ("submitted", None)
    if change == "amount":
        assert edited.amount == 18_000
    else:
        assert edited.beneficiary_id == other_person
    assert need.code not in public.get("/needs").get_data(as_text=True)
    assert public.get(f"/needs/{need.code}").status_code == 404
    assert need.code in bz.get("/verify/").get_data(as_text=True)


def test_editing_only_the_title_of_a_verified_need_keeps_it_verified(world, outbox):
    need = posted_and_submitted(world)
    client_as(world, "bz_verifier").post(f"/verify/needs/{need.code}", data={"decision": "verify"})
    response = client_as(world, "staff").post(f"/org/needs/{need.code}/edit", data={
        "title": "一个更好的书包", "amount": "150.50", "story": need.story,
        "beneficiary": str(need.beneficiary_id)})
    assert response.status_code == 303
    assert need_by_title(world["url"], "一个更好的书包").state == "verified"


def test_a_near_duplicate_of_another_organisations_beneficiary_is_flagged(world, outbox):
    # The other organisation already has 王晓安 (same birth date, similar address).
    other = client_as(world, "other_staff")
    assert other.post(f"/org/{world['other']}/needs/new-wish", data=wish_form(
        key="o", title="冬衣", full_name="王晓安", id_number=id_number(9),
        address="山东省滨州市邹平市黄山街道齐明社区3号楼")).status_code == 303
    need = posted_and_submitted(world)
    flags = read(world["url"], lambda s: s.exec(select(DuplicateFlag)).all())
    assert len(flags) == 1 and flags[0].score >= 80
    bz = client_as(world, "bz_verifier")
    assert "疑似重复" in bz.get("/verify/").get_data(as_text=True)
    page = bz.get(f"/verify/needs/{need.code}").get_data(as_text=True)
    assert "王晓安" in page and "滨城区阳光社工站" in page
    # Not verifiable while the flag is open; marked "same person, allowed", it is.
    response = bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"})
    assert response.status_code == 422 and "请先处理" in response.get_data(as_text=True)
    assert bz.post(f"/verify/flags/{flags[0].id}",
                   data={f"flag{flags[0].id}-status": "allowed"}).status_code == 303
    assert bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"}).status_code == 303
    assert need_by_title(world["url"]).state == "verified"


def test_a_flag_marked_duplicate_blocks_verification(world, outbox):
    other = client_as(world, "other_staff")
    other.post(f"/org/{world['other']}/needs/new-wish",
               data=wish_form(key="o", title="冬衣", id_number=id_number(1)))
    need = posted_and_submitted(world)
    flag = read(world["url"], lambda s: s.exec(select(DuplicateFlag)).one())
    assert flag.score == 100.0  # the same ID number, compared through its HMAC
    bz = client_as(world, "bz_verifier")
    wf = client_as(world, "wf_verifier")
    assert wf.post(f"/verify/flags/{flag.id}",
                   data={f"flag{flag.id}-status": "duplicate"}).status_code == 403
    bz.post(f"/verify/flags/{flag.id}", data={f"flag{flag.id}-status": "duplicate"})
    response = bz.post(f"/verify/needs/{need.code}", data={"decision": "verify"})
    assert response.status_code == 422 and "重复" in response.get_data(as_text=True)
    assert need_by_title(world["url"]).state == "submitted"


def test_the_same_id_number_twice_in_one_organisation_is_refused(world):
    post_wish(world, key="1")
    response = post_wish(world, key="2", title="文具")
    assert response.status_code == 422 and "请直接选用" in response.get_data(as_text=True)


def test_an_existing_beneficiary_is_reused(world):
    post_wish(world, key="1")
    person = need_by_title(world["url"]).beneficiary_id
    response = post_wish(world, key="2", title="文具", beneficiary=str(person), full_name="")
    assert response.status_code == 303
    assert need_by_title(world["url"], "文具").beneficiary_id == person
    assert read(world["url"], lambda s: len(s.exec(select(Beneficiary)).all())) == 1

