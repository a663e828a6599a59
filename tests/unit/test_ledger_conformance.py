"""The verifier's weak spots found by mutating the file (issue 13): each is refused with a
verdict naming the line, never a traceback, by the library verifier and by the short
published script alike."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from funds.ledger_format import GENESIS, to_line, txn_hash, verify_file, verify_lines

SCRIPT = Path(__file__).resolve().parents[2] / "web" / "static" / "verify_ledger.py"


def _chain(n=3, at=lambda seq: f"2026-11-24T10:00:{seq:02d}Z"):
    txns, prev = [], GENESIS
    for seq in range(1, n + 1):
        txn = {"seq": seq, "at": at(seq), "kind": "donation", "ref": f"donation:{seq}",
               "memo": "微心愿 W-1 书包",
               "postings": [{"account": "donor:7f3a9c", "amount": -15000},
                            {"account": "need:W-1", "amount": 15000}], "prev": prev}
        txn["hash"] = txn_hash(txn)
        prev = txn["hash"]
        txns.append(txn)
    return txns


def _rehash(txns, from_index):
    """What a forger does: fix every hash from `from_index` on, so only the rules can tell."""
    prev = txns[from_index - 1]["hash"] if from_index else GENESIS
    for txn in txns[from_index:]:
        txn["prev"] = prev
        txn["hash"] = txn_hash(txn)
        prev = txn["hash"]
    return txns


def _bytes(txns) -> bytes:
    return "".join(to_line(t) + "\n" for t in txns).encode()


def _forged_variants() -> dict[str, tuple[bytes, str]]:
    """name → (file content, a word the verdict must contain)."""
    good = _bytes(_chain(3))
    lines = good.split(b"\n")
    dup = lines[1].replace(b'{"at"', b'{"memo":"FAKE","at"', 1)
    variants = {
        "empty file": (b"", "no transactions"),
        "duplicate key": (b"\n".join([lines[0], dup, *lines[2:]]), "duplicate"),
        "invalid utf-8": (lines[0] + b"\n" + lines[1].replace("书".encode(), b"\xff\xfe", 1)
                          + b"\n" + b"\n".join(lines[2:]), "UTF-8"),
        "5000-digit integer": (lines[0] + b"\n" + lines[1].replace(b'"amount":15000', b'"amount":'
                               + b"9" * 5000, 1) + b"\n", "64 bits"),
        "deep nesting": (lines[0] + b"\n" + b'{"memo":' + b"[" * 100_000 + b"]" * 100_000
                         + b"}\n", "nested"),
        "whitespace": (lines[0].replace(b",", b", ", 1) + b"\n", "canonical"),
        "unicode escape": (lines[0].replace("微".encode(), b"\\u5fae") + b"\n", "canonical"),
        "windows line end": (lines[0] + b"\r\n", "carriage return"),
        "blank line": (lines[0] + b"\n\n" + lines[1] + b"\n", "empty"),
        "not an object": (b"[1,2]\n", "object"),
        "NaN": (lines[0].replace(b'"amount":15000', b'"amount":NaN') + b"\n", "NaN"),
    }
    bad_at = _rehash(_chain(3), 0)
    bad_at[1]["at"] = "2026-13-45T99:99:99Z"
    variants["impossible at"] = (_bytes(_rehash(bad_at, 1)), "at")
    loose_at = _chain(2)
    loose_at[1]["at"] = "2026-11-24 10:00:02"
    variants["at without Z"] = (_bytes(_rehash(loose_at, 1)), "at")
    backwards = _chain(3)
    backwards[2]["at"] = "2026-11-24T09:00:00Z"
    variants["at goes backwards"] = (_bytes(_rehash(backwards, 2)), "backwards")
    name = _chain(2)
    name[1]["postings"][0]["account"] = "张三"
    variants["account not type:id"] = (_bytes(_rehash(name, 1)), "type:id")
    big = _chain(2)
    big[1]["postings"] = [{"account": "donor:a", "amount": -(2 ** 70)},
                          {"account": "need:W-1", "amount": 2 ** 70}]
    variants["amount beyond 64 bits"] = (_bytes(_rehash(big, 1)), "64")
    seq_bool = _chain(1)
    seq_bool[0]["seq"] = True
    variants["seq true"] = (_bytes(_rehash(seq_bool, 0)), "seq")
    odd_posting = _chain(2)
    odd_posting[1]["postings"] = [1, 2]
    variants["postings not objects"] = (_bytes(_rehash(odd_posting, 1)), "posting")
    return variants


VARIANTS = _forged_variants()


def test_sound_file_verifies(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_bytes(_bytes(_chain(5)))
    verdict = verify_file(str(path))
    assert verdict.ok and verdict.count == 5, verdict


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_library_verifier_refuses_with_a_verdict(tmp_path, name):
    content, word = VARIANTS[name]
    path = tmp_path / "forged.jsonl"
    path.write_bytes(content)
    verdict = verify_file(str(path))
    assert not verdict.ok, name
    assert word.lower() in verdict.reason.lower(), (name, verdict.reason)
    assert "Traceback" not in str(verdict)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_published_script_refuses_with_a_verdict(tmp_path, name):
    content, _word = VARIANTS[name]
    path = tmp_path / "forged.jsonl"
    path.write_bytes(content)
    result = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0, (name, result.stdout)
    assert "BROKEN" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_duplicate_key_would_otherwise_show_forged_text():
    """Why duplicates matter: Python keeps the last key, other readers keep the first."""
    line = to_line(_chain(1)[0])
    forged = line.replace('{"at"', '{"memo":"FAKE","at"', 1)
    assert json.loads(forged)["memo"] != "FAKE"  # a last-key reader sees the real memo
    verdict = verify_lines([forged])
    assert not verdict.ok and "duplicate key 'memo'" in verdict.reason


def test_a_huge_single_line_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"memo":"' + b"x" * (2 << 20) + b'"}\n')
    verdict = verify_file(str(path))
    assert not verdict.ok and "longer than" in verdict.reason


def test_verdict_names_line_and_transaction():
    txns = _chain(4)
    lines = [to_line(t) for t in txns]
    lines[2] = lines[2].replace(",", ", ", 1)
    verdict = verify_lines(lines)
    assert verdict.bad_seq == 3 and verdict.reason.startswith("line 3:")
    assert str(verdict).startswith("ledger BROKEN at transaction 3")
