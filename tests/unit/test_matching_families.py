"""The engine on every instance family of bench/matching.py: valid results, honest bounds,
brute-force optimal on tiny reshaped instances, and the selected-pairs network (what large
instances use) within 0.1% of the exact network."""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching
import matching.graph as graph
from tests.unit.test_matching_props import brute_force, instances

_SPEC = importlib.util.spec_from_file_location(
    "bench_matching", Path(__file__).resolve().parents[2] / "bench" / "matching.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)
FAMILIES = sorted(bench.FAMILIES)


@pytest.fixture
def selected_pairs(monkeypatch):
    """Force the large-instance network (a selection of the binding pairs) on any size."""
    monkeypatch.setattr(graph, "PRIVATE_BUDGET", 0)
    monkeypatch.setattr(graph, "PRIVATE_SLACK", -1)


def check(data: dict) -> dict:
    res = matching.solve(data)
    assert matching.validate(data, res) == []
    st_ = res["stats"]
    assert st_["objective"] <= st_["upper_bound"] * (1 + 1e-9) + 1e-9
    return res


def test_families_are_seeded_and_differ_in_their_feature():
    n = 600
    base = bench.generate_family("base", n, seed=4)
    assert bench.generate_family("cap_heavy", n, seed=4) == bench.generate_family(
        "cap_heavy", n, seed=4)
    demand = sum(x["amount"] - x["funded"] for x in base["needs"])

    def supply(d):
        return sum(s["budget"] for s in d["sources"])

    assert supply(bench.generate_family("tight", n, seed=4)) == pytest.approx(0.2 * demand,
                                                                              rel=0.01)
    assert supply(bench.generate_family("abundant", n, seed=4)) == pytest.approx(1.5 * demand,
                                                                                 rel=0.01)
    pledges = [s for s in bench.generate_family("match_heavy", n, seed=4)["sources"]
               if s["kind"] == "pledge"]
    assert 0.15 < sum(1 for s in pledges if s.get("match_ratio")) / len(pledges) < 0.45
    nat = [s for s in bench.generate_family("national", n, seed=4)["sources"]
           if s["kind"] == "pledge"]
    assert sum(1 for s in nat if not s["regions"]) / len(nat) > 0.7
    conc = bench.generate_family("concentrated", n, seed=4)["needs"]
    assert sum(1 for x in conc if x["region"].startswith("山东省/滨州市/")) / n > 0.5
    cap = bench.generate_family("cap_heavy", n, seed=4)["sources"]
    assert all(s["per_grant_cap"] for s in cap if s["kind"] == "community_fund")
    capped = [s for s in cap if s["kind"] == "pledge" and s["per_beneficiary_cap"]]
    assert capped and all(s["per_beneficiary_cap"] <= 2_000_000 for s in capped)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FAMILIES), st.integers(40, 400), st.integers(0, 10**6))
def test_every_family_gives_valid_results(family, n, seed):
    check(bench.generate_family(family, n, seed))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from(FAMILIES), st.integers(0, 10**6))
def test_tiny_family_instances_match_brute_force(data, family, seed):
    bench.FAMILIES[family](data, random.Random(seed))
    res = check(data)
    best = brute_force(data)
    assert math.isclose(res["stats"]["objective"], best, rel_tol=1e-7, abs_tol=1e-7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_needs=12, max_sources=4, max_amount=200), st.sampled_from(FAMILIES),
       st.integers(0, 10**6))
def test_selected_pairs_stay_valid_with_honest_bound(data, family, seed):
    bench.FAMILIES[family](data, random.Random(seed))
    old = graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK
    graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK = 0, -1
    try:
        res = check(data)
    finally:
        graph.PRIVATE_BUDGET, graph.PRIVATE_SLACK = old
    exact = matching.solve(data)["stats"]["upper_bound"]
    assert res["stats"]["upper_bound"] >= exact * (1 - 1e-9) - 1e-9  # relaxed ≥ exact LP


@pytest.mark.parametrize("family", FAMILIES)
def test_selected_pairs_within_a_tenth_of_a_percent_of_exact(family, monkeypatch):
    data = bench.generate_family(family, 3000, seed=11)
    monkeypatch.setattr(graph, "PRIVATE_BUDGET", 10**9)  # every binding pair: exact network
    exact = check(data)
    assert not exact["stats"]["graph"]["selected_private_arcs"]
    monkeypatch.setattr(graph, "PRIVATE_BUDGET", 0)
    monkeypatch.setattr(graph, "PRIVATE_SLACK", -1)
    sel = check(data)
    assert sel["stats"]["graph"]["selected_private_arcs"]
    assert sel["stats"]["graph"]["private_arcs"] < exact["stats"]["graph"]["private_arcs"]
    assert sel["stats"]["objective"] == pytest.approx(exact["stats"]["objective"], rel=1e-3)
    # the relaxed bound used with selected pairs is never below the exact LP
    assert sel["stats"]["upper_bound"] >= exact["stats"]["upper_bound"] * (1 - 1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_exact_bound_is_the_lp_optimum_and_quality_holds(family):
    data = bench.generate_family(family, 800, seed=3)
    res = check(data)
    lp = bench.exact_lp_bound(data)  # HiGHS on every eligible pair, independent of the engine
    assert res["stats"]["upper_bound"] == pytest.approx(lp, rel=1e-7)
    assert res["stats"]["objective"] >= 0.999 * lp
