"""Which data scopes a unit of work stamps, from the SQL it ran and the accounts it posted."""
from core.data_version import LISTS, SITE, _written, need_scope, scopes_for

GIFT = {("INSERT", "donation"), ("UPDATE", "need.funded"), ("INSERT", "ledger_txn"),
        ("INSERT", "ledger_posting"), ("UPDATE", "donation.ledger_seq")}


def test_updates_are_read_per_column_and_inserts_per_table():
    assert _written('UPDATE need SET funded=(need.funded + %(funded_1)s) WHERE need.id = '
                    '%(id_1)s AND need.state IN (__[POSTCOMPILE_state_1])') == {
        ("UPDATE", "need.funded")}
    assert _written("UPDATE need SET title=?, story=? WHERE need.id = ?") == {
        ("UPDATE", "need.title"), ("UPDATE", "need.story")}
    assert _written('INSERT INTO "user" (email) VALUES (?)') == {("INSERT", "user")}
    assert _written("DELETE FROM evidence WHERE evidence.id = ?") == {("DELETE", "evidence")}
    assert _written("SELECT * FROM need") == set()
    assert _written("UPDATE data_version SET version = version + 1 WHERE id = 1") == set()


def test_a_gift_stamps_the_lists_and_the_needs_it_posted_to():
    accounts = {"donor:abc", "need:J-1", "disbursed:J-2"}
    assert scopes_for(GIFT, accounts) == {LISTS, need_scope("J-1"), need_scope("J-2")}
    assert scopes_for(GIFT, accounts, flushed_needs={"J-1"}) == {
        LISTS, need_scope("J-1"), need_scope("J-2")}


def test_anything_else_stamps_the_whole_site():
    accounts = {"donor:abc", "need:J-1"}
    assert scopes_for(GIFT | {("UPDATE", "need.title")}, accounts) == {SITE}
    assert scopes_for(GIFT | {("UPDATE", "donor.show_name")}, accounts) == {SITE}
    assert scopes_for(GIFT | {("DELETE", "donation")}, accounts) == {SITE}
    assert scopes_for(GIFT, accounts, flushed_needs={"J-9"}) == {SITE}  # another need changed
    assert scopes_for(GIFT, set()) == {SITE}  # no ledger transaction: not a money movement
