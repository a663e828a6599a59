"""The transparency log over the real database: the stored tree equals a recomputation
from the ledger, checkpoints are signed and kept, proofs and pages answer as
shared/ledger-format.md says, bad parameters get a 4xx and change nothing, and the CLI
(verify --checkpoint, checkpoint, consistency, witness) works end to end over HTTP."""
import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text
from werkzeug.serving import make_server

from core import clock
from core.db import get_engine, unit_of_work
from funds import checkpoints, ledger, merkle, tree_store
from funds.checkpoints import TlogConfig
from funds.models import LedgerTxn
from funds.signed_note import Signer, open_checkpoint
from funds.tlog_models import LedgerCheckpoint, LedgerTreeNode
from tests.conftest import make_app, require_postgres, truncate_all

SIGNER = Signer.generate("test.example/ledger")
VKEY = str(SIGNER.verifier)
CONFIG = TlogConfig(origin="test.example/ledger", signing_key=SIGNER.encode())
SCRIPT = Path(__file__).resolve().parents[2] / "web" / "static" / "verify_ledger.py"


def _append(url, n, start=0, tag="d"):
    with unit_of_work(get_engine(url)) as s:
        for i in range(start, start + n):
            ledger.append(s, "donation", f"donation:{tag}{i}",
                          [(f"donor:{tag}{i % 7}", -(100 + i)), ("need:W-1", 100 + i)],
                          memo="测试")


def _issue(url):
    with unit_of_work(get_engine(url)) as s:
        return checkpoints.issue(s, CONFIG)


def _leaf_hashes(session):
    hashes = session.execute(select(LedgerTxn.hash).order_by(LedgerTxn.seq)).scalars().all()
    return [merkle.leaf_hash(bytes.fromhex(h)) for h in hashes]


def _assert_tree_is_the_ledgers(session):
    leaves = _leaf_hashes(session)
    assert tree_store.size(session) == len(leaves)
    for size in range(1, len(leaves) + 1):
        assert tree_store.root(session, size) == merkle.root(leaves[:size]), size


@pytest.fixture
def client(clean_url):
    app = make_app(clean_url)
    app.config["TLOG"] = CONFIG
    return app.test_client()


def test_tree_follows_every_append_and_proofs_match_recomputation(clean_url):
    for batch in range(7):  # several units of work, so the frontier is re-read from the db
        _append(clean_url, 10, start=batch * 10)
    with unit_of_work(get_engine(clean_url)) as s:
        _assert_tree_is_the_ledgers(s)
        leaves = _leaf_hashes(s)
        for size in (1, 2, 7, 32, 33, 70):
            for index in range(size):
                assert tree_store.inclusion_proof(s, index, size) == \
                    merkle.inclusion_proof(leaves, index, size)
        for new in range(1, 41):
            for old in range(1, new + 1):
                assert tree_store.consistency_proof(s, old, new) == \
                    merkle.consistency_proof(leaves, old, new)
        # ~one stored node per leaf on average: 2n - popcount(n)
        nodes = s.execute(select(func.count()).select_from(LedgerTreeNode)).scalar()
        assert nodes == 2 * 70 - bin(70).count("1")


def test_rolled_back_appends_and_other_writers_never_mislead_the_frontier_memo(clean_url):
    _append(clean_url, 5)
    with pytest.raises(RuntimeError), unit_of_work(get_engine(clean_url)) as s:
        ledger.append(s, "donation", "donation:rolled-back", [("donor:r", -9), ("need:W-1", 9)])
        raise RuntimeError("the rest of the unit of work failed")
    _append(clean_url, 2, start=50, tag="z")  # seq 6 is now another transaction
    stale = (tree_store._memo.key, tree_store._memo.stack)
    _append(clean_url, 1, start=60, tag="other")  # as if another process wrote seq 8
    tree_store._memo.key, tree_store._memo.stack = stale
    _append(clean_url, 3, start=70, tag="y")
    with unit_of_work(get_engine(clean_url)) as s:
        _assert_tree_is_the_ledgers(s)


