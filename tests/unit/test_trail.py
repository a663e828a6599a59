"""FIFO trail of gifts to disbursements: conservation, order, and a fen-by-fen reference."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from donors.trail import Share, fifo_trail

amounts = st.integers(min_value=1, max_value=5_000)
gift_lists = st.lists(amounts, max_size=12).map(lambda xs: [(f"g{i}", a) for i, a in enumerate(xs)])
disbursement_lists = st.lists(amounts, max_size=12).map(
    lambda xs: [(f"d{i}", a) for i, a in enumerate(xs)])


def test_worked_example():
    trail = fifo_trail([(1, 15000), (2, 5000), (3, 10000)], [("D1", 12000), ("D2", 10000)])
    assert trail.for_gift(1).shares == (Share("D1", 12000), Share("D2", 3000))
    assert trail.for_gift(2).shares == (Share("D2", 5000),)
    assert trail.for_gift(3).shares == (Share("D2", 2000),)
    assert trail.for_gift(3).undisbursed == 8000 and trail.for_gift(3).disbursed == 2000
    assert trail.uncovered == []


def test_disbursed_beyond_the_gifts_is_reported_as_uncovered():
    trail = fifo_trail([(1, 100)], [("D1", 60), ("D2", 90)])
    assert trail.for_gift(1).shares == (Share("D1", 60), Share("D2", 40))
    assert trail.uncovered == [Share("D2", 50)]


def test_no_disbursements_yet():
    trail = fifo_trail([(1, 100), (2, 50)], [])
    assert [(g.shares, g.undisbursed) for g in trail.gifts] == [((), 100), ((), 50)]
    with pytest.raises(KeyError):
        trail.for_gift(3)


@pytest.mark.parametrize("gifts, disbursements", [
    ([(1, 0)], []), ([(1, -5)], []), ([(1, 1.5)], []), ([(1, True)], []),
    ([(1, 5), (1, 6)], []), ([], [("D", 0)]), ([], [("D", 5), ("D", 5)]),
])
def test_bad_input_is_refused(gifts, disbursements):
    with pytest.raises(ValueError):
        fifo_trail(gifts, disbursements)


@given(gift_lists, disbursement_lists)
def test_conservation(gifts, disbursements):
    trail = fifo_trail(gifts, disbursements)
    for (gift_id, amount), gift in zip(gifts, trail.gifts, strict=True):
        assert gift.gift_id == gift_id
        assert sum(s.amount for s in gift.shares) + gift.undisbursed == amount
        assert all(s.amount > 0 for s in gift.shares)
    paid_to: dict = {}
    for gift in trail.gifts:
        for share in gift.shares:
            paid_to[share.disbursement_id] = paid_to.get(share.disbursement_id, 0) + share.amount
    for share in trail.uncovered:
        paid_to[share.disbursement_id] = paid_to.get(share.disbursement_id, 0) + share.amount
    assert paid_to == {d_id: amount for d_id, amount in disbursements}
    # Money is left over, or disbursements are uncovered, never both.
    assert not (any(g.undisbursed for g in trail.gifts) and trail.uncovered)


@given(gift_lists, disbursement_lists)
def test_first_in_first_out(gifts, disbursements):
    trail = fifo_trail(gifts, disbursements)
    order = {d_id: i for i, (d_id, _) in enumerate(disbursements)}
    # Reading the shares gift by gift walks the disbursements forward, never back.
    walk = [order[s.disbursement_id] for g in trail.gifts for s in g.shares]
    assert walk == sorted(walk)
    # A later gift pays for nothing while an earlier one still has money left.
    for earlier, later in zip(trail.gifts, trail.gifts[1:], strict=False):
        if earlier.undisbursed:
            assert later.shares == ()
    # Only the tail of the disbursements can be uncovered.
    if trail.uncovered:
        first_uncovered = order[trail.uncovered[0].disbursement_id]
        assert [order[s.disbursement_id] for s in trail.uncovered] == list(
            range(first_uncovered, len(disbursements)))


@given(st.lists(st.integers(1, 40), max_size=8), st.lists(st.integers(1, 40), max_size=8))
def test_matches_a_fen_by_fen_reference(gift_amounts, disbursement_amounts):
    gifts = [(i, a) for i, a in enumerate(gift_amounts)]
    disbursements = [(f"d{i}", a) for i, a in enumerate(disbursement_amounts)]
    fen_owner = [g for g, a in gifts for _ in range(a)]  # each fen labelled by its gift
    fen_use = [d for d, a in disbursements for _ in range(a)]
    expected: dict = {}
    for owner, use in zip(fen_owner, fen_use, strict=False):
        expected[(owner, use)] = expected.get((owner, use), 0) + 1
    trail = fifo_trail(gifts, disbursements)
    got = {(g.gift_id, s.disbursement_id): s.amount for g in trail.gifts for s in g.shares}
    assert got == expected
