"""Organisation staff upload an evidence photo for a verified need: served publicly with no
EXIF/GPS; a file that is not an image, a draft need, another organisation and a minor's face
without consent are refused, writing nothing."""
from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.mail import MailSettings
from demo.evidence import photo_with_gps
from needs import duplicate_check
from needs.models import Evidence, Need
from tests.conftest import make_app
from tests.integration.charity_helpers import as_, organisation, staff, verifier, wish_form
from tests.integration.onboarding_helpers import PDF


@pytest.fixture
def world(clean_url, tmp_path, monkeypatch):
    duplicate_check.forget_indexes()
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setattr(MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    org = organisation(clean_url, "邹平市齐明社工站")
    other = organisation(clean_url, "滨城区阳光社工站", "山东省/滨州市/滨城区")
    w = {"url": clean_url, "app": make_app(clean_url), "org": org,
         "staff": staff(clean_url, "s@qm.cn", org), "other_staff": staff(clean_url, "s@yg.cn", other),
         "verifier": verifier(clean_url, "v@bz.cn", "山东省/滨州市")}
    yield w
    duplicate_check.forget_indexes()


def wish(world, verified=True, **form) -> str:
    assert as_(world, "staff").post(f"/org/{world['org']}/needs/new-wish",
                                    data=wish_form(**form)).status_code == 303
    with unit_of_work(get_engine(world["url"])) as s:
        code = s.exec(select(Need.code)).one()
    if verified:
        as_(world, "staff").post(f"/org/needs/{code}/submit")
        assert as_(world, "verifier").post(f"/verify/needs/{code}",
                                           data={"decision": "verify"}).status_code == 303
    return code


def upload(world, code, data, name="photo.jpg", who="staff", **fields):
    return as_(world, who).post(f"/org/needs/{code}/evidence", content_type="multipart/form-data",
                                data={"photo": (io.BytesIO(data), name), "caption": "书包已送到",
                                      **fields})


def evidence(world):
    with unit_of_work(get_engine(world["url"])) as s:
        return s.exec(select(Evidence)).all()


def test_an_uploaded_photo_is_served_without_exif_or_gps(world):
    code = wish(world)
    original = photo_with_gps("W-1")
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload carries GPS
    staff_page = as_(world, "staff").get(f"/org/needs/{code}")  # a verified need's page
    assert staff_page.status_code == 200 and "上传凭证照片" in staff_page.get_data(as_text=True)
    assert upload(world, code, original, shows_face="y").status_code == 303
    row, = evidence(world)
    page = world["app"].test_client().get(f"/needs/{code}").get_data(as_text=True)
    assert f"/disclosure/evidence/{row.id}" in page
    served = world["app"].test_client().get(f"/disclosure/evidence/{row.id}").get_data()
    with Image.open(io.BytesIO(served)) as image:
        exif = image.getexif()
        assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"DemoCam" not in served


@pytest.mark.parametrize(("data", "name", "message"), [
    (PDF, "photo.jpg", "文件内容与文件名不符"),  # a PDF invoice is fine, under its own name
    (b"not an image at all", "photo.jpg", "只接受"),
    (b"not a pdf at all", "invoice.pdf", "只接受"),
])
def test_a_file_that_is_not_an_image_is_refused(world, data, name, message):
    code = wish(world)
    response = upload(world, code, data, name)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert evidence(world) == []


def test_a_minors_face_needs_a_consent_that_allows_photos(world):
    code = wish(world, allow_photo="")
    response = upload(world, code, photo_with_gps("W-2"), shows_face="y")
    assert response.status_code == 422 and "同意记录" in response.get_data(as_text=True)
    assert upload(world, code, photo_with_gps("W-2")).status_code == 303  # no face shown


def test_a_draft_need_and_another_organisation_are_refused(world):
    code = wish(world, verified=False)
    response = upload(world, code, photo_with_gps("W-3"))
    assert response.status_code == 422 and "核实后" in response.get_data(as_text=True)
    assert upload(world, code, photo_with_gps("W-3"), who="other_staff").status_code == 403
    assert evidence(world) == []
