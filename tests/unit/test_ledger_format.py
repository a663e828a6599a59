"""The public ledger contract (shared/ledger-format.md), checked without a database."""
import hashlib
import json

from funds.ledger_format import GENESIS, canonical, to_line, txn_hash, verify_lines


def _chain(n=3, times=None):
    txns, prev = [], GENESIS
    for seq in range(1, n + 1):
        at = times[seq - 1] if times else "2026-11-24T10:00:00Z"
        txn = {"seq": seq, "at": at, "kind": "donation",
               "ref": f"donation:{seq}", "memo": "微心愿 W-1 书包",
               "postings": [{"account": "donor:7f3a9c", "amount": -15000},
                            {"account": "need:W-1", "amount": 15000}], "prev": prev}
        txn["hash"] = txn_hash(txn)
        prev = txn["hash"]
        txns.append(txn)
    return txns


def test_hash_is_the_documented_recipe():
    txn = _chain(1)[0]
    body = {k: v for k, v in txn.items() if k != "hash"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert txn["hash"] == expected
    assert "微心愿".encode() in canonical(txn)  # non-ASCII written as itself
    assert b" " not in canonical({"a": 1, "b": [1, 2]})


def test_sound_chain_verifies():
    verdict = verify_lines(to_line(t) for t in _chain(5))
    assert verdict.ok and verdict.count == 5


def test_any_changed_byte_breaks_the_chain_at_that_transaction():
    txns = _chain(4)
    txns[2]["postings"][1]["amount"] = 15001
    txns[2]["postings"][0]["amount"] = -15001  # still balanced: only the hash can tell
    verdict = verify_lines(to_line(t) for t in txns)
    assert not verdict.ok and verdict.bad_seq == 3 and "hash" in verdict.reason


def test_recomputed_hash_still_breaks_the_next_link():
    txns = _chain(4)
    txns[1]["memo"] = "改过"
    txns[1]["hash"] = txn_hash(txns[1])
    verdict = verify_lines(to_line(t) for t in txns)
    assert not verdict.ok and verdict.bad_seq == 3 and "prev" in verdict.reason


def test_gap_unbalanced_and_garbage_are_rejected():
    txns = _chain(3)
    assert verify_lines(to_line(t) for t in (txns[0], txns[2])).bad_seq == 3
    bad = _chain(1)[0]
    bad["postings"][1]["amount"] = 14000
    bad["hash"] = txn_hash(bad)
    assert "sum" in verify_lines([to_line(bad)]).reason
    assert not verify_lines(["{not json"]).ok
    floaty = _chain(1)[0]
    floaty["postings"] = [{"account": "a:1", "amount": 1.0}, {"account": "b:1", "amount": -1.0}]
    floaty["hash"] = txn_hash(floaty)
    assert not verify_lines([to_line(floaty)]).ok


def test_times_going_backwards_in_seq_order_break_the_chain():
    """Every hash may be right and the file still lie about the order things happened."""
    ordered = ["2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z", "2026-11-24T10:05:00Z"]
    assert verify_lines(to_line(t) for t in _chain(3, ordered)).ok  # equal times are fine
    backwards = ["2026-11-24T10:00:00Z", "2026-11-25T09:00:00Z", "2026-11-24T23:59:59Z"]
    verdict = verify_lines(to_line(t) for t in _chain(3, backwards))
    assert not verdict.ok and verdict.bad_seq == 3 and "backwards" in verdict.reason
