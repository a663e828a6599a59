"""The duplicate check of a submitted need's beneficiary against every beneficiary of every
organisation, through one in-memory DuplicateIndex per process and database.

The index is built once from beneficiary_private and kept fresh by reading only the rows
added since (ids above the last one seen) before each check, so a beneficiary entered by any
worker is found by every other one. Candidates above the threshold become DuplicateFlag
rows that a verifier resolves: "same person, allowed" or "duplicate"."""
from __future__ import annotations

import threading

from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.errors import UserError
from needs.duplicates import DEFAULT_THRESHOLD, DuplicateIndex, Record
from needs.models import (
    ACTIVE_STATES,
    Beneficiary,
    BeneficiaryPrivate,
    DuplicateFlag,
    Need,
)

_lock = threading.Lock()
# url → (index, [last id seen, its name])
_indexes: dict[str, tuple[DuplicateIndex, list]] = {}


def _record(private: BeneficiaryPrivate, organisation_id: int | None) -> Record:
    return Record(private.beneficiary_id, organisation_id, private.full_name,
                  private.birth_date, private.address, private.id_hash)


def index_for(session: Session) -> DuplicateIndex:
    """This process's index of the session's database, with every beneficiary in it."""
    url = session.get_bind().url.render_as_string(hide_password=True)
    with _lock:
        index, last = _indexes.setdefault(url, (DuplicateIndex(), [0, ""]))
        if last[0]:
            # The last row seen is still there under the same name, or the database was
            # emptied behind the index's back (a test, a restore): start again. One primary
            # key lookup; counting the rows instead cost tens of ms at 1,000,000.
            name = session.exec(select(BeneficiaryPrivate.full_name)
                                .where(BeneficiaryPrivate.beneficiary_id == last[0])).first()
            if name != last[1]:
                index, last = _indexes[url] = (DuplicateIndex(), [0, ""])
        rows = session.exec(
            select(BeneficiaryPrivate, Beneficiary.organisation_id)
            .join(Beneficiary, Beneficiary.id == BeneficiaryPrivate.beneficiary_id)
            .where(BeneficiaryPrivate.beneficiary_id > last[0])
            .order_by(BeneficiaryPrivate.beneficiary_id)).all()
        for private, organisation_id in rows:
            # Ids above the last one seen are new to the index: append, with no search for
            # an earlier copy (that linear search made building 1,000,000 rows quadratic).
            index.append_new(_record(private, organisation_id))
            last[0], last[1] = private.beneficiary_id, private.full_name
        return index


def forget_indexes() -> None:
    """Drop every process index (tests that empty the database start again from nothing)."""
    with _lock:
        _indexes.clear()


def check_beneficiary(session: Session, beneficiary_id: int,
                      threshold: float = DEFAULT_THRESHOLD) -> list[DuplicateFlag]:
    """Flag every other beneficiary that may be this person; returns the open flags.
    A pair already flagged (and perhaps resolved) is not flagged again."""
    private = session.get(BeneficiaryPrivate, beneficiary_id)
    person = session.get(Beneficiary, beneficiary_id)
    index = index_for(session)
    known = {flag.other_id: flag for flag in session.exec(
        select(DuplicateFlag).where(DuplicateFlag.beneficiary_id == beneficiary_id))}
    for other_id, score, reasons in index.candidates(_record(private, person.organisation_id),
                                                     threshold):
        if other_id in known:
            continue
        flag = DuplicateFlag(beneficiary_id=beneficiary_id, other_id=other_id, score=score,
                             reasons=[[r.message_id, r.score] for r in reasons])
        session.add(flag)
        known[other_id] = flag
    session.flush()
    return [flag for flag in known.values() if flag.status == "open"]


def flags_of(session: Session, beneficiary_id: int) -> list[DuplicateFlag]:
    return list(session.exec(select(DuplicateFlag)
                             .where(DuplicateFlag.beneficiary_id == beneficiary_id)
                             .order_by(DuplicateFlag.score.desc(), DuplicateFlag.id)))


def open_flags(session: Session, beneficiary_id: int) -> list[DuplicateFlag]:
    return [flag for flag in flags_of(session, beneficiary_id) if flag.status == "open"]


def active_needs_of(session: Session, beneficiary_id: int) -> list[Need]:
    """The other beneficiary's needs still being carried out (what the verifier weighs)."""
    return list(session.exec(select(Need).where(Need.beneficiary_id == beneficiary_id,
                                                Need.state.in_(("submitted", *ACTIVE_STATES)))
                             .order_by(Need.id)))


def resolve(session: Session, flag: DuplicateFlag, verifier_id: int, status: str) -> DuplicateFlag:
    if status not in ("allowed", "duplicate"):
        raise UserError("请选择“同一人，允许”或“重复”")
    if flag.status != "open":
        raise UserError("这条重复提示已经处理过")
    flag.status, flag.resolved_by, flag.resolved_at = status, verifier_id, now()
    session.add(flag)
    session.flush()
    record(session, f"duplicate.{status}", f"beneficiary:B-{flag.beneficiary_id}", verifier_id,
           other=f"B-{flag.other_id}", score=flag.score)
    return flag
