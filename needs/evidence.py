"""Disbursement and delivery evidence: photos stored by content hash, metadata removed.

An uploaded image is decoded with Pillow and re-encoded from its pixels only, so EXIF (GPS
position, camera serial, time) and any other embedded metadata never reach the disk. The
stored file is named by the SHA-256 of the clean bytes; the same photo uploaded twice is
stored once. Attaching evidence counts as a disclosure of the project's progress.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.errors import NotFound, UserError
from core.outbox import defer
from funds.models import Disbursement
from needs.models import Evidence, Need

MAX_BYTES = 10 * 1024 * 1024  # 10 MB per file
MAX_PIXELS = 40_000_000  # refuses decompression bombs long before Pillow's own limit
MAX_SIDE = 4096  # larger photos are scaled down when stored
# Pillow format → (stored format, content type, extension, save options)
FORMATS = {
    "JPEG": ("JPEG", "image/jpeg", "jpg", {"quality": 88, "optimize": True}),
    "MPO": ("JPEG", "image/jpeg", "jpg", {"quality": 88, "optimize": True}),
    "PNG": ("PNG", "image/png", "png", {"optimize": True}),
    "WEBP": ("WEBP", "image/webp", "webp", {"quality": 85}),
    "GIF": ("PNG", "image/png", "png", {"optimize": True}),
    "BMP": ("PNG", "image/png", "png", {"optimize": True}),
}


class EvidenceError(UserError):
    """A file that cannot be accepted as evidence (nothing is stored)."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int


def strip_metadata(data: bytes) -> CleanImage:
    """Decode an image and re-encode its pixels only. Refuses anything that is not a
    reasonably sized JPEG, PNG, WebP, GIF or BMP image."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise EvidenceError("文件为空")
    if len(data) > MAX_BYTES:
        raise EvidenceError("文件过大（上限 %(mb)s MB）", mb=MAX_BYTES // 1024 // 1024)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            if fmt not in FORMATS:
                raise EvidenceError("只接受 JPEG、PNG、WebP 图片")
            if width * height > MAX_PIXELS:
                raise EvidenceError("图片像素过多")
            probe.verify()  # structural check; the image must be reopened after verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)  # keep the picture upright without EXIF
    except EvidenceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise EvidenceError("文件不是可识别的图片") from exc
    target, content_type, extension, options = FORMATS[fmt]
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    if target == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if target == "PNG" and image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    # A fresh image holding only the pixels: no info dict, no EXIF, no ICC, no XMP.
    clean = Image.new(image.mode, image.size)
    if image.mode == "P":
        clean.putpalette(image.getpalette())
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format=target, **options)
    clean_bytes = out.getvalue()
    return CleanImage(clean_bytes, hashlib.sha256(clean_bytes).hexdigest(), content_type,
                      extension, clean.width, clean.height)


def stored_path(upload_dir: Path, sha256: str, extension: str) -> Path:
    """Where a file lives: <upload_dir>/evidence/ab/abcdef….jpg"""
    return Path(upload_dir) / "evidence" / sha256[:2] / f"{sha256}.{extension}"


def store_image(upload_dir: Path, data: bytes) -> CleanImage:
    """Strip the metadata and write the clean file (once) under the upload dir."""
    clean = strip_metadata(bytes(data))
    path = stored_path(upload_dir, clean.sha256, clean.extension)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(clean.data)
        tmp.replace(path)
    return clean


DONOR_NOTICE_JOB = "jobs.tasks.notify_need_donors"  # the donors are told after the commit


def add_evidence(session: Session, upload_dir: Path, need: Need, data: bytes,
                 *, caption: str = "", disbursement: Disbursement | None = None,
                 kind: str = "photo", uploaded_by: int | None = None) -> Evidence:
    """Store a photo for a need (optionally for one of its disbursements) and record it.
    Counts as a disclosure: the need's last_disclosed_at moves to now."""
    if disbursement is not None and disbursement.need_id != need.id:
        raise EvidenceError("该拨付不属于此需求")
    if len(caption) > 300:
        raise EvidenceError("说明最多300字")
    clean = store_image(upload_dir, data)
    # The uploader's file name may carry a person's name: it is not kept.
    name = f"{clean.sha256[:16]}.{clean.extension}"
    evidence = Evidence(need_id=need.id, disbursement_id=disbursement.id if disbursement else None,
                        kind=kind, filename=name, sha256=clean.sha256,
                        content_type=clean.content_type, caption=caption.strip(),
                        uploaded_by=uploaded_by)
    session.add(evidence)
    need.last_disclosed_at = now()
    session.add(need)
    session.flush()
    record(session, "evidence.add", f"need:{need.code}", uploaded_by, sha256=clean.sha256,
           disbursement=evidence.disbursement_id)
    defer(session, DONOR_NOTICE_JOB, need.id, "gift_evidenced", f"evidence:{evidence.id}")
    return evidence


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
              "application/pdf": "pdf"}  # a PDF is an invoice (needs/invoices.py)


def evidence_file(session: Session, upload_dir: Path, evidence_id: int,
                  public_states: tuple[str, ...]) -> tuple[Evidence, Path]:
    """The evidence row and its stored file, only for a need that may be shown publicly."""
    row = session.exec(
        select(Evidence).join(Need, Need.id == Evidence.need_id)
        .where(Evidence.id == evidence_id, Need.state.in_(public_states))).first()
    if row is None:
        raise NotFound("找不到凭证 %(id)s", id=evidence_id)
    path = stored_path(upload_dir, row.sha256, EXTENSIONS.get(row.content_type, "bin"))
    if not path.is_file():
        raise NotFound("凭证文件缺失 %(id)s", id=evidence_id)
    return row, path
