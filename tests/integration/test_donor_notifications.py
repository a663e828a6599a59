"""Donors' notifications (issue 9 part 8): confirmed, disbursed, evidenced and a decision to
make, each written once in the unit of work of its event, mailed once by a job even when a
worker dies between sending and marking it sent, and shown in-site to signed-in donors."""
import io

import pytest
from PIL import Image
from sqlmodel import select

from core import mail
from core.db import get_engine, unit_of_work
from core.mail import read_outbox
from core.notify import Notification
from jobs import tasks
from needs.evidence import add_evidence
from needs.funding import disburse
from needs.models import Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.returns_helpers import give, mails, outbox, world  # noqa: F401


def _notices(url):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(Notification).order_by(Notification.id)).all()


def test_a_confirmed_gift_is_one_notice_and_one_mail(clean_url, outbox):  # noqa: F811
    codes = world(clean_url)
    uid = make_user(clean_url, "donor@example.cn", ("donor", {}))
    give(clean_url, codes["project"], 30_000, user_id=uid)
    give(clean_url, codes["project"], 20_000, name="李四", contact="li@example.cn")
    rows = _notices(clean_url)
    assert [(n.kind, n.user_id, n.email) for n in rows] == [
        ("gift_confirmed", uid, "donor@example.cn"), ("gift_confirmed", None, "li@example.cn")]
    assert all(n.sent_at is not None for n in rows)
    sent = mails(outbox)
    assert sorted(m.to for m in sent) == ["donor@example.cn", "li@example.cn"]
    assert {m.subject for m in sent} == {"您的捐款 ¥300.00 已到账", "您的捐款 ¥200.00 已到账"}

    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, uid)
    home = donor.get("/account/").get_data(as_text=True)
    assert "1 条未读" in home and "您的捐款 ¥300.00 已到账" in home
    assert "¥200.00" not in home  # the guest's notice is mail only, and not this donor's
    assert donor.post("/account/notices/read").status_code == 303
    assert "0 条未读" in donor.get("/account/").get_data(as_text=True)
    donor.get("/lang/en")
    text = donor.get("/account/").get_data(as_text=True)
    assert "Your gift of ¥300.00 has arrived" in text and "已到账" not in text


def test_the_public_cannot_mark_notices_read(clean_url):
    app = make_app(clean_url)
    assert app.test_client().post("/account/notices/read").status_code == 302


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


def test_disbursement_and_evidence_tell_every_donor_once(clean_url, outbox, tmp_path):  # noqa: F811
    codes = world(clean_url)
    uid = make_user(clean_url, "donor@example.cn", ("donor", {}))
    give(clean_url, codes["project"], 30_000, user_id=uid)
    give(clean_url, codes["project"], 20_000, name="王五", contact="13800138000")  # no email
    with unit_of_work(get_engine(clean_url)) as s:
        need = s.exec(select(Need).where(Need.code == codes["project"])).one()
        payout = disburse(s, need, 40_000, "滨州市图书供应站")
        add_evidence(s, tmp_path, need, _png(), caption="图书角照片", disbursement=payout)
        need_id, payout_id = need.id, payout.id
    kinds = [(n.kind, n.user_id) for n in _notices(clean_url)]
    assert kinds.count(("gift_disbursed", uid)) == 1 and kinds.count(("gift_evidenced", uid)) == 1
    assert len(kinds) == 3  # confirmed + disbursed + evidenced; the mobile-only guest: none
    # The job run again (a retry) writes and sends nothing new.
    before = len(mails(outbox))
    assert tasks.notify_need_donors(need_id, "gift_disbursed", f"disbursement:{payout_id}",
                                    40_000, "滨州市图书供应站", database_url=clean_url) == 0
    assert len(mails(outbox)) == before
    subjects = [m.subject for m in mails(outbox)]
    assert "您支持的“图书角”已拨付" in subjects and "“图书角”上传了新的凭证" in subjects


class WorkerDied(BaseException):
    """The process is killed: not an error the job handles."""


def test_a_worker_dying_between_send_and_mark_still_sends_one_mail(clean_url, outbox,  # noqa: F811
                                                                  monkeypatch):
    codes = world(clean_url)
    from core import outbox as jobs_outbox

    monkeypatch.setattr(jobs_outbox, "_sender", None)  # keep the mail job for this test
    give(clean_url, codes["project"], 30_000, contact="zhang@example.cn")
    [row] = _notices(clean_url)
    assert row.sent_at is None and mails(outbox) == []

    real_send = mail.send

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise WorkerDied()
    monkeypatch.setattr(mail, "send", send_then_die)
    with pytest.raises(WorkerDied):
        tasks.send_notification(row.id, database_url=clean_url)
    assert len(mails(outbox)) == 1 and _notices(clean_url)[0].sent_at is None

    monkeypatch.setattr(mail, "send", real_send)
    assert tasks.send_notification(row.id, database_url=clean_url) is True  # rq's retry
    assert tasks.send_notification(row.id, database_url=clean_url) is False  # the sweep's
    [entry] = mails(outbox)
    message = read_outbox(outbox, entry.name)
    assert message["Message-ID"].startswith(f"<notice-{row.id}-")
    assert _notices(clean_url)[0].sent_at is not None
