"""A unit of work remembers the chain's head between its appends (funds.ledger): the memo
must never outlive what it describes — a rolled-back savepoint, a rolled-back or committed
transaction — or the next append would chain onto a transaction that is not there."""
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from core.db import get_engine, unit_of_work
from funds import ledger, tree_store
from funds.merkle import leaf_hash
from funds.merkle import root as naive_root
from funds.models import LedgerTxn

POSTINGS = [("donor:abc123", -100), ("need:W-1", 100)]


def _verified(url) -> int:
    with unit_of_work(get_engine(url)) as s:
        verdict = ledger.verify(s)
        assert verdict.ok, verdict
        size = tree_store.size(s)
        hashes = [leaf_hash(bytes.fromhex(h)) for (h,) in s.execute(
            text("SELECT hash FROM ledger_txn ORDER BY seq"))]
        assert size == len(hashes) and tree_store.root(s, size) == naive_root(hashes)
        return verdict.count


def test_an_append_after_a_rolled_back_savepoint_chains_onto_what_is_kept(clean_url):
    with unit_of_work(get_engine(clean_url)) as s:
        first = ledger.append(s, "donation", "donation:1", POSTINGS)
        with pytest.raises(RuntimeError):
            with s.begin_nested():
                ledger.append(s, "donation", "donation:2", POSTINGS)  # undone below
                raise RuntimeError
        kept = ledger.append(s, "donation", "donation:3", POSTINGS)
        assert (kept.seq, kept.prev) == (2, first.hash)
    assert _verified(clean_url) == 2


def test_the_head_is_read_again_after_a_rolled_back_unit_of_work(clean_url):
    engine = get_engine(clean_url)
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as s:
            ledger.append(s, "donation", "donation:1", POSTINGS)
            raise RuntimeError
    with unit_of_work(engine) as s:
        again = ledger.append(s, "donation", "donation:2", POSTINGS)
        assert (again.seq, again.prev) == (1, "0" * 64)
        assert s.exec(select(func.count()).select_from(LedgerTxn)).one() == 1
    assert _verified(clean_url) == 1


def test_one_session_reused_across_commits_and_a_rollback_keeps_one_chain(clean_url):
    """The session of a long job: commit, roll back, commit again. Appends return detached
    rows, so a seq given back by a rollback can be used again in the same session."""
    with unit_of_work(get_engine(clean_url)) as s:
        ledger.append(s, "donation", "donation:1", POSTINGS)
        s.commit()
        ledger.append(s, "donation", "donation:2", POSTINGS)  # seq 2, rolled back
        s.rollback()
        reused = ledger.append(s, "donation", "donation:3", POSTINGS)
        assert reused.seq == 2 and reused.ref == "donation:3"
        following = ledger.append(s, "donation", "donation:4", POSTINGS)
        assert following.prev == reused.hash
    assert _verified(clean_url) == 3
