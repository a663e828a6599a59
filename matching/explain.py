"""``--explain``: why each source was eligible and why it was chosen."""

from __future__ import annotations

from . import eligibility as el
from .model import Need, Source

_CHOSEN = {
    "flow": "optimal min-cost flow of the linear relaxation (value per fen ranks needs)",
    "repack": "re-packed: the tightest single leftover budget that could take the whole need",
    "final": "second flow spending leftover budgets on divisible needs",
    "exact": "exhaustive search over whole-need assignments (tiny instance), optimal flow for the rest",
    "leftover": "leftover budget, most valuable need per fen first",
}


def why(s: Source, n: Need, amount: int, phase: str, as_of) -> dict:
    w = n.weight / n.open * 100
    rank = (f"value 10^({n.urgency}-1) × {n.people} people / {n.open / 100:.2f} yuan open "
            f"= {w:.6g} per yuan")
    if n.whole:
        how = f"whole need funded entirely ({amount} fen) by this one source"
    elif amount < n.open:
        how = f"divisible need, {amount} of {n.open} fen from this source"
    else:
        how = f"divisible need fully funded ({amount} fen) from this source"
    return {
        "eligible": el.reasons(s, n, as_of),
        "chosen": f"{_CHOSEN.get(phase, phase)}; {rank}; {how}",
    }
