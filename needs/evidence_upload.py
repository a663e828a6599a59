"""Organisation staff upload a photo or a PDF invoice of what a verified need's money bought or
delivered. The file is checked by its content (needs/uploads.py); photos are stored with EXIF/GPS removed
(needs/evidence.py). A photo showing a minor's face may be published only under a consent
record that allows photos (needs.models.BeneficiaryConsent)."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from core.errors import UserError
from funds.models import Disbursement
from needs.evidence import add_evidence
from needs.invoices import add_invoice
from needs.models import PUBLIC_STATES, Beneficiary, BeneficiaryConsent, Evidence, Need
from needs.uploads import EVERYTHING, IMAGES, PDF, check_upload


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
                 actor_id: int | None, disbursement_id: int | None = None,
                 allowed: tuple[str, ...] = EVERYTHING) -> Evidence:
    """A photo or a PDF invoice, for the need or one of its disbursements."""
    if need.state not in PUBLIC_STATES:
        raise UserError("需求核实后才能上传凭证照片")
    checked = check_upload(data, filename, allowed=allowed)
    payout = None
    if disbursement_id:
        payout = session.get(Disbursement, disbursement_id)
        if payout is None or payout.need_id != need.id:
            raise UserError("该拨付不属于此需求")
    if checked.content_type == PDF:  # an invoice: never a photo of a person
        return add_invoice(session, upload_dir, need, checked, caption=caption,
                           disbursement=payout, uploaded_by=actor_id)
    if shows_face and not photo_allowed(session, need):
        raise UserError("照片中有未成年受益人的面部，但没有允许公开照片的同意记录")
    return add_evidence(session, upload_dir, need, checked.data, caption=caption,
                        disbursement=payout, uploaded_by=actor_id)


def upload_evidence(session: Session, upload_dir: Path, need: Need, data: bytes,
                    filename: str | None, *, caption: str = "", shows_face: bool = False,
                    uploaded_by: int | None = None) -> Evidence:
    """The API's upload: the page's rules (a verified need, a file checked by its content, a
    minor's face only under consent), photos only: its schema promises an image."""
    return upload_photo(session, upload_dir, need, data, filename, caption=caption,
                        shows_face=shows_face, actor_id=uploaded_by, allowed=IMAGES)
