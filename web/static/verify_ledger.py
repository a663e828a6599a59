# python3 verify_ledger.py LEDGER.jsonl [CHECKPOINT VERIFIER_KEY]  (checkpoint: pip install cryptography)
import base64, hashlib, json, re, sys
from datetime import datetime

H = lambda b: hashlib.sha256(b).digest()
canon = lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

def pairs(kv):  # a duplicate key would let two readers see two different transactions
    if len({k for k, _ in kv}) < len(kv): raise ValueError("duplicate key")
    return dict(kv)

size = None
if len(sys.argv) == 4:  # the signed checkpoint first: origin, size, root; then the signature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        name, kid, key = sys.argv[3].split("+", 2); key = base64.b64decode(key)
        text, _, sigs = open(sys.argv[2], "rb").read().decode().partition("\n\n")
        sig = next(base64.b64decode(s.split(" ")[2]) for s in sigs.splitlines() if s.startswith(f"— {name} "))
        assert key[0] == 1 and H(name.encode() + b"\n" + key)[:4].hex() == kid == sig[:4].hex(), "key id"
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(sig[4:], (text + "\n").encode())
        origin, size, root = text.split("\n"); size, root = int(size), base64.b64decode(root)
    except Exception as e:
        sys.exit(f"CHECKPOINT BAD: {type(e).__name__} {e}")

prev, at, n, tree = "0" * 64, "", 0, []  # tree: (leaves, hash) of complete subtrees
for n, raw in enumerate(open(sys.argv[1], "rb"), 1):
    try:
        line = raw.decode().removesuffix("\n"); t = json.loads(line, object_pairs_hook=pairs)
        body = {k: v for k, v in t.items() if k != "hash"}
        ps = t["postings"]; amounts = [p["amount"] for p in ps]
        problem = ("not canonical JSON" if canon(t) != line else
                   "seq gap" if type(t["seq"]) is not int or t["seq"] != n else
                   "prev mismatch" if t["prev"] != prev else
                   "hash mismatch" if H(canon(body).encode()).hex() != t["hash"] else
                   "bad at" if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["at"]) or not datetime.strptime(t["at"], "%Y-%m-%dT%H:%M:%SZ") else
                   "at goes backwards" if t["at"] < at else
                   "fewer than two postings" if len(ps) < 2 else
                   "account not type:id" if any(not re.fullmatch(r"[a-z_]+:[A-Za-z0-9_-]{1,50}", p["account"]) for p in ps) else
                   "amount not a 64-bit integer" if any(type(a) is not int or abs(a) >= 2**63 for a in amounts) else
                   "postings do not sum to zero" if sum(amounts) != 0 else None)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        problem = f"malformed ({type(e).__name__}: {e})"
    if problem:
        sys.exit(f"BROKEN at line {n} (seq {n}): {problem}")
    prev, at, h, k = t["hash"], t["at"], H(b"\x00" + bytes.fromhex(t["hash"])), 1
    while size is not None and n <= size and tree and tree[-1][0] == k:
        h, k = H(b"\x01" + tree.pop()[1] + h), k * 2
    if size is not None and n <= size: tree.append((k, h))
if n == 0: sys.exit("BROKEN: the file holds no transactions")
print(f"OK: {n} transactions; head hash {prev}")
if size is not None:
    r = tree[-1][1] if tree else H(b"")
    for _, h in reversed(tree[:-1]): r = H(b"\x01" + h + r)
    if n < size or r != root: sys.exit(f"CHECKPOINT MISMATCH: the first {size} transactions do not have the signed root")
    print(f"OK: the first {size} transactions are exactly the tree signed by {name} for {origin}")
