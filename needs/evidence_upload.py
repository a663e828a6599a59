"""Organisation staff upload a photo of what a verified need's money bought or delivered.
The file is checked by its content (needs/uploads.py) and stored with EXIF/GPS removed
(needs/evidence.py). A photo showing a minor's face may be published only under a consent
record that allows photos (needs.models.BeneficiaryConsent)."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from core.errors import UserError
from needs.evidence import add_evidence
from needs.models import PUBLIC_STATES, Beneficiary, BeneficiaryConsent, Evidence, Need
from needs.uploads import IMAGES, check_upload


def photo_allowed(session: Session, need: Need) -> bool:
    """May a photo showing this need's beneficiary's face be published?"""
    if need.beneficiary_id is None:
        return False
    person = session.get(Beneficiary, need.beneficiary_id)
    if not person.is_minor:
        return True
    consent = session.exec(select(BeneficiaryConsent).where(
        BeneficiaryConsent.beneficiary_id == person.id)
        .order_by(BeneficiaryConsent.id.desc())).first()
    return bool(consent and consent.allow_photo)


def upload_photo(session: Session, upload_dir: Path, need: Need, data: bytes,
                 filename: str | None, *, caption: str, shows_face: bool,
                 actor_id: int | None) -> Evidence:
    if need.state not in PUBLIC_STATES:
        raise UserError("需求核实后才能上传凭证照片")
    checked = check_upload(data, filename, allowed=IMAGES)
    if shows_face and not photo_allowed(session, need):
        raise UserError("照片中有未成年受益人的面部，但没有允许公开照片的同意记录")
    return add_evidence(session, upload_dir, need, checked.data, caption=caption,
                        uploaded_by=actor_id)


def upload_evidence(session: Session, upload_dir: Path, need: Need, data: bytes,
                    filename: str | None, *, caption: str = "", shows_face: bool = False,
                    uploaded_by: int | None = None) -> Evidence:
    """The API's upload: the page's rules exactly (a verified need, a photo checked by its
    content, a minor's face only under consent)."""
    return upload_photo(session, upload_dir, need, data, filename, caption=caption,
                        shows_face=shows_face, actor_id=uploaded_by)
