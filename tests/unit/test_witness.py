"""The witness against a log server simulated in memory, honest or not: every single-leaf
change, a truncation and a rewritten tail are caught, and the witness's state is left
byte for byte as it was whenever it refuses."""
import hashlib
import json

import pytest

from funds import merkle
from funds.signed_note import Checkpoint, Signer
from funds.witness import WitnessError, witness

SIGNER = Signer.generate("test.example/ledger")
VKEY = str(SIGNER.verifier)


class Log:
    """What /disclosure/checkpoint and /disclosure/proof/consistency would answer for a
    log of these leaves, signed by `signer` (an operator can re-sign anything)."""

    def __init__(self, leaves, signer=SIGNER, origin="test.example/ledger"):
        self.hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
        self.signer, self.origin = signer, origin
        self.requests = []

    def __call__(self, path: str) -> bytes:
        self.requests.append(path)
        if path == "/disclosure/checkpoint":
            root = merkle.root(self.hashes)
            return self.signer.sign_note(
                Checkpoint(self.origin, len(self.hashes), root).text()).encode()
        query = dict(part.split("=") for part in path.split("?")[1].split("&"))
        old, new = int(query["from"]), int(query["to"])
        proof = merkle.consistency_proof(self.hashes, old, new)
        return json.dumps({"from": old, "to": new, "path": [h.hex() for h in proof]}).encode()


def _leaves(n, tag="honest"):
    return [hashlib.sha256(f"{tag}{i}".encode()).digest() for i in range(n)]


@pytest.fixture
def state(tmp_path):
    return tmp_path / "witness.json"


def test_honest_log_is_followed(state):
    leaves = _leaves(40)
    first = witness(Log(leaves[:12]), state, VKEY)
    assert first.old is None and first.new.size == 12
    grown = witness(Log(leaves[:31]), state)  # the key is remembered
    assert (grown.old.size, grown.new.size) == (12, 31)
    same = Log(leaves[:31])
    assert "unchanged" in str(witness(same, state))
    assert same.requests == ["/disclosure/checkpoint"]  # no proof needed for the same tree
    assert json.loads(state.read_text())["checkpoint"].startswith("test.example/ledger\n31\n")


def _refused(log, state, word):
    before = state.read_bytes()
    with pytest.raises(WitnessError) as caught:
        witness(log, state)
    assert caught.value.misbehaved
    assert word in str(caught.value), str(caught.value)
    assert state.read_bytes() == before  # nothing written
    return caught.value


def test_every_single_leaf_change_is_caught(state):
    leaves = _leaves(20)
    witness(Log(leaves[:12]), state, VKEY)
    for i in range(12):
        forged = list(leaves)
        forged[i] = hashlib.sha256(b"forged" + forged[i]).digest()
        _refused(Log(forged), state, "forked")
        # Even re-signing the same size with the changed leaf is a fork.
        _refused(Log(forged[:12]), state, "forked")


def test_truncation_is_caught(state):
    leaves = _leaves(20)
    witness(Log(leaves), state, VKEY)
    for size in (19, 10, 1):
        _refused(Log(leaves[:size]), state, "backwards")


def test_rewritten_tail_is_caught(state):
    leaves = _leaves(20)
    witness(Log(leaves[:12]), state, VKEY)
    for keep in (0, 6, 11):
        rewritten = leaves[:keep] + _leaves(30 - keep, tag="rewritten")
        _refused(Log(rewritten), state, "forked")


def test_a_bogus_or_malformed_proof_is_refused(state):
    leaves = _leaves(20)
    witness(Log(leaves[:12]), state, VKEY)
    honest = Log(leaves)

    def bogus(path):
        if "consistency" in path:
            return json.dumps({"from": 12, "to": 20, "path": ["ab" * 32] * 3}).encode()
        return honest(path)

    def other_sizes(path):
        return honest(path.replace("from=12", "from=11")) if "consistency" in path \
            else honest(path)

    def garbage(path):
        return b"<html>oops</html>" if "consistency" in path else honest(path)

    _refused(bogus, state, "forked")
    _refused(other_sizes, state, "malformed")
    _refused(garbage, state, "malformed")


def test_wrong_signer_or_origin_is_refused(state):
    leaves = _leaves(20)
    witness(Log(leaves[:12]), state, VKEY)
    _refused(Log(leaves, signer=Signer.generate("test.example/ledger")), state, "signed")
    _refused(Log(leaves, origin="other.example/ledger"), state, "origin")


def test_usage_errors_are_not_called_misbehaviour(state, tmp_path):
    with pytest.raises(WitnessError) as no_key:
        witness(Log(_leaves(3)), state)
    assert not no_key.value.misbehaved and "--key" in str(no_key.value)
    assert not state.exists()
    witness(Log(_leaves(3)), state, VKEY)
    with pytest.raises(WitnessError) as other_key:
        witness(Log(_leaves(3)), state, str(Signer.generate("x").verifier))
    assert not other_key.value.misbehaved
    broken = tmp_path / "broken.json"
    broken.write_text("not json")
    with pytest.raises(WitnessError) as bad_state:
        witness(Log(_leaves(3)), broken, VKEY)
    assert not bad_state.value.misbehaved and broken.read_text() == "not json"
