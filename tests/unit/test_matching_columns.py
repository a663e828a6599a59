"""The engine's fast paths agree with the slow, obvious ones: the columnar parser with the
careful per-need parser (values and error messages), the array eligibility checks with the
rule functions, LEMON's flow with OR-Tools', and the whole-need swaps keep every rule."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching
import matching.graph as graph
from matching import eligibility as el
from matching.engine import Engine
from matching.model import _assemble, load_instance, parse_instance
from matching.tables import Tables
from tests.unit.test_matching_input import BAD, GOOD, mutated
from tests.unit.test_matching_props import instances

_SPEC = importlib.util.spec_from_file_location(
    "bench_matching", Path(__file__).resolve().parents[2] / "bench" / "matching.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)
FAMILIES = sorted(bench.FAMILIES)
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def careful(data: dict) -> matching.Instance:
    """The per-need parser alone (what the fast path falls back to)."""
    return _assemble(data.get("as_of"), None, data.get("needs"), data.get("sources"))


def error_of(fn, arg) -> str | None:
    try:
        fn(arg)
    except matching.InstanceError as e:
        return str(e)
    return None


@SLOW
@given(instances(max_needs=12, max_sources=4), st.integers(0, 3))
def test_fast_parse_equals_careful_parse(data, odd):
    if odd == 1:  # optional keys missing or null: the fast path fills the same defaults
        for n in data["needs"]:
            for k in ("funded", "whole", "people", "deadline", "beneficiary", "verified"):
                n.pop(k, None) if len(n["id"]) % 2 else n.update({k: None})
    if odd == 2:
        for n in data["needs"]:
            n["posted_at"] = "2026-09-01T08:00:00"
    want = careful(data)
    for got in (parse_instance(data), load_instance(orjson.dumps(data))):
        assert got.cols.n == want.cols.n
        assert got.needs == want.needs
        assert got.sources == want.sources and got.as_of == want.as_of


@pytest.mark.parametrize("label, mutate, path, words", BAD, ids=[b[0] for b in BAD])
def test_fast_paths_refuse_with_the_careful_message(label, mutate, path, words):
    data = mutated(mutate)
    msg = error_of(careful, data)
    assert msg and path in msg
    assert error_of(parse_instance, data) == msg
    text = json.dumps(data, ensure_ascii=False).encode()
    if label in ("amount 10**30", "people beyond the maximum"):  # beyond 64 bits: JSON
        # readers make such integers floats or refuse them
        got = error_of(load_instance, text)
        assert got is not None and (path in got or "not valid JSON" in got)
    else:
        assert error_of(load_instance, text) == msg


@pytest.mark.parametrize("change", [
    lambda d: d["needs"].append(dict(d["needs"][0])),  # duplicate id
    lambda d: d["needs"][0].update(id="  "),
    lambda d: d["needs"][0].update(category=" "),
    lambda d: d["needs"][0].update(beneficiary=""),
    lambda d: d["needs"][0].update(posted_at="\t"),
    lambda d: d["needs"][0].update(funded=20_000),  # more than the amount
    lambda d: d["needs"][0].update(kind="gift"),
    lambda d: d["needs"][0].update(deadline="2026-13-01"),
    lambda d: d["needs"][0].update(whole=1),
    lambda d: d["needs"][0].update(urgency=True),
    lambda d: d["needs"].append(7),
])
def test_odd_needs_take_the_careful_path(change):
    data = copy.deepcopy(GOOD)
    change(data)
    msg = error_of(careful, data)
    assert msg is not None
    assert error_of(parse_instance, data) == msg
    assert error_of(load_instance, orjson.dumps(data)) == msg


@SLOW
@given(instances(max_needs=12, max_sources=4, max_amount=200), st.sampled_from(FAMILIES),
       st.integers(0, 10**6))
def test_array_rules_equal_the_rule_functions(data, family, seed):
    import random
    bench.FAMILIES[family](data, random.Random(seed))
    inst = parse_instance(data)
    tb = Tables(inst)
    pairs = [(si, i) for si in range(len(inst.sources)) for i in range(inst.cols.n)]
    if not pairs:
        return
    si = np.asarray([p[0] for p in pairs])
    j = np.asarray([p[1] for p in pairs])
    acc = tb.accepts(si, j)
    lim, ok = tb.pair_limit(si, j)
    for k, (s_, i) in enumerate(pairs):
        s, n = inst.sources[s_], inst.needs[i]
        assert acc[k] == el.accepts(s, n)
        if n.open > 0:
            assert ok[k] == el.pair_ok(s, n) or not acc[k]
            if ok[k]:
                bc = el.beneficiary_cap(s, n)
                assert lim[k] == min(el.grant_limit(s, n), math.inf if bc is None else bc)


@SLOW
@given(st.sampled_from(FAMILIES), st.integers(60, 400), st.integers(0, 10**6))
def test_lemon_and_ortools_reach_the_same_optimum(family, n, seed):
    inst = parse_instance(bench.generate_family(family, n, seed))
    eng = Engine(inst)
    if not eng.NL:
        return
    values = []
    for solver in ("lemon", "ortools"):  # both, whatever the size
        old, graph.SOLVER = graph.SOLVER, solver
        try:
            net = graph.Network(inst, eng.tb, eng.pos, live=eng.live)
            flows = net.solve(eng.budget, eng.res_open, None, eng.cost)
        finally:
            graph.SOLVER = old
        values.append(eng._flow_value(net, flows))
        assert (net.need_flows(flows) <= eng.open).all()
    assert values[0] == pytest.approx(values[1], rel=1e-9, abs=1e-9)


@SLOW
@given(st.sampled_from(FAMILIES), st.integers(100, 1500), st.integers(0, 10**6))
def test_whole_need_swaps_keep_every_rule(family, n, seed):
    data = bench.generate_family(family, n, seed)
    inst = parse_instance(data)
    eng = Engine(inst)
    if not eng.NL or not eng.budget.any():
        return
    eng.net = graph.Network(inst, eng.tb, eng.pos, live=eng.live)
    si, j, a = eng._flow(None)
    s2, j2, a2 = eng._unsplit(si, j, a)
    spent = np.bincount(si, weights=a, minlength=eng.tb.S)
    spent2 = np.bincount(s2, weights=a2, minlength=eng.tb.S)
    assert (spent2 <= spent + 1e-6).all()  # no source gives more than in the flow
    res = {"allocations": [{"need": inst.cols.ids[eng.live[k]], "source": inst.sources[s].id,
                            "amount": x} for s, k, x in zip(s2.tolist(), j2.tolist(),
                                                            a2.tolist(), strict=True)]}
    problems = matching.validate(inst, res)
    # whole needs may still be split (the repair drops those), nothing else may be wrong
    assert [p for p in problems if "whole need" not in p] == []

    def split(s_, j_):
        w = eng.whole[j_]
        _u, c = np.unique(j_[w], return_counts=True)
        return int((c > 1).sum())

    assert split(s2, j2) <= split(si, j)
    # what the swaps shed is worth less than the whole needs they keep
    before = eng._value_of(si, j, a) + 1e-9
    kept = eng.weight[np.unique(j2[eng.whole[j2]])].sum()
    assert eng._value_of(s2, j2, a2) >= before - kept


@pytest.mark.parametrize("family", FAMILIES)
def test_relaxed_bound_within_a_tenth_of_a_percent_of_the_exact_lp(family):
    data = bench.generate_family(family, 2500, seed=13)
    inst = parse_instance(data)
    eng = Engine(inst)
    relaxed = eng.relaxed_bound()
    lp = bench.exact_lp_bound(data)
    assert lp * (1 - 1e-9) <= relaxed <= lp * 1.001


def test_extreme_amounts_and_people_stay_exact_enough():
    """10^4 × 10^7 people × 10^14 fen passes int64: values are summed in floating point."""
    big = 10**14
    data = {"as_of": "2026-11-24",
            "needs": [{"id": f"N{k}", "kind": "project", "amount": big, "category": "助学",
                       "region": "山东省/滨州市", "urgency": 5, "people": 10**7,
                       "verified": True, "funded": big // 2, "beneficiary": f"B{k}"}
                      for k in range(3)],
            "sources": [{"id": f"S{k}", "kind": "pledge", "budget": big // 3,
                         "per_beneficiary_cap": big // 4, "match_ratio": 100}
                        for k in range(3)]}
    res = matching.solve(data)
    assert matching.validate(data, res) == []
    given = sum(a["amount"] for a in res["allocations"])
    assert given == 3 * (big // 3)  # every budget spent
    want = sum(10**4 * 10**7 * a["amount"] / (big - big // 2) for a in res["allocations"])
    assert res["stats"]["objective"] == pytest.approx(want, rel=1e-12)
    assert res["stats"]["upper_bound"] >= res["stats"]["objective"] * (1 - 1e-12)
