"""The ledger's Merkle tree in the database (RFC 9162 §2.1), maintained in the same
transaction as each append.

Only complete subtrees are stored (funds.tlog_models.LedgerTreeNode), and they never change
once written, so any root or proof for any size is a fold over at most ~2·log2(n) of them,
read with one indexed query. Appends are serialised by the ledger's own lock, so the tree
needs none of its own.
"""
from __future__ import annotations

import threading

from sqlalchemy import bindparam, func, insert, select
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


class _FrontierMemo:
    """The last frontier this process built, keyed by (tree size, hash of its last
    transaction). The hash chain makes that key determine the whole history, so a hit is
    right even if other processes appended or our own transaction rolled back; a miss just
    reads the frontier from the database. A hit saves the append's only read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[int, str] | None = None
        self.stack: list[tuple[int, int, bytes]] = []

    def get(self, size: int, last_hash: str | None) -> list[tuple[int, int, bytes]] | None:
        with self.lock:
            return list(self.stack) if last_hash and self.key == (size, last_hash) else None

    def put(self, size: int, last_hash: str, stack: list[tuple[int, int, bytes]]) -> None:
        with self.lock:
            self.key, self.stack = (size, last_hash), list(stack)


_memo = _FrontierMemo()


def _frontier(session: Session, tree_size: int) -> list[tuple[int, int, bytes]] | None:
    """The complete subtrees of the tree of `tree_size` leaves (levels decreasing), or None
    if the stored tree lacks some of them (it is behind the ledger)."""
    nodes = merkle.complete_subtrees(0, tree_size)
    if not nodes or nodes[-1][0] == 0:
        wanted = nodes
    else:  # make sure leaf tree_size-1 exists, so a tree behind the ledger is noticed
        wanted = [*nodes, (0, tree_size - 1)]
    found = _lookup(session)(wanted) if wanted else {}
    if len(found) < len(wanted):
        return None
    return [(level, i, found[(level, i)]) for level, i in nodes]


def leaf_rows(session: Session, seq: int, txn_hash_hex: str, prev_hex: str | None = None
              ) -> list[dict]:
    """The nodes that adding transaction `seq` (its hash is the leaf; `prev_hex` the previous
    transaction's hash) writes: the leaf and every subtree it completes, as rows for
    `insert_rows` ({"id", "hash"}). One indexed read unless this process built the frontier
    itself. Called by funds.ledger.append under the chain lock, which writes the rows in
    its own statement. If the tree is behind the ledger (rows written without
    ledger.append), it first catches up from the ledger itself."""
    index = seq - 1
    frontier = _memo.get(index, prev_hex)
    if frontier is None:
        frontier = _frontier(session, index)
        if frontier is None:
            sync(session, upto=index)
            frontier = _frontier(session, index)
    builder = _Builder(frontier)
    rows = builder.push(index, merkle.leaf_hash(bytes.fromhex(txn_hash_hex)))
    # Keyed by the leaf's own hash: right even if this transaction rolls back (see the memo).
    _memo.put(seq, txn_hash_hex, builder.stack)
    return rows


def insert_rows(session: Session, rows: list[dict]) -> None:
    session.connection().execute(_INSERT_NODES, rows)


def append_leaf(session: Session, seq: int, txn_hash_hex: str, prev_hex: str | None = None
                ) -> None:
    """Add transaction `seq` and every subtree it completes (leaf_rows, then one INSERT)."""
    insert_rows(session, leaf_rows(session, seq, txn_hash_hex, prev_hex))


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
