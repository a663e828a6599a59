"""Organisation pages for a need's money going out: an admin records a payout (拨付) against a
funded need, attaches its PDF invoice, and staff mark a project's milestones done with a
photo. Bad amounts, the wrong role, another organisation and a double submit change nothing
(or record one payout); a file that is not what its name says is refused."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.mail import MailSettings
from funds.models import Disbursement
from needs import duplicate_check, funding
from needs.models import Evidence, Milestone, Need
from tests.conftest import make_app
from tests.integration.charity_helpers import as_, organisation, staff, verifier, wish_form
from tests.integration.need_kind_helpers import project_form, qualify
from tests.integration.onboarding_helpers import PDF


@pytest.fixture
def world(clean_url, tmp_path, monkeypatch):
    duplicate_check.forget_indexes()
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    org = organisation(clean_url, "邹平市齐明社工站")
    qualify(clean_url, org, uscc="53371626MJD0000018")
    other = organisation(clean_url, "滨城区阳光社工站", "山东省/滨州市/滨城区")
    w = {"url": clean_url, "app": make_app(clean_url), "org": org,
         "admin": staff(clean_url, "a@qm.cn", org, role="org_admin"),
         "staff": staff(clean_url, "s@qm.cn", org),
         "other_admin": staff(clean_url, "a@yg.cn", other, role="org_admin"),
         "other_staff": staff(clean_url, "s@yg.cn", other),
         "verifier": verifier(clean_url, "v@bz.cn", "山东省/滨州市")}
    yield w
    duplicate_check.forget_indexes()


def verified(world, code):
    as_(world, "staff").post(f"/org/needs/{code}/submit")
    assert as_(world, "verifier").post(f"/verify/needs/{code}",
                                       data={"decision": "verify"}).status_code == 303


def funded_wish(world) -> str:
    """A verified 微心愿 of ¥150.50, fully given."""
    assert as_(world, "staff").post(f"/org/{world['org']}/needs/new-wish",
                                    data=wish_form()).status_code == 303
    with unit_of_work(get_engine(world["url"])) as s:
        code = s.exec(select(Need.code)).one()
    verified(world, code)
    with unit_of_work(get_engine(world["url"])) as s:
        need = s.exec(select(Need).where(Need.code == code)).one()
        funding.credit_need(s, need, 15_050, "donor:test", "donation", "donation:test")
        assert need.state == "funded"
    return code


def payout(world, code, who="admin", **fields):
    data = {"key": "d-1", "amount": "100", "paid_to": "邹平市新华书店", "memo": "书包采购",
            "paid_on": "2026-11-30", **fields}
    return as_(world, who).post(f"/org/needs/{code}/disburse", data=data)


def rows(world, model):
    with unit_of_work(get_engine(world["url"])) as s:
        return s.exec(select(model)).all()


def need_row(world, code) -> Need:
    with unit_of_work(get_engine(world["url"])) as s:
        return s.exec(select(Need).where(Need.code == code)).one()


def text(response) -> str:
    return response.get_data(as_text=True)


# ---- recording a payout ---------------------------------------------------------------

def test_an_admin_records_a_payout_shown_on_the_public_page(world):
    code = funded_wish(world)
    page = as_(world, "admin").get(f"/org/needs/{code}")
    assert page.status_code == 200 and "记录拨付" in text(page)
    assert "记录拨付" not in text(as_(world, "other_staff").get(f"/org/needs/{code}"))
    response = payout(world, code)
    assert response.status_code == 303
    row, = rows(world, Disbursement)
    assert (row.amount, row.paid_to, row.memo) == (10_000, "邹平市新华书店", "书包采购")
    assert row.at.strftime("%Y-%m-%d") == "2026-11-30" and row.ledger_seq
    assert need_row(world, code).disbursed == 10_000
    public = text(world["app"].test_client().get(f"/needs/{code}"))
    assert "邹平市新华书店" in public and "书包采购" in public
    # The rest may be paid out later; then nothing is left and the form goes away.
    assert payout(world, code, key="d-2", amount="50.50").status_code == 303
    assert need_row(world, code).disbursed == 15_050
    assert "记录拨付" not in text(as_(world, "admin").get(f"/org/needs/{code}"))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "150.51", "拨付金额超过已筹金额"),
    ("amount", "abc", "金额"),
    ("amount", "12.345", "金额"),
    ("amount", "0", "金额必须大于零"),
    ("amount", "", "请填写拨付金额"),
    ("paid_to", "  ", "必须写明收款方"),
    ("paid_on", "2099-01-01", "拨付日期不能晚于今天"),
])
def test_bad_payout_input_is_refused_beside_the_field_writing_nothing(world, field, value,
                                                                       message):
    code = funded_wish(world)
    response = payout(world, code, **{field: value})
    assert response.status_code == 422
    page = text(response)
    assert message in page and f'id="{field}-errors"' in page  # beside its own field
    assert rows(world, Disbursement) == [] and need_row(world, code).disbursed == 0


def test_a_payout_above_what_is_left_after_an_earlier_one_is_refused(world):
    code = funded_wish(world)
    assert payout(world, code, amount="100").status_code == 303
    response = payout(world, code, key="d-2", amount="60")
    assert response.status_code == 422 and "拨付金额超过已筹金额" in text(response)
    assert len(rows(world, Disbursement)) == 1 and need_row(world, code).disbursed == 10_000


def test_the_needs_organisation_staff_record_a_payout_too(world):
    code = funded_wish(world)
    assert "记录拨付" in text(as_(world, "staff").get(f"/org/needs/{code}"))
    assert payout(world, code, who="staff").status_code == 303
    assert len(rows(world, Disbursement)) == 1 and need_row(world, code).disbursed == 10_000


@pytest.mark.parametrize("who", ["other_admin", "other_staff", "verifier"])
def test_only_the_needs_organisation_records_payouts(world, who):
    code = funded_wish(world)
    assert payout(world, code, who=who).status_code == 403
    assert rows(world, Disbursement) == [] and need_row(world, code).disbursed == 0


def test_a_cancelled_needs_money_is_not_paid_out(world):
    """Its donors are choosing a refund or another need: the form is gone and a post is
    refused."""
    code = funded_wish(world)
    with unit_of_work(get_engine(world["url"])) as s:
        need = s.exec(select(Need).where(Need.code == code)).one()
        need.state = "cancelled"
        s.add(need)
    assert "记录拨付" not in text(as_(world, "admin").get(f"/org/needs/{code}"))
    response = payout(world, code)
    assert response.status_code == 422 and "已关闭的需求不能拨付" in text(response)
    assert rows(world, Disbursement) == [] and need_row(world, code).disbursed == 0


def test_a_payout_form_sent_twice_records_one_payout(world):
    code = funded_wish(world)
    assert payout(world, code, key="same").status_code == 303
    assert payout(world, code, key="same").status_code == 303
    assert len(rows(world, Disbursement)) == 1 and need_row(world, code).disbursed == 10_000


def test_a_payout_form_without_csrf_is_refused(world):
    code = funded_wish(world)
    world["app"].config["WTF_CSRF_ENABLED"] = True
    try:
        assert payout(world, code).status_code in (400, 422)
    finally:
        world["app"].config["WTF_CSRF_ENABLED"] = False
    assert rows(world, Disbursement) == []


# ---- invoices -------------------------------------------------------------------------

def upload(world, code, data, name, who="staff", **fields):
    return as_(world, who).post(f"/org/needs/{code}/evidence", content_type="multipart/form-data",
                                data={"photo": (io.BytesIO(data), name), "caption": "书包发票",
                                      "disbursement": "0", **fields})


def test_a_pdf_invoice_attached_to_a_payout_is_a_public_download(world):
    code = funded_wish(world)
    assert payout(world, code).status_code == 303
    payout_id = rows(world, Disbursement)[0].id
    form = as_(world, "staff").get(f"/org/needs/{code}/evidence?disbursement={payout_id}")
    assert form.status_code == 200 and f'<option selected value="{payout_id}">' in text(form)
    assert upload(world, code, PDF, "发票-王小安.pdf",
                  disbursement=str(payout_id)).status_code == 303
    row, = rows(world, Evidence)
    assert (row.kind, row.content_type, row.disbursement_id) == (
        "invoice", "application/pdf", payout_id)
    assert "王小安" not in row.filename  # the uploader's file name is not kept
    public = text(world["app"].test_client().get(f"/needs/{code}"))
    assert f'href="/disclosure/evidence/{row.id}" download' in public and "发票（PDF）" in public
    served = world["app"].test_client().get(f"/disclosure/evidence/{row.id}")
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.get_data() == PDF and "attachment" in served.headers["Content-Disposition"]


def test_a_pdf_invoice_may_belong_to_the_whole_need(world):
    code = funded_wish(world)
    assert upload(world, code, PDF, "invoice.pdf").status_code == 303
    row, = rows(world, Evidence)
    assert row.kind == "invoice" and row.disbursement_id is None
    assert "发票（PDF）" in text(world["app"].test_client().get(f"/needs/{code}"))


@pytest.mark.parametrize(("data", "name", "message"), [
    (PDF, "invoice.jpg", "文件内容与文件名不符"),
    (b"this is a text file, not an invoice", "invoice.pdf", "只接受"),
    (PDF.replace(b"/Pages 2 0 R", b"/OpenAction<</S/JavaScript/JS(x)>>"), "a.pdf", "脚本"),
])
def test_a_file_that_is_not_a_clean_pdf_invoice_is_refused(world, data, name, message):
    code = funded_wish(world)
    response = upload(world, code, data, name)
    assert response.status_code == 422 and message in text(response)
    assert rows(world, Evidence) == []


def test_an_invoice_cannot_name_another_needs_payout(world):
    code = funded_wish(world)
    response = upload(world, code, PDF, "invoice.pdf", disbursement="999")
    assert response.status_code == 422 and rows(world, Evidence) == []


# ---- milestones -----------------------------------------------------------------------

MILESTONES = "2027-01-15 完成场地改造\n2027-05-31 开展 12 次家访"


def project(world, **overrides) -> str:
    response = as_(world, "staff").post(
        f"/org/{world['org']}/needs/new-project",
        data=project_form(holder=str(world["org"]), milestones=MILESTONES, **overrides))
    assert response.status_code == 303, text(response)
    with unit_of_work(get_engine(world["url"])) as s:
        return s.exec(select(Need.code).where(Need.kind == "project")).one()


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def test_a_project_is_posted_with_its_milestones_and_one_is_marked_done(world):
    code = project(world)
    steps = sorted(rows(world, Milestone), key=lambda m: m.seq)
    assert [(m.title, str(m.due)) for m in steps] == [
        ("完成场地改造", "2027-01-15"), ("开展 12 次家访", "2027-05-31")]
    verified(world, code)
    page = text(as_(world, "staff").get(f"/org/needs/{code}"))
    done_url = f"/org/needs/{code}/milestones/{steps[0].id}/done"
    assert done_url in page
    assert as_(world, "staff").get(done_url).status_code == 200
    response = as_(world, "staff").post(done_url, content_type="multipart/form-data",
                                        data={"photo": (io.BytesIO(photo()), "done.jpg"),
                                              "caption": "儿童之家改造完成"})
    assert response.status_code == 303
    first, second = sorted(rows(world, Milestone), key=lambda m: m.seq)
    assert first.done_at is not None and second.done_at is None
    evidence, = rows(world, Evidence)
    assert evidence.kind == "photo" and evidence.caption == "儿童之家改造完成"
    public = text(world["app"].test_client().get(f"/needs/{code}"))
    assert "ms-done" in public and "完成场地改造" in public
    again = as_(world, "staff").post(done_url, content_type="multipart/form-data",
                                     data={"photo": (io.BytesIO(photo()), "done.jpg")})
    assert again.status_code == 422 and "该里程碑已完成" in text(again)
    assert len(rows(world, Evidence)) == 1


def test_a_milestone_is_marked_done_only_with_a_photo_by_its_organisation(world):
    code = project(world)
    verified(world, code)
    step = sorted(rows(world, Milestone), key=lambda m: m.seq)[0]
    url = f"/org/needs/{code}/milestones/{step.id}/done"
    assert as_(world, "other_staff").post(url, content_type="multipart/form-data", data={
        "photo": (io.BytesIO(photo()), "done.jpg")}).status_code == 403
    refused = as_(world, "staff").post(url, content_type="multipart/form-data",
                                       data={"photo": (io.BytesIO(PDF), "done.pdf")})
    assert refused.status_code == 422 and "此处不接受这种文件" in text(refused)
    assert as_(world, "staff").get(f"/org/needs/{code}/milestones/99999/done").status_code == 404
    assert all(m.done_at is None for m in rows(world, Milestone)) and rows(world, Evidence) == []


@pytest.mark.parametrize(("milestones", "message"), [
    ("完成场地改造", "应写成“日期 名称”"),
    ("2027-02-30 完成场地改造", "应写成“日期 名称”"),
    ("2027-09-01 完成场地改造", "里程碑日期须在实施周期内"),
])
def test_bad_milestones_are_refused_beside_the_field(world, milestones, message):
    response = as_(world, "staff").post(
        f"/org/{world['org']}/needs/new-project",
        data=project_form(holder=str(world["org"]), milestones=milestones))
    assert response.status_code == 422
    assert message in text(response) and 'id="milestones-errors"' in text(response)
    assert rows(world, Need) == [] and rows(world, Milestone) == []


def test_the_same_payout_form_sent_at_once_from_two_tabs_is_one_payout(world):
    """On PostgreSQL the second waits for the first (the need's row lock), then finds the
    payout its key already recorded."""
    import threading

    from tests.conftest import require_postgres

    require_postgres()
    code = funded_wish(world)
    engine = get_engine(world["url"])
    barrier = threading.Barrier(4)
    answers = []

    def send():
        barrier.wait()
        try:
            with unit_of_work(engine) as s:
                need = s.exec(select(Need).where(Need.code == code)).one()
                answers.append(funding.disburse(s, need, 5_000, "邹平市新华书店", key="raced").id)
        except Exception as exc:  # noqa: BLE001 — a duplicate-key crash would be a 500 page
            answers.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(set(answers)) == 1 and isinstance(answers[0], int)  # each answered the one payout
    assert len(rows(world, Disbursement)) == 1 and need_row(world, code).disbursed == 5_000


def test_the_payout_section_and_its_refusal_read_in_english(world):
    import re

    code = funded_wish(world)
    assert payout(world, code).status_code == 303
    client = as_(world, "admin")
    client.set_cookie("lang", "en")
    page = text(client.get(f"/org/needs/{code}"))
    section = page[page.index('id="disbursements"'):page.index("</section>", page.index(
        'id="disbursements"'))]
    assert "Record payout" in section and "Upload an invoice or photo" in section
    assert not re.findall(r"[\u3000-\u303f\uff00-\uffef]", section)  # no Chinese punctuation
    refused = client.post(f"/org/needs/{code}/disburse", data={
        "key": "en-1", "amount": "999", "paid_to": "Xinhua Bookshop", "paid_on": "2026-11-30"})
    assert refused.status_code == 422 and "拨付金额超过已筹金额" not in text(refused)
