"""In a real browser, the charity side end to end: an organisation signs up and applies, an
admin approves it, its staff post a 微心愿 and then a second one whose beneficiary is a near
duplicate of the first (flagged for the verifier), the verifier marks the duplicate and
verifies the first, which is then found by search on /needs; the organisation uploads a
JPEG carrying EXIF GPS and the public page serves it with no metadata."""
from __future__ import annotations

import io
import random
import re
from datetime import date

import pytest
from PIL import ExifTags, Image

from core.identifiers import generate_id_number
from core.mail import MailSettings
from demo.evidence import photo_with_gps
from tests.integration.onboarding_helpers import uscc

pytestmark = pytest.mark.browser
NAME = "邹平市星光儿童服务中心"
REGION = "山东省/滨州市/邹平市"
BORN = date(2016, 4, 2)


@pytest.fixture(autouse=True)
def outbox(tmp_path, monkeypatch):
    monkeypatch.delenv("MAIL_SERVER", raising=False)  # decision mails go to a folder
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))


def _apply_and_get_approved(page, page_as, sign_up, fill_application, live_url):
    from playwright.sync_api import expect

    sign_up(page, "星光王社工", "xingguang@b.cn", "xingguang password")
    fill_application(page, name=NAME, region=REGION, uscc=uscc(91), contact_name="王社工",
                     contact_phone="0543-4444444", contact_email="xingguang@b.cn")
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/onboarding/$"))

    admin = page_as("admin@demo.shanlian")
    admin.goto(f"{live_url}/admin/applications")
    admin.click(f"text={NAME}")
    admin.click("button:has-text('通过'):not(:has-text('不'))")
    expect(admin).to_have_url(re.compile(r"/admin/applications$"))


def _post_wish(page, live_url, title, item, *, pseudonym, full_name, seed, address):
    from playwright.sync_api import expect

    page.goto(f"{live_url}/account/")
    page.click("text=本机构的需求")
    page.click("text=发布微心愿")
    page.fill("#title", title)
    page.fill("#item", item)
    page.fill("#price", "86.50")
    page.select_option("#category", "助学")
    page.fill("#region", f"{REGION}/黄山街道/齐明社区")
    page.fill("#story", f"{pseudonym}喜欢画画。")
    page.select_option("#beneficiary", "0")
    page.fill("#pseudonym", pseudonym)
    page.fill("#full_name", full_name)
    page.fill("#id_number", generate_id_number(random.Random(seed), BORN, "371626"))
    page.fill("#address", address)
    page.fill("#guardian", "陈建国（虚构）")
    page.fill("#consent_by", "陈建国（虚构）")
    page.fill("#consent_on", "2026-11-02")
    page.check("#allow_photo")
    page.check("#allow_story")
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/org/needs/W-\d+$"))
    code = page.url.rsplit("/", 1)[1]
    page.click("button:has-text('提交审核')")
    expect(page.locator("main")).to_contain_text("待审核")
    return code


def test_the_charity_journey(live_url, page, page_as, new_page, sign_up, fill_application):
    from playwright.sync_api import expect

    _apply_and_get_approved(page, page_as, sign_up, fill_application, live_url)
    first = _post_wish(page, live_url, "星光心愿：一盒二十四色水彩笔", "水彩笔",
                       pseudonym="小远", full_name="陈思远", seed=4101,
                       address="邹平市黄山街道齐明社区7号（虚构）")
    second = _post_wish(page, live_url, "星光心愿：一本画册", "画册",
                        pseudonym="小源", full_name="陈思源", seed=4102,
                        address="邹平市黄山街道齐明社区7号楼（虚构）")

    verifier = page_as("verifier@demo.shanlian")
    verifier.goto(f"{live_url}/verify/")
    expect(verifier.locator("main")).to_contain_text(first)
    verifier.goto(f"{live_url}/verify/needs/{second}")
    panel = verifier.locator("article.duplicate")
    expect(panel).to_contain_text("疑似同一人")
    expect(panel).to_contain_text("陈思远")  # the verifier sees who it may be
    panel.locator("select").select_option("duplicate")
    panel.locator("button").click()
    expect(verifier.locator("article.duplicate")).to_contain_text("重复")
    verifier.select_option("#decision", "reject")
    verifier.fill("#reason", "与 陈思远 为同一人，已有心愿")
    verifier.click("button:has-text('提交审核结果')")
    verifier.goto(f"{live_url}/verify/needs/{first}")
    verifier.select_option("#decision", "verify")
    verifier.click("button:has-text('提交审核结果')")
    expect(verifier.locator("main")).not_to_contain_text(first)  # back on the queue

    public = new_page()
    public.goto(f"{live_url}/needs?q=水彩笔")
    expect(public.locator("main")).to_contain_text("星光心愿：一盒二十四色水彩笔")
    expect(public.locator("main")).not_to_contain_text("星光心愿：一本画册")

    page.goto(f"{live_url}/org/needs/{first}")
    page.click("text=上传凭证照片")
    page.set_input_files("#photo", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                           "buffer": photo_with_gps(first)}])
    page.fill("#caption", "水彩笔已送到小远手中")
    page.check("#shows_face")
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/org/needs/{first}$"))

    public.goto(f"{live_url}/needs/{first}")
    image = public.locator("img[alt='水彩笔已送到小远手中']")
    expect(image).to_be_visible()
    served = public.request.get(live_url + image.get_attribute("src")).body()
    with Image.open(io.BytesIO(served)) as photo:
        exif = photo.getexif()
        assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"DemoCam" not in served and b"GPS" not in served