def test_a_tree_behind_the_ledger_catches_up(clean_url):
    _append(clean_url, 13)
    with get_engine(clean_url).begin() as conn:  # as after migrating a ledger that had no tree
        conn.execute(delete(LedgerTreeNode))
    tree_store._memo.key = None  # ...in a process that never saw this ledger
    _append(clean_url, 4, start=13)
    with unit_of_work(get_engine(clean_url)) as s:
        _assert_tree_is_the_ledgers(s)
    with get_engine(clean_url).begin() as conn:
        conn.execute(delete(LedgerTreeNode))
    row = _issue(clean_url)
    assert row.size == 17
    with unit_of_work(get_engine(clean_url)) as s:
        _assert_tree_is_the_ledgers(s)


def test_checkpoints_are_signed_kept_and_only_issued_when_the_tree_grew(client, clean_url):
    assert client.get("/disclosure/checkpoint").status_code == 404
    _append(clean_url, 5)
    first = _issue(clean_url)
    assert first.size == 5 and _issue(clean_url) is None
    response = client.get("/disclosure/checkpoint")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    body = response.get_data()
    lines = body.decode().split("\n")
    assert lines[0] == "test.example/ledger" and lines[1] == "5" and lines[3] == ""
    assert lines[4].startswith("— test.example/ledger ") and body.endswith(b"\n")
    with unit_of_work(get_engine(clean_url)) as s:
        root = merkle.root(_leaf_hashes(s))
    assert open_checkpoint(body, SIGNER.verifier).root == root
    assert base64.b64decode(lines[2]) == root
    _append(clean_url, 3, start=5)
    assert _issue(clean_url).size == 8
    assert open_checkpoint(client.get("/disclosure/checkpoint").get_data(),
                           SIGNER.verifier).size == 8
    with unit_of_work(get_engine(clean_url)) as s:
        sizes = s.execute(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.id)).all()
    assert [r[0] for r in sizes] == [5, 8]


