"""“Where did my ¥ go”: a need's gifts assigned to its disbursements, first in, first out.

The first gift received pays for the first disbursement until it is used up, then the next
gift takes over, so a donor can be told exactly which disbursements (and evidence) their
money paid for. Pure function over plain lists, in the order things happened; the caller
passes gifts net of refunds and redirects.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from core.money import Money


@dataclass(frozen=True)
class Share:
    disbursement_id: Hashable
    amount: int  # fen


@dataclass(frozen=True)
class GiftTrail:
    gift_id: Hashable
    amount: int  # fen
    shares: tuple[Share, ...]  # the disbursements this gift paid for, in order
    undisbursed: int  # fen still held for the need

    @property
    def disbursed(self) -> int:
        return self.amount - self.undisbursed


@dataclass(frozen=True)
class Trail:
    gifts: list[GiftTrail]
    # Disbursed beyond the gifts passed in (paid from other money): (disbursement, fen).
    uncovered: list[Share]

    def for_gift(self, gift_id: Hashable) -> GiftTrail:
        for gift in self.gifts:
            if gift.gift_id == gift_id:
                return gift
        raise KeyError(gift_id)


def fifo_trail(gifts: Sequence[tuple[Hashable, Money]],
               disbursements: Sequence[tuple[Hashable, Money]]) -> Trail:
    """gifts: (gift id, fen) in the order received; disbursements: (id, fen) in the order paid."""
    _check("gift", gifts)
    _check("disbursement", disbursements)
    out: list[GiftTrail] = []
    pending = [[d_id, amount] for d_id, amount in disbursements]  # what each still needs
    cursor = 0
    for gift_id, amount in gifts:
        left, shares = amount, []
        while left and cursor < len(pending):
            d_id, need = pending[cursor]
            take = min(left, need)
            shares.append(Share(d_id, take))
            left -= take
            pending[cursor][1] -= take
            if pending[cursor][1] == 0:
                cursor += 1
        out.append(GiftTrail(gift_id, amount, tuple(shares), left))
    uncovered = [Share(d_id, need) for d_id, need in pending[cursor:] if need]
    return Trail(out, uncovered)


def _check(what: str, items: Sequence[tuple[Hashable, int]]) -> None:
    seen = set()
    for item_id, amount in items:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError(f"{what} {item_id!r}: amount must be a positive integer of fen")
        if item_id in seen:
            raise ValueError(f"{what} {item_id!r} appears twice")
        seen.add(item_id)
