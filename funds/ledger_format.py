"""The public ledger format (shared/ledger-format.md), with no database: canonical JSON,
hashing and a verifier anyone can run on the downloaded file."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(txn: dict) -> bytes:
    body = {k: v for k, v in txn.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def txn_hash(txn: dict) -> str:
    return hashlib.sha256(canonical(txn)).hexdigest()


def to_line(txn: dict) -> str:
    """One JSONL line with keys sorted, as served at /disclosure/ledger.jsonl."""
    return json.dumps(txn, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Verdict:
    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ledger OK: {self.count} transactions, chain and sums verified"
        return f"ledger BROKEN at transaction {self.bad_seq}: {self.reason}"


class ChainChecker:
    """Feed transactions in order; stops at the first break."""

    def __init__(self) -> None:
        self.count = 0
        self.prev_hash = GENESIS
        self.prev_at = ""  # ISO 8601 UTC with Z: such strings sort as the times do
        self.verdict: Verdict | None = None

    def feed(self, txn: dict) -> bool:
        expected_seq = self.count + 1
        seq = txn.get("seq")
        problem = None
        if seq != expected_seq:
            problem = f"seq is {seq!r}, expected {expected_seq}"
        elif txn.get("prev") != self.prev_hash:
            problem = "prev does not equal the previous transaction's hash"
        elif txn.get("hash") != txn_hash(txn):
            problem = "hash does not match the transaction's contents"
        elif not isinstance(txn.get("at"), str) or txn["at"] < self.prev_at:
            problem = "at is earlier than the previous transaction's (time went backwards)"
        else:
            postings = txn.get("postings")
            if not isinstance(postings, list) or len(postings) < 2:
                problem = "fewer than two postings"
            elif any(not isinstance(p.get("amount"), int) or isinstance(p.get("amount"), bool)
                     for p in postings):
                problem = "a posting amount is not an integer number of fen"
            elif sum(p["amount"] for p in postings) != 0:
                problem = "postings do not sum to zero"
        if problem:
            self.verdict = Verdict(False, self.count, expected_seq if seq is None else seq, problem)
            return False
        self.count += 1
        self.prev_hash = txn["hash"]
        self.prev_at = txn["at"]
        return True

    def result(self) -> Verdict:
        return self.verdict or Verdict(True, self.count)


def verify_lines(lines: Iterable[str]) -> Verdict:
    checker = ChainChecker()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            txn = json.loads(line)
        except json.JSONDecodeError as exc:
            return Verdict(False, checker.count, number, f"line {number} is not JSON: {exc.msg}")
        if not isinstance(txn, dict) or not checker.feed(txn):
            return checker.result() if checker.verdict else Verdict(
                False, checker.count, number, f"line {number} is not an object")
    return checker.result()