def test_proof_endpoints(client, clean_url):
    _append(clean_url, 21)
    _issue(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        leaves = _leaf_hashes(s)
    for seq, size in [(1, 1), (1, 21), (13, 20), (21, 21)]:
        proof = client.get(f"/disclosure/proof/inclusion?seq={seq}&size={size}").get_json()
        assert set(proof) == {"seq", "size", "leaf", "path"}
        assert (proof["seq"], proof["size"]) == (seq, size)
        assert merkle.leaf_hash(bytes.fromhex(proof["leaf"])) == leaves[seq - 1]
        assert merkle.verify_inclusion(seq - 1, size, leaves[seq - 1],
                                       [bytes.fromhex(h) for h in proof["path"]],
                                       merkle.root(leaves[:size]))
    for old, new in [(1, 21), (7, 8), (16, 21), (21, 21)]:
        proof = client.get(f"/disclosure/proof/consistency?from={old}&to={new}").get_json()
        assert set(proof) == {"from", "to", "path"} and (proof["from"], proof["to"]) == (old, new)
        assert merkle.verify_consistency(old, new, merkle.root(leaves[:old]),
                                         merkle.root(leaves[:new]),
                                         [bytes.fromhex(h) for h in proof["path"]])


def test_the_api_serves_the_checkpoint_and_the_same_proofs(client, clean_url):
    """Issue 12: the JSON API has the checkpoint and proofs the disclosure endpoints have,
    with refusals as problem+json naming the field."""
    assert client.get("/api/v1/checkpoint").status_code == 404  # none issued yet
    _append(clean_url, 21)
    _issue(clean_url)
    checkpoint = client.get("/api/v1/checkpoint").get_json()
    note = client.get("/disclosure/checkpoint").get_data(as_text=True)
    assert checkpoint["note"] == note and checkpoint["verifier_key"] == VKEY
    assert checkpoint["size"] == 21 and checkpoint["origin"] == "test.example/ledger"
    opened = open_checkpoint(note, SIGNER.verifier)
    assert bytes.fromhex(checkpoint["root"]) == opened.root
    for path in ("/proof/inclusion?seq=13&size=20", "/proof/consistency?from=7&to=21"):
        api = client.get("/api/v1" + path)
        assert api.status_code == 200, api.get_json()
        assert api.get_json() == client.get("/disclosure" + path).get_json()
    for query, field, status in [("inclusion?seq=6&size=5", "seq", 400),
                                 ("inclusion?seq=0&size=5", "seq", 400),
                                 ("inclusion?seq=1&size=" + "9" * 40, "size", 400),
                                 ("inclusion?seq=1&size=22", None, 404),
                                 ("consistency?from=6&to=5", "from", 400),
                                 ("consistency?to=5", "from", 400)]:
        response = client.get("/api/v1/proof/" + query)
        assert response.status_code == status, query
        assert response.mimetype == "application/problem+json"
        if field:
            assert field in [e["field"] for e in response.get_json()["errors"]], query
    index = client.get("/api/v1/").get_json()
    assert index["links"]["checkpoint"] == "/api/v1/checkpoint"


@pytest.mark.parametrize("query,status", [
    ("inclusion?seq=0&size=5", 400), ("inclusion?seq=6&size=5", 400),
    ("inclusion?seq=abc&size=5", 400), ("inclusion?size=5", 400), ("inclusion?seq=1", 400),
    ("inclusion?seq=-1&size=5", 400), ("inclusion?seq=+1&size=5", 400),
    ("inclusion?seq=01&size=5", 400), ("inclusion?seq=1&size=1e3", 400),
    ("inclusion?seq=1&size=" + "9" * 40, 400), ("inclusion?seq=1&size=22", 404),
    ("consistency?from=0&to=5", 400), ("consistency?from=6&to=5", 400),
    ("consistency?from=x&to=5", 400), ("consistency?to=5", 400),
    ("consistency?from=1&to=22", 404), ("consistency?from=1&to=999999999999999999", 404),
])
def test_bad_proof_parameters_get_a_message_and_change_nothing(client, clean_url, query,
                                                               status):
    _append(clean_url, 21)
    _issue(clean_url)
    response = client.get("/disclosure/proof/" + query)
    assert response.status_code == status
    assert response.get_json()["error"]
    english = client.get("/disclosure/proof/" + query + "&lang=en").get_json()["error"]
    assert english.isascii() and english != response.get_json()["error"]
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar() == 1
        assert tree_store.size(s) == 21


def test_transaction_page_shows_its_proof_in_plain_words(client, clean_url):
    _append(clean_url, 6)
    _issue(clean_url)
    _append(clean_url, 1, start=6)
    page = client.get("/disclosure/ledger/4").get_data(as_text=True)
    assert "这证明了什么" in page and "本站已按 RFC 9162 重算：证明成立" in page
    assert "¥1.03" in page and "need:W-1" in page
    with unit_of_work(get_engine(clean_url)) as s:
        path = tree_store.inclusion_proof(s, 3, 6)
    assert all(h.hex() in page for h in path)
    assert VKEY in page
    english = client.get("/disclosure/ledger/4?lang=en").get_data(as_text=True)
    assert "What this proves" in english and "proof holds" in english
    newer = client.get("/disclosure/ledger/7").get_data(as_text=True)
    assert "尚未被签名覆盖" in newer
    for missing in ("/disclosure/ledger/8", "/disclosure/ledger/0", "/disclosure/ledger/x"):
        assert client.get(missing).status_code == 404


def test_verify_page_publishes_key_script_and_links(client, clean_url):
    _append(clean_url, 3)
    page = client.get("/disclosure/verify").get_data(as_text=True)
    assert VKEY in page
    assert "/disclosure/ledger/3" in page and "/disclosure/checkpoint" in page
    assert "ledger witness" in page
    assert client.get("/static/verify_ledger.py").get_data() == SCRIPT.read_bytes()


def test_published_script_checks_a_checkpoint(client, clean_url, tmp_path):
    _append(clean_url, 9)
    _issue(clean_url)
    _append(clean_url, 2, start=9)  # the file may run past the checkpoint
    ledger_file, note_file = tmp_path / "ledger.jsonl", tmp_path / "checkpoint.txt"
    ledger_file.write_bytes(client.get("/disclosure/ledger.jsonl").get_data())
    note_file.write_bytes(client.get("/disclosure/checkpoint").get_data())

    def run(*args):
        return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                              capture_output=True, text=True, timeout=60)

    ok = run(ledger_file, note_file, VKEY)
    assert ok.returncode == 0, ok.stderr
    assert "OK: 11 transactions" in ok.stdout and "first 9 transactions" in ok.stdout
    other = run(ledger_file, note_file, str(Signer.generate("test.example/ledger").verifier))
    assert other.returncode != 0 and "CHECKPOINT BAD" in other.stderr
    bent = tmp_path / "bent.txt"
    bent.write_text(note_file.read_text().replace("\n9\n", "\n8\n"))
    assert "CHECKPOINT BAD" in run(ledger_file, bent, VKEY).stderr
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join(ledger_file.read_bytes().splitlines(keepends=True)[:8]))
    assert "CHECKPOINT MISMATCH" in run(short, note_file, VKEY).stderr


