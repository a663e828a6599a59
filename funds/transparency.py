"""What the transparency pages and endpoints read: proofs within the latest checkpoint,
and one transaction with its inclusion proof (what a donor's receipt links to)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from core.errors import NotFound, UserError
from funds import checkpoints, ledger, merkle, tree_store
from funds.ledger_format import txn_hash
from funds.models import LedgerPosting, LedgerTxn
from funds.tlog_models import LedgerCheckpoint


class BadProofRequest(UserError):
    """Proof parameters that make no sense (400)."""


def _latest_size(session: Session) -> int:
    last = checkpoints.latest(session)
    return last.size if last else 0


def _within_latest(session: Session, size: int) -> None:
    latest = _latest_size(session)
    if size > latest:
        raise NotFound("树大小 %(size)s 超出最新检查点的大小 %(latest)s", size=size, latest=latest)


def inclusion(session: Session, seq: int, size: int) -> dict:
    if not 1 <= seq <= size:
        raise BadProofRequest("需要 1 ≤ seq ≤ size（收到 seq=%(seq)s, size=%(size)s）",
                              seq=seq, size=size)
    _within_latest(session, size)
    leaf = tree_store.leaf(session, seq - 1)
    txn = session.execute(select(LedgerTxn.hash).where(LedgerTxn.seq == seq)).scalar()
    if leaf is None or txn is None or merkle.leaf_hash(bytes.fromhex(txn)) != leaf:
        raise NotFound("没有第 %(seq)s 笔交易", seq=seq)
    return {"seq": seq, "size": size, "leaf": txn,
            "path": [h.hex() for h in tree_store.inclusion_proof(session, seq - 1, size)]}


def consistency(session: Session, old: int, new: int) -> dict:
    if not 1 <= old <= new:
        raise BadProofRequest("需要 1 ≤ from ≤ to（收到 from=%(old)s, to=%(new)s）",
                              old=old, new=new)
    _within_latest(session, new)
    return {"from": old, "to": new,
            "path": [h.hex() for h in tree_store.consistency_proof(session, old, new)]}


@dataclass(frozen=True)
class TransactionProof:
    txn: dict
    hash_recomputes: bool
    checkpoint: LedgerCheckpoint | None  # the latest, if it covers this transaction
    latest_size: int
    path: list[str]
    verified: bool  # the path leads from this transaction to the checkpoint's signed root


def transaction_proof(session: Session, seq: int) -> TransactionProof:
    row = session.get(LedgerTxn, seq)
    if row is None:
        raise NotFound("没有第 %(seq)s 笔交易", seq=seq)
    postings = session.execute(
        select(LedgerPosting).where(LedgerPosting.seq == seq).order_by(LedgerPosting.position)
    ).scalars().all()
    txn = ledger._as_dict(row.seq, row.at, row.kind, row.ref, row.memo, row.prev,
                          [ledger.Posting(p.account, p.amount) for p in postings], row.hash)
    last = checkpoints.latest(session)
    if last is None or last.size < seq:
        return TransactionProof(txn, txn_hash(txn) == row.hash, None,
                                last.size if last else 0, [], False)
    path = tree_store.inclusion_proof(session, seq - 1, last.size)
    verified = merkle.verify_inclusion(seq - 1, last.size,
                                       merkle.leaf_hash(bytes.fromhex(row.hash)), path,
                                       bytes.fromhex(last.root))
    return TransactionProof(txn, txn_hash(txn) == row.hash, last, last.size,
                            [h.hex() for h in path], verified)
