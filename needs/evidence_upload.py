"""Evidence sent as a file (the API's upload): checked by its content like every upload
(needs.uploads: sniffed type, name agreeing with the bytes, size, full decode), then stored
without metadata and recorded by needs.evidence."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from needs.evidence import MAX_BYTES, add_evidence
from needs.models import Evidence, Need
from needs.uploads import IMAGES, check_upload


def upload_evidence(session: Session, upload_dir: Path, need: Need, data: bytes,
                    filename: str | None, *, caption: str = "",
                    uploaded_by: int | None = None) -> Evidence:
    """Evidence files are photos: a PDF or anything else is refused (UploadError)."""
    checked = check_upload(data, filename, allowed=IMAGES, max_bytes=MAX_BYTES)
    return add_evidence(session, upload_dir, need, checked.data, caption=caption,
                        uploaded_by=uploaded_by)
