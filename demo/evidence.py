"""Demo evidence photos: simple pictures drawn with Pillow, each carrying fake EXIF (camera,
GPS position) so that the upload path's metadata stripping is exercised on every load."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw
from sqlmodel import Session, select

from core.config import Settings
from funds.models import Disbursement
from needs.evidence import add_evidence
from needs.models import Need

COLOURS = ("#c8553d", "#2d6a8f", "#6a994e", "#bc6c25", "#7b2cbf", "#588157")


def photo_with_gps(label: str, colour: str = "#c8553d", size: tuple[int, int] = (320, 240),
                   lat: tuple[float, float, float] = (21.0, 39.0, 48.5),
                   lon: tuple[float, float, float] = (109.0, 11.0, 30.2)) -> bytes:
    """A JPEG with a camera make/model and a GPS position in its EXIF (to be stripped)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, size[0] - 12, size[1] - 12), outline="white", width=4)
    draw.text((24, size[1] // 2 - 6), label.encode("ascii", "replace").decode(), fill="white")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "DemoCam"
    exif[ExifTags.Base.Model] = "GPS-1"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = lat
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = lon
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


def add_demo_evidence(session: Session, upload_dir: Path | None = None, count: int = 8) -> int:
    """Attach a photo to the first disbursement of each programme (at most `count`)."""
    upload_dir = upload_dir or Settings.from_env().upload_dir
    rows = session.exec(select(Disbursement, Need).join(Need, Need.id == Disbursement.need_id)
                        .order_by(Disbursement.id)).all()
    seen: set[int] = set()
    added = 0
    for payout, need in rows:
        if need.programme_id in seen:
            continue
        seen.add(need.programme_id)
        data = photo_with_gps(f"{need.code} #{payout.ledger_seq}", COLOURS[added % len(COLOURS)])
        add_evidence(session, upload_dir, need, data, disbursement=payout,
                     caption=f"拨付凭证：{payout.memo or payout.paid_to}")
        added += 1
        if added >= count:
            break
    return added