def _cli(url, *args, key=True):
    env = dict(os.environ, DATABASE_URL=url, LEDGER_ORIGIN="test.example/ledger")
    if key:
        env["LEDGER_SIGNING_KEY"] = SIGNER.encode()
    return subprocess.run([sys.executable, "-m", "flask", "--app", "web", "ledger", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_checkpoint_verify_and_consistency(clean_url, tmp_path, client):
    _append(clean_url, 6)
    first = _cli(clean_url, "checkpoint")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("test.example/ledger\n6\n") and "issued" in first.stderr
    assert "unchanged" in _cli(clean_url, "checkpoint").stderr
    old = tmp_path / "old.txt"
    old.write_text(first.stdout)
    _append(clean_url, 5, start=6)
    new = tmp_path / "new.txt"
    new.write_text(_cli(clean_url, "checkpoint").stdout)
    ledger_file = tmp_path / "ledger.jsonl"
    ledger_file.write_bytes(client.get("/disclosure/ledger.jsonl").get_data())

    for note in (old, new):
        ok = _cli(clean_url, "verify", str(ledger_file), "--checkpoint", str(note), "--key", VKEY)
        assert ok.returncode == 0 and "match the checkpoint" in ok.stdout, ok.stderr
    # A file whose history was rewritten (and re-hashed) no longer has the signed root.
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    forged = [json.loads(line) for line in lines]
    forged[2]["memo"] = "改过"
    from funds.ledger_format import to_line, txn_hash
    for i in range(2, len(forged)):
        forged[i]["prev"] = forged[i - 1]["hash"]
        forged[i]["hash"] = txn_hash(forged[i])
    rewritten = tmp_path / "rewritten.jsonl"
    rewritten.write_text("".join(to_line(t) + "\n" for t in forged), encoding="utf-8")
    assert _cli(clean_url, "verify", str(rewritten)).returncode == 0  # the chain alone: fine
    caught = _cli(clean_url, "verify", str(rewritten), "--checkpoint", str(new), "--key", VKEY)
    assert caught.returncode == 1 and "not the ledger the checkpoint signed" in caught.stderr
    wrong_key = _cli(clean_url, "verify", str(ledger_file), "--checkpoint", str(new), "--key",
                     str(Signer.generate("test.example/ledger").verifier))
    assert wrong_key.returncode == 1 and "checkpoint" in wrong_key.stderr
    bad_key = _cli(clean_url, "verify", str(ledger_file), "--checkpoint", str(new), "--key", "x")
    assert bad_key.returncode == 2 and "bad key" in bad_key.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    refused = _cli(clean_url, "verify", str(empty))
    assert refused.returncode == 1 and "no transactions" in refused.stderr
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe{}\n")
    refused = _cli(clean_url, "verify", str(binary))
    assert refused.returncode == 1 and "UTF-8" in refused.stderr
    assert "Traceback" not in refused.stderr

    assert _cli(clean_url, "key").stdout.strip() == VKEY
    made = _cli(clean_url, "keygen", "--name", "new.example/log", key=False)
    assert made.stdout.startswith("PRIVATE+KEY+new.example/log+") and "verifier key" in made.stderr
    assert _cli(clean_url, "keygen", "--name", "has space", key=False).returncode == 2

    consistent = _cli(clean_url, "consistency", str(old), str(new), "--key", VKEY)
    assert consistent.returncode == 0 and "extends" in consistent.stdout, consistent.stderr
    backwards = _cli(clean_url, "consistency", str(new), str(old), "--key", VKEY)
    assert backwards.returncode == 1 and "backwards" in backwards.stderr


class _Server:
    """The app over real HTTP on a port of our own, for the witness."""

    def __init__(self, url):
        app = make_app(url)
        app.config["TLOG"] = CONFIG
        self.server = make_server("127.0.0.1", 0, app, threaded=True)  # a free port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc):
        self.server.shutdown()


def _history(url, n, tag="d", start=0):
    """A ledger of n transactions built at fixed times, so rebuilding it is byte-equal."""
    for i in range(start, start + n):
        with clock.frozen(clock.datetime(2026, 11, 24, 10, 0, 0) + clock_delta(i)):
            _append(url, 1, start=i, tag=tag)


def clock_delta(i):
    from datetime import timedelta
    return timedelta(seconds=i)


def test_witness_over_http_follows_the_log_and_catches_a_rewrite(clean_url, tmp_path):
    state = tmp_path / "witness.json"
    _history(clean_url, 8)
    _issue(clean_url)
    with _Server(clean_url) as base:
        first = _cli(clean_url, "witness", base, "--state", str(state), "--key", VKEY, key=False)
        assert first.returncode == 0 and "size 8" in first.stdout, first.stderr
        _history(clean_url, 4, start=8)
        _issue(clean_url)
        grown = _cli(clean_url, "witness", base, "--state", str(state), key=False)
        assert grown.returncode == 0 and "8 → 12" in grown.stdout, grown.stderr
        accepted = state.read_bytes()

        # The operator rewrites history: same first 5 transactions, a different tail,
        # a longer ledger, everything re-hashed and re-signed with the real key.
        truncate_all(clean_url)
        _history(clean_url, 5)
        _history(clean_url, 10, tag="x", start=5)
        _issue(clean_url)
        forked = _cli(clean_url, "witness", base, "--state", str(state), key=False)
        assert forked.returncode == 1 and "LOG MISBEHAVED" in forked.stderr, forked.stderr
        assert "forked" in forked.stderr and state.read_bytes() == accepted

        # Or drops its tail.
        truncate_all(clean_url)
        _history(clean_url, 10)
        _issue(clean_url)
        back = _cli(clean_url, "witness", base, "--state", str(state), key=False)
        assert back.returncode == 1 and "backwards" in back.stderr
        assert state.read_bytes() == accepted

        # The honest history, grown further, is accepted again.
        _history(clean_url, 4, start=10)
        _issue(clean_url)
        honest = _cli(clean_url, "witness", base, "--state", str(state), key=False)
        assert honest.returncode == 0 and "12 → 14" in honest.stdout, honest.stderr
    down = _cli(clean_url, "witness", base, "--state", str(state), key=False)
    assert down.returncode == 2 and "cannot" in down.stderr


def test_checkpoint_job_runs_in_process(clean_url, monkeypatch):
    from core.config import Settings
    from jobs.checkpoints import issue_checkpoint
    from jobs.queue import enqueue, get_queue

    monkeypatch.setenv("LEDGER_SIGNING_KEY", SIGNER.encode())
    monkeypatch.setenv("LEDGER_ORIGIN", "test.example/ledger")
    _append(clean_url, 3)
    queue = get_queue(Settings(database_url=clean_url, redis_url=None))
    job = enqueue(queue, issue_checkpoint, clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        root = merkle.root(_leaf_hashes(s)).hex()
    assert job.return_value() == {"issued": True, "size": 3, "root": root}
    assert enqueue(queue, issue_checkpoint, clean_url).return_value() == {"issued": False}


def test_checkpoint_job_is_on_rq_cron_and_runs_on_a_worker(clean_url, monkeypatch):
    import uuid

    from rq.cron import CronScheduler

    from core.config import Settings
    from jobs.checkpoints import issue_checkpoint
    from jobs.queue import QUEUE_NAME, get_queue
    from tests.conftest import require_redis
    from tests.integration.slow_jobs import BurstWorker

    url = require_redis()
    queue = get_queue(Settings(database_url=clean_url, redis_url=url),
                      name=f"test-{uuid.uuid4().hex[:8]}")
    configured = CronScheduler(connection=queue.connection)
    configured.load_config_from_file("jobs.cron")
    jobs = configured.get_jobs()
    # Other jobs share the cron file; the checkpoint is the one that runs every minute.
    assert (issue_checkpoint, QUEUE_NAME, 60) in [(j.func, j.queue_name, j.interval) for j in jobs]

    monkeypatch.setenv("LEDGER_SIGNING_KEY", SIGNER.encode())
    _append(clean_url, 4)
    cron = CronScheduler(connection=queue.connection)
    cron.register(issue_checkpoint, queue_name=queue.name, args=(clean_url,), interval=60)
    cron.enqueue_jobs()
    BurstWorker([queue], connection=queue.connection).work(burst=True)
    with unit_of_work(get_engine(clean_url)) as s:
        assert checkpoints.latest(s).size == 4


def test_concurrent_appends_and_checkpoints_keep_the_tree_equal_to_the_ledger(clean_url):
    require_postgres()
    engine = get_engine(clean_url)
    barrier = threading.Barrier(9)
    errors = []

    def appender(i):
        barrier.wait()
        try:
            for k in range(25):
                with unit_of_work(engine) as s:
                    ledger.append(s, "donation", f"donation:{i}-{k}",
                                  [(f"donor:d{i}", -100), ("need:W-1", 100)])
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    def signer():
        barrier.wait()
        for _ in range(15):
            try:
                _issue(clean_url)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=appender, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=signer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    _issue(clean_url)
    with unit_of_work(engine) as s:
        assert ledger.verify(s).count == 200
        _assert_tree_is_the_ledgers(s)
        leaves = _leaf_hashes(s)
        rows = s.execute(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)).scalars()
        for row in rows:  # every checkpoint signed during the race is a prefix of the ledger
            assert bytes.fromhex(row.root) == merkle.root(leaves[:row.size]), row.size
        assert s.execute(text("SELECT count(*) FROM ledger_tree_node")).scalar() == \
            2 * 200 - bin(200).count("1")


def test_migration_builds_the_tree_of_an_existing_ledger(tmp_path):
    from core import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0012")
    hashes = []
    # A ledger written before the tree existed: plain SQL, because today's unit of work
    # stamps the data version, whose table is younger than revision 0012.
    with get_engine(url).begin() as s:
        from funds.ledger_format import GENESIS, txn_hash
        prev = GENESIS
        for seq in range(1, 38):
            body = {"seq": seq, "at": "2026-11-24T10:00:00Z", "kind": "donation",
                    "ref": f"donation:{seq}", "memo": "", "prev": prev,
                    "postings": [{"account": "donor:a", "amount": -1},
                                 {"account": "need:W-1", "amount": 1}]}
            prev = txn_hash(body)
            s.execute(text("INSERT INTO ledger_txn (seq, at, kind, ref, memo, prev, hash) "
                           "VALUES (:seq, '2026-11-24 10:00:00', 'donation', :ref, '', "
                           ":prev, :hash)"),
                      {"seq": seq, "ref": f"donation:{seq}", "prev": body["prev"], "hash": prev})
            hashes.append(prev)
    migrate.upgrade(url)
    with unit_of_work(get_engine(url)) as s:
        leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in hashes]
        assert tree_store.size(s) == 37
        for size in range(1, 38):
            assert tree_store.root(s, size) == merkle.root(leaves[:size])
    migrate.downgrade(url, "0012")
    get_engine(url).dispose()
