"""Checking an uploaded file by its content, never by its name.

The bytes are sniffed (JPEG, PNG, WebP, PDF; everything else is refused, whatever it is
called), the name's extension must agree with what the bytes are, and the size is limited.
Images are then decoded in full — a truncated or corrupt file, or one with too many pixels
(a decompression bomb), is refused — and re-encoded without metadata by
`needs.evidence.strip_metadata`, the one place that removes EXIF/GPS. A PDF (an invoice)
must be whole (ends with %%EOF) and carry no scripts, launch actions or embedded files.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.messages import N_, MessageError
from needs.evidence import MAX_BYTES, MAX_PIXELS, EvidenceError, stored_path, strip_metadata

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
IMAGES = (JPEG, PNG, WEBP)
EVERYTHING = (*IMAGES, PDF)
EXTENSION = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
TYPE_OF_EXTENSION = {"jpg": JPEG, "jpeg": JPEG, "jpe": JPEG, "png": PNG, "webp": WEBP,
                     "pdf": PDF}
PILLOW_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",), WEBP: ("WEBP",)}
# Active content an invoice never needs (names as they appear in a PDF's dictionaries).
PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)\b")

UPLOAD_EMPTY = N_("文件为空")
UPLOAD_TOO_LARGE = N_("文件过大（上限 %(limit)s MB）")
UPLOAD_TYPE = N_("只接受 JPEG、PNG、WebP 图片或 PDF 文件")
UPLOAD_NOT_HERE = N_("此处不接受这种文件")
UPLOAD_NAME_MISMATCH = N_("文件内容与文件名不符")
UPLOAD_CORRUPT_IMAGE = N_("图片已损坏或不完整")
UPLOAD_TOO_MANY_PIXELS = N_("图片像素过多")
UPLOAD_CORRUPT_PDF = N_("PDF 文件已损坏或不完整")
UPLOAD_ACTIVE_PDF = N_("PDF 文件含有脚本、动作或嵌入文件，不能接受")


class UploadError(MessageError):
    """An upload that is not what it claims or not allowed here (nothing is stored)."""


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    extension: str
    data: bytes  # images: re-encoded without metadata; PDFs: as uploaded
    sha256: str


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _check_image(data: bytes, content_type: str) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in PILLOW_FORMATS[content_type]:
                    raise UploadError(UPLOAD_NAME_MISMATCH)
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise UploadError(UPLOAD_TOO_MANY_PIXELS)
    except UploadError:  # a ValueError itself: not to be taken for a decoding failure
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError(UPLOAD_TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError(UPLOAD_CORRUPT_IMAGE) from exc
    try:
        # Decodes every pixel (a truncated file fails here) and drops EXIF, GPS, ICC, XMP.
        return strip_metadata(data).data
    except EvidenceError as exc:
        raise UploadError(UPLOAD_CORRUPT_IMAGE) from exc


def _check_pdf(data: bytes) -> bytes:
    if not re.match(rb"%PDF-[12]\.\d", data) or b"%%EOF" not in data[-1024:]:
        raise UploadError(UPLOAD_CORRUPT_PDF)
    if PDF_ACTIVE.search(data):
        raise UploadError(UPLOAD_ACTIVE_PDF)
    return data


def check_upload(data: bytes, filename: str | None = None, *,
                 allowed: tuple[str, ...] = EVERYTHING,
                 max_bytes: int = MAX_BYTES) -> CheckedUpload:
    """The upload's detected type and its (clean) bytes, or UploadError."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise UploadError(UPLOAD_EMPTY)
    if len(data) > max_bytes:
        raise UploadError(UPLOAD_TOO_LARGE, limit=max_bytes // (1024 * 1024))
    data = bytes(data)
    content_type = sniff(data)
    if content_type is None:
        raise UploadError(UPLOAD_TYPE)
    if content_type not in allowed:
        raise UploadError(UPLOAD_NOT_HERE)
    if filename:
        _stem, dot, extension = filename.rpartition(".")
        if dot and TYPE_OF_EXTENSION.get(extension.strip().lower()) != content_type:
            raise UploadError(UPLOAD_NAME_MISMATCH)
    clean = _check_pdf(data) if content_type == PDF else _check_image(data, content_type)
    if content_type != PDF:
        # strip_metadata keeps the format it was given (JPEG, PNG or WebP here).
        content_type = sniff(clean) or content_type
    return CheckedUpload(content_type, EXTENSION[content_type], clean,
                         hashlib.sha256(clean).hexdigest())


def store_upload(upload_dir: Path, upload: CheckedUpload) -> Path:
    """Write a checked upload once, named by its content hash, beside the evidence photos."""
    path = stored_path(upload_dir, upload.sha256, upload.extension)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(upload.data)
        tmp.replace(path)
    return path
