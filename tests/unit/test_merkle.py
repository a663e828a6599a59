"""The Merkle tree against RFC 9162's own definitions: the Certificate Transparency test
vectors (transparency-dev/merkle testonly), and a literal recursive transcription of
§2.1.1, §2.1.3.1 and §2.1.4.1 for every size up to 300."""
import hashlib

import pytest

from funds import merkle

CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CT_CONSISTENCY = {
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}


# --- RFC 9162 transcribed literally (no shared code with funds.merkle) ---------------------

def _mth(d):
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m, d):
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return _path(m, d[:k]) + [_mth(d[k:])]
    return _path(m - k, d[k:]) + [_mth(d[:k])]


def _subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return _subproof(m, d[:k], b) + [_mth(d[k:])]
    return _subproof(m - k, d[k:], False) + [_mth(d[:k])]


DATA = [hashlib.sha256(str(i).encode()).digest() for i in range(300)]
LEAF_HASHES = [merkle.leaf_hash(d) for d in DATA]


def test_ct_vectors_roots_for_every_size():
    hashes = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]
    for size in range(len(CT_LEAVES) + 1):
        assert merkle.root(hashes[:size]) == CT_ROOTS[size], size


def test_ct_vectors_proofs_are_generated_and_verified():
    hashes = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]
    for (index, size), expected in CT_INCLUSION.items():
        proof = merkle.inclusion_proof(hashes, index, size)
        assert [p.hex() for p in proof] == expected
        assert merkle.verify_inclusion(index, size, hashes[index], proof, CT_ROOTS[size])
    for (old, new), expected in CT_CONSISTENCY.items():
        proof = merkle.consistency_proof(hashes, old, new)
        assert [p.hex() for p in proof] == expected
        assert merkle.verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], proof)


def test_every_size_to_300_matches_the_rfc_recursion():
    for size in range(1, 301):
        expected_root = _mth(DATA[:size])
        assert merkle.root(LEAF_HASHES[:size]) == expected_root, size
        for index in {0, size // 3, size // 2, size - 1}:
            proof = merkle.inclusion_proof(LEAF_HASHES, index, size)
            assert proof == _path(index, DATA[:size]), (index, size)
            assert merkle.verify_inclusion(index, size, LEAF_HASHES[index], proof, expected_root)


def test_every_inclusion_proof_up_to_64():
    for size in range(1, 65):
        root = _mth(DATA[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(LEAF_HASHES, index, size)
            assert proof == _path(index, DATA[:size])
            assert merkle.verify_inclusion(index, size, LEAF_HASHES[index], proof, root)


def test_every_consistency_pair_up_to_64_verifies():
    roots = [_mth(DATA[:n]) for n in range(65)]
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(LEAF_HASHES, old, new)
            assert proof == _subproof(old, DATA[:new], True), (old, new)
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof)


def _forgeries(proof):
    """Every way of bending a proof: a flipped bit in each element, one dropped, one
    added, two swapped."""
    for i in range(len(proof)):
        bent = list(proof)
        bent[i] = bytes([bent[i][0] ^ 1]) + bent[i][1:]
        yield bent
        yield proof[:i] + proof[i + 1:]
    yield [*proof, b"\xab" * 32]
    if len(proof) >= 2 and proof[0] != proof[1]:
        yield [proof[1], proof[0], *proof[2:]]


def test_forged_inclusion_proofs_fail():
    for size in range(1, 65):
        root = _mth(DATA[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(LEAF_HASHES, index, size)
            for forged in _forgeries(proof):
                assert not merkle.verify_inclusion(index, size, LEAF_HASHES[index], forged, root)
            other = LEAF_HASHES[(index + 1) % 300]
            assert not merkle.verify_inclusion(index, size, other, proof, root)
            if size > 1:
                assert not merkle.verify_inclusion((index + 1) % size, size, LEAF_HASHES[index],
                                                   proof, root)
            # (A wrong size with the same root can still verify, e.g. leaf 0 of 3 and of 4:
            # that is why a checkpoint signs the size and the root together.)


def test_forged_consistency_proofs_fail():
    roots = [_mth(DATA[:n]) for n in range(66)]
    for new in range(2, 65):
        for old in range(1, new):
            proof = merkle.consistency_proof(LEAF_HASHES, old, new)
            for forged in _forgeries(proof):
                assert not merkle.verify_consistency(old, new, roots[old], roots[new], forged)
            # A proof for other sizes, or other roots, does not carry over.
            assert not merkle.verify_consistency(old, new + 1, roots[old], roots[new + 1], proof)
            assert not merkle.verify_consistency(old, new, roots[old - 1], roots[new], proof)
            assert not merkle.verify_consistency(old, new, roots[old], roots[new - 1], proof)


def test_degenerate_sizes():
    assert merkle.root([]) == merkle.EMPTY_ROOT == CT_ROOTS[0]
    assert merkle.consistency_proof(LEAF_HASHES, 5, 5) == []
    assert merkle.verify_consistency(5, 5, _mth(DATA[:5]), _mth(DATA[:5]), [])
    assert not merkle.verify_consistency(5, 5, _mth(DATA[:5]), _mth(DATA[:6]), [])
    assert not merkle.verify_consistency(6, 5, _mth(DATA[:6]), _mth(DATA[:5]), [])
    assert not merkle.verify_inclusion(5, 5, LEAF_HASHES[0], [], _mth(DATA[:5]))
    for bad in [(0, 0), (5, 5), (-1, 3)]:
        with pytest.raises(ValueError):
            merkle.inclusion_ranges(*bad)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)


def test_a_node_splits_into_at_most_log_n_complete_subtrees():
    assert merkle.complete_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.complete_subtrees(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError):
        merkle.complete_subtrees(3, 9)
    for size in range(1, 300):
        for a, b in merkle.inclusion_ranges(size // 2, size):
            assert len(merkle.complete_subtrees(a, b)) <= size.bit_length()


def test_streaming_root_builder():
    builder = merkle.RootBuilder()
    for size, h in enumerate(LEAF_HASHES, start=1):
        builder.push(h)
        if size % 37 == 0:
            assert builder.root() == _mth(DATA[:size])
