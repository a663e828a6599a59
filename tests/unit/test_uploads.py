"""Uploads are judged by their bytes: real images and PDFs pass, impostors are refused."""
import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from demo.evidence import photo_with_gps
from needs.evidence import MAX_BYTES
from needs.uploads import (
    IMAGES,
    UPLOAD_ACTIVE_PDF,
    UPLOAD_CORRUPT_IMAGE,
    UPLOAD_CORRUPT_PDF,
    UPLOAD_EMPTY,
    UPLOAD_NAME_MISMATCH,
    UPLOAD_NOT_HERE,
    UPLOAD_TOO_LARGE,
    UPLOAD_TOO_MANY_PIXELS,
    UPLOAD_TYPE,
    UploadError,
    check_upload,
    sniff,
    store_upload,
)

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _image(fmt: str, size=(40, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "green").save(out, fmt)
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge canvas (a decompression bomb's first bytes)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def _refused(message_id, data, filename=None, **kwargs):
    with pytest.raises(UploadError) as caught:
        check_upload(data, filename, **kwargs)
    assert caught.value.message_id == message_id, caught.value
    assert caught.value.message("en") != caught.value.message("zh_CN")
    return caught.value


def test_photo_is_accepted_and_loses_its_gps():
    checked = check_upload(photo_with_gps("W-1"), "IMG_0001.JPG")
    assert (checked.content_type, checked.extension) == ("image/jpeg", "jpg")
    with Image.open(io.BytesIO(checked.data)) as image:
        exif = image.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Make not in exif
    assert b"DemoCam" not in checked.data


@pytest.mark.parametrize("fmt, content_type, name", [
    ("PNG", "image/png", "receipt.png"), ("WEBP", "image/webp", "photo.webp"),
    ("JPEG", "image/jpeg", None), ("JPEG", "image/jpeg", "no-extension"),
])
def test_real_images_are_accepted(fmt, content_type, name):
    checked = check_upload(_image(fmt), name)
    assert checked.content_type == content_type and sniff(checked.data) == content_type


def test_pdf_invoice_is_accepted_as_uploaded():
    checked = check_upload(PDF, "发票.pdf")
    assert (checked.content_type, checked.data) == ("application/pdf", PDF)


@pytest.mark.parametrize("data, name", [
    (b"<html><script>alert(1)</script></html>", "photo.jpg"),
    (b"#!/bin/sh\nrm -rf /\n", "photo.jpg"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', "logo.png"),
    (b"MZ\x90\x00" + b"\x00" * 100, "invoice.pdf"),
    (b"GIF89a" + b"\x00" * 50, "anim.gif"),
    (b"PK\x03\x04" + b"\x00" * 50, "docs.pdf"),
])
def test_other_kinds_of_file_are_refused_whatever_their_name(data, name):
    _refused(UPLOAD_TYPE, data, name)


@pytest.mark.parametrize("data, name", [
    (PDF, "photo.png"), (_image("PNG"), "photo.jpg"), (_image("JPEG"), "run.exe"),
    (_image("WEBP"), "x.pdf"),
])
def test_a_name_that_lies_about_the_content_is_refused(data, name):
    _refused(UPLOAD_NAME_MISMATCH, data, name)


def test_truncated_and_corrupt_images_are_refused():
    photo = photo_with_gps("W-2")
    _refused(UPLOAD_CORRUPT_IMAGE, photo[: len(photo) // 2], "a.jpg")
    _refused(UPLOAD_CORRUPT_IMAGE, b"\xff\xd8\xff\xe0" + b"garbage" * 20, "a.jpg")
    png = bytearray(_image("PNG"))
    png[30] ^= 0xFF  # breaks the IHDR checksum
    _refused(UPLOAD_CORRUPT_IMAGE, bytes(png), "a.png")
    _refused(UPLOAD_CORRUPT_IMAGE, b"RIFF\x10\x00\x00\x00WEBPVP8 junk", "a.webp")


def test_decompression_bombs_are_refused():
    _refused(UPLOAD_TOO_MANY_PIXELS, _image("PNG", (8000, 6000), "1"), "big.png")  # 48 MP
    _refused(UPLOAD_TOO_MANY_PIXELS, _png_claiming(30000, 30000), "bomb.png")  # 900 MP


def test_html_appended_to_a_real_jpeg_does_not_survive():
    polyglot = photo_with_gps("W-3") + b"<html><script>alert(1)</script></html>"
    checked = check_upload(polyglot, "a.jpg")
    assert b"<script" not in checked.data


@pytest.mark.parametrize("data, message_id", [
    (PDF.replace(b"%%EOF", b""), UPLOAD_CORRUPT_PDF),
    (b"%PDF-x.y\n%%EOF", UPLOAD_CORRUPT_PDF),
    (PDF.replace(b"/Type /Catalog", b"/Type /Catalog /Names << /JavaScript 3 0 R >>"),
     UPLOAD_ACTIVE_PDF),
    (PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /Launch /F (x.exe) >>"),
     UPLOAD_ACTIVE_PDF),
    (PDF.replace(b"/Type /Catalog", b"/Type /Catalog /Names << /EmbeddedFiles 4 0 R >>"),
     UPLOAD_ACTIVE_PDF),
])
def test_broken_or_active_pdfs_are_refused(data, message_id):
    _refused(message_id, data, "invoice.pdf")


def test_size_and_emptiness():
    _refused(UPLOAD_EMPTY, b"", "a.jpg")
    _refused(UPLOAD_EMPTY, None)
    error = _refused(UPLOAD_TOO_LARGE, b"\xff\xd8\xff" + b"\x00" * MAX_BYTES, "a.jpg")
    assert "10 MB" in error.message("en") and "10 MB" in error.message("zh_CN")
    _refused(UPLOAD_TOO_LARGE, PDF, "a.pdf", max_bytes=10)


def test_a_field_can_accept_only_images():
    _refused(UPLOAD_NOT_HERE, PDF, "invoice.pdf", allowed=IMAGES)
    assert check_upload(_image("PNG"), allowed=IMAGES).content_type == "image/png"


def test_checked_uploads_are_stored_once_by_content(tmp_path):
    checked = check_upload(PDF, "a.pdf")
    first, second = store_upload(tmp_path, checked), store_upload(tmp_path, checked)
    assert first == second and first.read_bytes() == PDF
    assert first.name == f"{checked.sha256}.pdf"
