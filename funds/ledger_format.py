"""The public ledger format (shared/ledger-format.md), with no database: canonical JSON,
hashing and a verifier anyone can run on the downloaded file.

The verifier answers every input with a verdict, never a traceback: a conforming line
(docs/ledger-conformance.md) is valid UTF-8, at most MAX_LINE bytes, has no duplicate keys,
no integer beyond 64 bits, no nesting beyond the format's own, and equals the canonical JSON
of its parsed content — so what one reader sees is what every reader sees."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

GENESIS = "0" * 64
MAX_LINE = 1 << 20  # 1 MiB: no honest transaction comes near it
MAX_INT = (1 << 63) - 1  # amounts and seq are 64-bit in the database
AT_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ACCOUNT_FORMAT = re.compile(r"^[a-z_]+:[A-Za-z0-9_-]{1,50}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


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
        if self.bad_seq is None:
            return f"ledger REFUSED: {self.reason}"
        return f"ledger BROKEN at transaction {self.bad_seq}: {self.reason}"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_at(at) -> bool:
    return isinstance(at, str) and _real_time(at)


@lru_cache(maxsize=4096)  # consecutive transactions share their second: parse each once
def _real_time(at: str) -> bool:
    if not AT_FORMAT.match(at):
        return False
    try:
        datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def shape_problem(txn: dict) -> str | None:
    """What makes this transaction not of the documented shape (types and formats)."""
    if not _valid_at(txn.get("at")):
        return "at is not a UTC time like 2026-11-24T10:00:00Z"
    for key in ("kind", "ref"):
        if not isinstance(txn.get(key), str) or not txn[key]:
            return f"{key} is missing or not a text"
    if not isinstance(txn.get("memo"), str):
        return "memo is missing or not a text"
    for key in ("prev", "hash"):
        if not isinstance(txn.get(key), str) or not HEX64.match(txn[key]):
            return f"{key} is not 64 lowercase hex digits"
    postings = txn.get("postings")
    if not isinstance(postings, list) or len(postings) < 2:
        return "fewer than two postings"
    for posting in postings:
        if not isinstance(posting, dict) or set(posting) != {"account", "amount"}:
            return "a posting is not exactly {account, amount}"
        if not isinstance(posting["account"], str) or not ACCOUNT_FORMAT.match(
                posting["account"]):
            return f"account {str(posting['account'])[:60]!r} is not of the form type:id"
        if not _is_int(posting["amount"]):
            return "a posting amount is not an integer number of fen"
    return None


class ChainChecker:
    """Feed transactions in order; stops at the first break."""

    def __init__(self) -> None:
        self.count = 0
        self.prev_hash = GENESIS
        self.prev_at = ""
        self.verdict: Verdict | None = None

    def feed(self, txn: dict) -> bool:
        expected_seq = self.count + 1
        seq = txn.get("seq")
        problem = None
        if not _is_int(seq) or seq != expected_seq:
            problem = f"seq is {str(seq)[:30]!r}, expected {expected_seq}"
        else:
            problem = shape_problem(txn)
        if problem is None:
            if txn["prev"] != self.prev_hash:
                problem = "prev does not equal the previous transaction's hash"
            elif txn["hash"] != txn_hash(txn):
                problem = "hash does not match the transaction's contents"
            elif txn["at"] < self.prev_at:
                problem = f"at goes backwards ({txn['at']} is before {self.prev_at})"
            elif sum(p["amount"] for p in txn["postings"]) != 0:
                problem = "postings do not sum to zero"
        if problem:
            bad = seq if _is_int(seq) and 0 < seq <= MAX_INT else expected_seq
            self.verdict = Verdict(False, self.count, bad, problem)
            return False
        self.count += 1
        self.prev_hash = txn["hash"]
        self.prev_at = txn["at"]
        return True

    def result(self) -> Verdict:
        return self.verdict or Verdict(True, self.count)


class _Refused(ValueError):
    """A line that parses as JSON but not as a conforming line."""


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"duplicate key {key[:40]!r}")
        seen[key] = value
    return seen


def _int(text: str) -> int:
    if len(text) > 20:
        raise _Refused("an integer has more than 64 bits")
    value = int(text)
    if abs(value) > MAX_INT:
        raise _Refused("an integer has more than 64 bits")
    return value


def _constant(name: str):
    raise _Refused(f"{name} is not JSON")


def parse_line(raw: bytes | str) -> dict:
    """The transaction on one line, or _Refused saying why the line does not conform."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_LINE:
            raise _Refused(f"the line is longer than {MAX_LINE} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
        if len(text) > MAX_LINE:
            raise _Refused(f"the line is longer than {MAX_LINE} bytes")
    text = text[:-1] if text.endswith("\n") else text
    if text.endswith("\r"):
        raise _Refused("the line ends with a carriage return (lines end with \\n only)")
    if not text.strip():
        raise _Refused("the line is empty (every line is one transaction)")
    try:
        txn = json.loads(text, object_pairs_hook=_pairs, parse_int=_int,
                         parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise _Refused(f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise _Refused("nested too deeply") from None
    except ValueError as exc:  # _Refused, or Python's own limit on integer digits
        raise _Refused(str(exc) if isinstance(exc, _Refused) else "an integer is too long") \
            from None
    if not isinstance(txn, dict):
        raise _Refused("not a JSON object")
    if to_line(txn) != text:
        raise _Refused("not in canonical form (keys sorted, no spaces, characters as "
                       "themselves, integers as integers)")
    return txn


def verify_lines(lines: Iterable[str | bytes],
                 observe: Callable[[dict], None] | None = None) -> Verdict:
    """Verify a ledger file line by line (text or bytes); `observe` sees every transaction
    that passed, in order (the checkpoint verifier builds its tree from them)."""
    checker = ChainChecker()
    for number, line in enumerate(lines, start=1):
        try:
            txn = parse_line(line)
        except _Refused as exc:
            return Verdict(False, checker.count, checker.count + 1, f"line {number}: {exc}")
        if not checker.feed(txn):
            verdict = checker.result()
            verdict.reason = f"line {number}: {verdict.reason}"
            return verdict
        if observe is not None:
            observe(txn)
    if checker.count == 0:
        return Verdict(False, 0, None, "the file holds no transactions")
    return checker.result()


def read_lines(path: str, limit: int = MAX_LINE) -> Iterable[bytes]:
    """A file's lines as bytes, none read beyond `limit` + 1 bytes (so a file that is one
    enormous line cannot exhaust memory: the verifier refuses it as too long)."""
    with open(path, "rb") as handle:
        while True:
            line = handle.readline(limit + 1)
            if not line:
                return
            yield line
            if len(line) > limit and not line.endswith(b"\n"):
                return


def verify_file(path: str, observe: Callable[[dict], None] | None = None) -> Verdict:
    return verify_lines(read_lines(path), observe)
