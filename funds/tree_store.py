"""The ledger's Merkle tree in the database (RFC 9162 §2.1), maintained in the same
transaction as each append.

Only complete subtrees are stored (funds.tlog_models.LedgerTreeNode), and they never change
once written, so any root or proof for any size is a fold over at most ~2·log2(n) of them,
read with one indexed query. Appends are serialised by the ledger's own lock, so the tree
needs none of its own.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, bindparam, cast, exists, func, insert, select
from sqlmodel import Session

from funds import merkle
from funds.models import LedgerTxn
from funds.tlog_models import LEVEL_SHIFT, LedgerTreeNode

LEAF_LEVEL_END = 1 << LEVEL_SHIFT  # ids below this are leaves (level 0)
NODES = LedgerTreeNode.__table__
# Built once and run on the session's connection: the append path stays a couple of
# cached Core statements, with no ORM bookkeeping (it runs inside every ledger append).
_SELECT_NODES = select(NODES.c.id, NODES.c.hash).where(
    NODES.c.id.in_(bindparam("ids", expanding=True)))
_INSERT_NODES = insert(NODES)
# An even leaf completes no subtree, so it needs no read: it is inserted only if the leaf
# before it exists (one statement; no row back means the tree is behind the ledger).
_INSERT_AFTER_PREVIOUS = insert(NODES).from_select(
    ["id", "hash"],
    select(cast(bindparam("id"), BigInteger), cast(bindparam("hash"), LargeBinary))
    .where(exists().where(NODES.c.id == bindparam("previous")))).returning(NODES.c.id)


def node_id(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


def _lookup(session: Session):
    def lookup(nodes: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        ids = {node_id(level, index): (level, index) for level, index in nodes}
        rows = session.connection().execute(_SELECT_NODES, {"ids": list(ids)}).all()
        return {ids[row_id]: bytes(h) for row_id, h in rows}
    return lookup


def size(session: Session) -> int:
    """How many leaves the stored tree has."""
    top = session.execute(select(func.max(LedgerTreeNode.id))
                          .where(LedgerTreeNode.id < LEAF_LEVEL_END)).scalar()
    return 0 if top is None else int(top) + 1


def append_leaf(session: Session, seq: int, txn_hash_hex: str) -> None:
    """Add transaction `seq` (its hash is the leaf) and every subtree it completes. Called
    by funds.ledger.append under the chain lock. If the tree is behind the ledger (rows
    written without ledger.append), it first catches up from the ledger itself."""
    index = seq - 1
    h = merkle.leaf_hash(bytes.fromhex(txn_hash_hex))
    connection = session.connection()
    if index % 2 == 0:
        if index == 0:
            connection.execute(_INSERT_NODES, [{"id": 0, "hash": h}])
            return
        params = {"id": node_id(0, index), "hash": h, "previous": node_id(0, index - 1)}
        if connection.execute(_INSERT_AFTER_PREVIOUS, params).first() is None:
            sync(session, upto=index)
            connection.execute(_INSERT_NODES, [{"id": node_id(0, index), "hash": h}])
        return
    wanted = _left_siblings(index)
    found = _lookup(session)(wanted)
    if len(found) < len(wanted):
        sync(session, upto=index)
        found = _lookup(session)(wanted)
    rows = [{"id": node_id(0, index), "hash": h}]
    level, i = 0, index
    while i & 1:
        h = merkle.node_hash(found[(level, i - 1)], h)
        level, i = level + 1, i >> 1
        rows.append({"id": node_id(level, i), "hash": h})
    connection.execute(_INSERT_NODES, rows)


def _left_siblings(index: int) -> list[merkle.Node]:
    out, level, i = [], 0, index
    while i & 1:
        out.append((level, i - 1))
        level, i = level + 1, i >> 1
    return out


class _Builder:
    """Extends a tree from its frontier, yielding every node it completes."""

    def __init__(self, frontier: list[tuple[int, int, bytes]]) -> None:
        self.stack = list(frontier)  # (level, index, hash), levels decreasing

    def push(self, index: int, leaf_h: bytes) -> list[dict]:
        node = (0, index, leaf_h)
        made = [node]
        while self.stack and self.stack[-1][0] == node[0]:
            level, left_index, left = self.stack.pop()
            node = (level + 1, left_index >> 1, merkle.node_hash(left, node[2]))
            made.append(node)
        self.stack.append(node)
        return [{"id": node_id(lv, i), "hash": h} for lv, i, h in made]


def sync(session: Session, upto: int | None = None, batch: int = 5000) -> int:
    """Add every ledger transaction the tree lacks (up to leaf index `upto`, exclusive);
    returns the tree's size. Run under the chain lock."""
    have = size(session)
    nodes = merkle.complete_subtrees(0, have)
    stored = _lookup(session)(nodes) if nodes else {}
    builder = _Builder([(lv, i, stored[(lv, i)]) for lv, i in nodes])
    while upto is None or have < upto:
        query = select(LedgerTxn.seq, LedgerTxn.hash).where(LedgerTxn.seq > have)
        if upto is not None:
            query = query.where(LedgerTxn.seq <= upto)
        txns = session.execute(query.order_by(LedgerTxn.seq).limit(batch)).all()
        if not txns:
            break
        rows = []
        for seq, txn_h in txns:
            if seq != have + 1:
                raise LookupError(f"ledger has no transaction {have + 1}")
            rows.extend(builder.push(have, merkle.leaf_hash(bytes.fromhex(txn_h))))
            have += 1
        session.connection().execute(_INSERT_NODES, rows)
    return have


def root(session: Session, tree_size: int) -> bytes:
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    return merkle.resolve([(0, tree_size)], _lookup(session))[0]


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    return merkle.resolve(merkle.inclusion_ranges(index, tree_size), _lookup(session))


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    return merkle.resolve(merkle.consistency_ranges(old, new), _lookup(session))


def leaf(session: Session, index: int) -> bytes | None:
    h = session.execute(select(LedgerTreeNode.hash)
                        .where(LedgerTreeNode.id == node_id(0, index))).scalar()
    return None if h is None else bytes(h)
