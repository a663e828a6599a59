"""RFC 9162 §2.1 Merkle tree math, with no database: hashes, proof shapes, verification.

Proofs are planned as lists of leaf ranges [start, end) whose subtree hashes form the proof;
every such range is a node of the RFC tree, so it splits into at most log2(n) complete,
aligned subtrees (`complete_subtrees`). A store that keeps those subtree hashes can answer
any proof with a handful of indexed reads (funds/tree_store.py); the functions here that take
a list of leaf hashes are the naive versions used by tests and the offline verifier.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
Range = tuple[int, int]
Node = tuple[int, int]  # (level, index): the complete subtree over leaves [index·2^level, +2^level)


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges of PATH(index, D[0:size]), nearest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges of PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in proof order."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    out: list[Range] = []
    start, size, m, complete = 0, new, old, True
    while m != size:
        k = split_point(size)
        if m <= k:
            out.append((start + k, start + size))
            size = k
        else:
            out.append((start, start + k))
            start, m, size, complete = start + k, m - k, size - k, False
    if not complete:
        out.append((start, start + size))
    return out[::-1]


def complete_subtrees(start: int, end: int) -> list[Node]:
    """The complete, aligned subtrees that make up the RFC tree node [start, end), left to
    right; their hashes fold right to left into the node's hash (`fold`)."""
    nodes: list[Node] = []
    while start < end:
        k = 1 << ((end - start).bit_length() - 1)
        if start % k:
            raise ValueError(f"[{start}, {end}) is not a node of a Merkle tree")
        level = k.bit_length() - 1
        nodes.append((level, start >> level))
        start += k
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of a node from its complete subtrees' hashes (left to right)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def resolve(ranges: Iterable[Range], lookup: Callable[[list[Node]], dict[Node, bytes]]
            ) -> list[bytes]:
    """Hashes of `ranges`, reading every subtree they need with one `lookup` call."""
    ranges = list(ranges)
    plans = [complete_subtrees(a, b) for a, b in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    found = lookup(wanted) if wanted else {}
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LookupError(f"the tree is missing subtrees {missing[:3]}")
    return [fold([found[node] for node in plan]) for plan in plans]


# --- the naive versions, over a list of leaf hashes ---------------------------------------

def root(leaf_hashes: Sequence[bytes]) -> bytes:
    builder = RootBuilder()
    for h in leaf_hashes:
        builder.push(h)
    return builder.root()


def _naive_lookup(leaf_hashes: Sequence[bytes]):
    def lookup(nodes: list[Node]) -> dict[Node, bytes]:
        return {(level, i): root_of_complete(leaf_hashes[i << level:(i + 1) << level])
                for level, i in nodes}
    return lookup


def root_of_complete(leaf_hashes: Sequence[bytes]) -> bytes:
    level = list(leaf_hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    return resolve(inclusion_ranges(index, size), _naive_lookup(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old: int, new: int) -> list[bytes]:
    return resolve(consistency_ranges(old, new), _naive_lookup(leaf_hashes))


class RootBuilder:
    """The root of a stream of leaf hashes in O(log n) memory (the offline verifier)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # complete subtrees, sizes decreasing
        self.size = 0

    def push(self, leaf_h: bytes) -> None:
        size, h = 1, leaf_h
        while self.stack and self.stack[-1][0] == size:
            _, left = self.stack.pop()
            size, h = size * 2, node_hash(left, h)
        self.stack.append((size, h))
        self.size += 1

    def root(self) -> bytes:
        return fold([h for _, h in self.stack])


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------------

def verify_inclusion(index: int, size: int, leaf_h: bytes, path: Sequence[bytes],
                     root_h: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_h
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_h


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       path: Sequence[bytes]) -> bool:
    if not 0 < old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    path = list(path)
    if old & (old - 1) == 0:  # old is a power of two: its root is a node of the new tree
        path = [old_root, *path]
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
