"""Invoices (发票) as PDF evidence for a need or one of its disbursements. The bytes were
checked by content (needs/uploads.py: a real PDF, no scripts, actions or embedded files) and
are stored as uploaded, named by their SHA-256; the uploader's file name is not kept. An
invoice is never a photo of a person, so it needs no consent."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from core.audit import record
from core.clock import now
from core.outbox import defer
from funds.models import Disbursement
from needs.evidence import DONOR_NOTICE_JOB, EvidenceError
from needs.models import Evidence, Need
from needs.uploads import PDF, CheckedUpload, store_upload


def add_invoice(session: Session, upload_dir: Path, need: Need, upload: CheckedUpload, *,
                caption: str = "", disbursement: Disbursement | None = None,
                uploaded_by: int | None = None) -> Evidence:
    """Record a checked PDF invoice; counts as a disclosure, and the need's donors are told."""
    if disbursement is not None and disbursement.need_id != need.id:
        raise EvidenceError("该拨付不属于此需求")
    if len(caption) > 300:
        raise EvidenceError("说明最多300字")
    if upload.content_type != PDF:
        raise EvidenceError("发票须为 PDF 文件")
    store_upload(upload_dir, upload)
    sha256 = upload.sha256
    evidence = Evidence(need_id=need.id, disbursement_id=disbursement.id if disbursement else None,
                        kind="invoice", filename=f"{sha256[:16]}.pdf", sha256=sha256,
                        content_type=PDF, caption=caption.strip(), uploaded_by=uploaded_by)
    session.add(evidence)
    need.last_disclosed_at = now()
    session.add(need)
    session.flush()
    record(session, "evidence.add", f"need:{need.code}", uploaded_by, sha256=sha256,
           disbursement=evidence.disbursement_id)
    defer(session, DONOR_NOTICE_JOB, need.id, "gift_evidenced", f"evidence:{evidence.id}")
    return evidence
