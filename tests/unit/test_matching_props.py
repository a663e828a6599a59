"""Property tests: every result is valid; on tiny instances the engine equals brute force.

The brute force is independent of the engine: it tries every assignment of whole needs to
single sources and solves the divisible rest as an LP with GLOP (the LP of a network with
integer data has an integral optimum, so it is the true optimum in whole fen).
"""

from __future__ import annotations

import itertools
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

import matching.graph as graph
from matching import eligibility as el
from matching import parse_instance, solve, validate

REGIONS = ["山东省/滨州市/邹平市/黄山街道", "山东省/滨州市郊/某镇", "山东省/潍坊市/青州市",
           "广西壮族自治区/北海市/合浦县"]
PREFIXES = ["山东省", "山东省/滨州市", "山东省/滨州市郊", "山东省/潍坊市", "广西壮族自治区/北海市"]
KINDS = ["wish", "project", "sponsorship", "microgrant"]


@st.composite
def instances(draw, max_needs=6, max_sources=3, max_amount=40):
    needs = []
    for k in range(draw(st.integers(1, max_needs))):
        amount = draw(st.integers(1, max_amount))
        needs.append({
            "id": f"N{k}", "kind": draw(st.sampled_from(KINDS)), "amount": amount,
            "funded": draw(st.integers(0, amount)), "whole": draw(st.booleans()),
            "category": draw(st.sampled_from(["助学", "助老"])),
            "region": draw(st.sampled_from(REGIONS)), "urgency": draw(st.integers(1, 5)),
            "people": draw(st.integers(1, 3)),
            "deadline": draw(st.sampled_from([None, "2026-11-01", "2026-12-31"])),
            "beneficiary": draw(st.sampled_from([None, "B1", "B2"])),
            "verified": draw(st.sampled_from([True, True, True, False])),
        })
    sources = []
    for k in range(draw(st.integers(1, max_sources))):
        s = {
            "id": f"S{k}", "kind": "pledge", "budget": draw(st.integers(0, 2 * max_amount)),
            "categories": draw(st.sampled_from([[], ["助学"], ["助老"]])),
            "regions": draw(st.lists(st.sampled_from(PREFIXES), max_size=2, unique=True)),
            "need_kinds": draw(st.lists(st.sampled_from(KINDS), max_size=2, unique=True)),
            "per_grant_cap": draw(st.sampled_from([None, None, 5, 15, 30])),
            "per_beneficiary_cap": draw(st.sampled_from([None, None, 10, 25])),
        }
        if draw(st.integers(0, 4)) == 0:
            s["match_ratio"] = draw(st.sampled_from([0.5, 1, 2]))
        sources.append(s)
    return {"as_of": "2026-11-24", "needs": needs, "sources": sources}


def brute_force(data) -> float:
    inst = parse_instance(data)
    live = [n for n in inst.needs if el.is_live(n, inst.as_of)]
    wholes = [n for n in live if n.whole]
    divs = [n for n in live if not n.whole]
    options = [[None] + [s for s in inst.sources if el.pair_ok(s, n)] for n in wholes]
    best = 0.0
    for pick in itertools.product(*options):
        budget = {s.id: s.budget for s in inst.sources}
        ben: dict = {}
        ok, value = True, 0.0
        for n, s in zip(wholes, pick, strict=True):
            if s is None:
                continue
            budget[s.id] -= n.open
            if n.beneficiary is not None:
                ben[(s.id, n.beneficiary)] = ben.get((s.id, n.beneficiary), 0) + n.open
            ok &= budget[s.id] >= 0
            value += n.weight
        if not ok:
            continue
        lp = pywraplp.Solver.CreateSolver("GLOP")
        x = {}
        for n in divs:
            for s in inst.sources:
                if el.pair_ok(s, n):
                    x[(s.id, n.id)] = lp.NumVar(0, el.grant_limit(s, n), "")
        for s in inst.sources:
            terms = [v for (sid, _), v in x.items() if sid == s.id]
            if terms:
                lp.Add(sum(terms) <= budget[s.id])
            if s.per_beneficiary_cap is not None:
                for b in {n.beneficiary for n in live if n.beneficiary}:
                    used = ben.get((s.id, b), 0)
                    if used > s.per_beneficiary_cap:
                        ok = False
                    terms = [x[(s.id, n.id)] for n in divs
                             if n.beneficiary == b and (s.id, n.id) in x]
                    if terms:
                        lp.Add(sum(terms) <= s.per_beneficiary_cap - used)
        if not ok:
            continue
        for n in divs:
            terms = [v for (_, nid), v in x.items() if nid == n.id]
            if terms:
                lp.Add(sum(terms) <= n.open)
        lp.Maximize(sum(v * (inst.needs[[m.id for m in inst.needs].index(nid)].weight
                              / inst.needs[[m.id for m in inst.needs].index(nid)].open)
                        for (_, nid), v in x.items()) if x else 0)
        if x:
            assert lp.Solve() == pywraplp.Solver.OPTIMAL
            value += lp.Objective().Value()
        best = max(best, value)
    return best


FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(instances(max_needs=12, max_sources=4, max_amount=200))
def test_every_result_is_valid(data):
    res = solve(data)
    assert validate(data, res) == []
    st_ = res["stats"]
    assert st_["objective"] <= st_["upper_bound"] * (1 + 1e-9) + 1e-9


@FAST
@given(instances())
def test_tiny_instances_match_brute_force(data):
    res = solve(data)
    assert validate(data, res) == []
    best = brute_force(data)
    assert math.isclose(res["stats"]["objective"], best, rel_tol=1e-7, abs_tol=1e-7)
    assert res["stats"]["upper_bound"] >= best * (1 - 1e-9) - 1e-9


@settings(max_examples=80, deadline=None)
@given(instances(max_needs=12, max_sources=4, max_amount=200))
def test_selected_pairs_mode_stays_valid_with_honest_bound(data):
    old = graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK
    graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK = 0, -1  # force the large-instance network
    try:
        res = solve(data)
    finally:
        graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK = old
    assert validate(data, res) == []
    assert res["stats"]["objective"] <= res["stats"]["upper_bound"] * (1 + 1e-9) + 1e-9
