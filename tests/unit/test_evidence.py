"""Evidence photos: metadata is stripped, files are content-addressed, bad files refused."""
import hashlib
import io

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from demo.evidence import photo_with_gps
from needs.evidence import MAX_BYTES, EvidenceError, store_image, stored_path, strip_metadata


def _exif(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif(), dict(image.info)


def test_stored_jpeg_has_no_exif_and_no_gps(tmp_path):
    original = photo_with_gps("W-1")
    exif, _info = _exif(original)
    assert exif.get_ifd(ExifTags.IFD.GPSInfo), "the fixture must carry GPS to be meaningful"
    assert exif[ExifTags.Base.Make] == "DemoCam"

    clean = store_image(tmp_path, original)
    path = stored_path(tmp_path, clean.sha256, "jpg")
    stored = path.read_bytes()
    exif, info = _exif(stored)
    assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in info and b"Exif" not in stored and b"DemoCam" not in stored
    assert hashlib.sha256(stored).hexdigest() == clean.sha256
    assert clean.content_type == "image/jpeg" and (clean.width, clean.height) == (320, 240)


def test_same_photo_is_stored_once(tmp_path):
    data = photo_with_gps("same")
    first, second = store_image(tmp_path, data), store_image(tmp_path, data)
    assert first.sha256 == second.sha256
    assert len(list((tmp_path / "evidence").rglob("*.jpg"))) == 1


def test_png_text_chunks_are_dropped():
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Author", "张三 13800000000")
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "PNG", pnginfo=meta)
    clean = strip_metadata(out.getvalue())
    assert clean.content_type == "image/png"
    assert b"13800000000" not in clean.data
    assert not _exif(clean.data)[1].get("Author")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image", "not a readable image"),
    (b"GIF89a" + b"\x00" * 10, "not a readable image"),
    (b"\xff" * (MAX_BYTES + 1), "too large"),
])
def test_bad_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(EvidenceError) as caught:
        strip_metadata(data)
    assert message in caught.value.message("en") and caught.value.message()


def test_huge_pixel_count_is_refused():
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")  # 48 MP, a small file
    with pytest.raises(EvidenceError, match="像素过多"):
        strip_metadata(out.getvalue())


def test_unsupported_image_format_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "TIFF")
    with pytest.raises(EvidenceError, match="只接受 JPEG"):
        strip_metadata(out.getvalue())
