"""The benchmark's generator makes valid, realistic instances the engine handles well."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matching
from matching.baselines import first_come_first_served

_SPEC = importlib.util.spec_from_file_location(
    "bench_matching", Path(__file__).resolve().parents[2] / "bench" / "matching.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_generator_is_seeded_and_realistic():
    a, b = bench.generate(400, seed=3), bench.generate(400, seed=3)
    assert a == b
    inst = matching.parse_instance(a)
    kinds = [n.kind for n in inst.needs]
    assert 0.35 < kinds.count("wish") / 400 < 0.65
    assert all(n.amount == 1_000_000 for n in inst.needs if n.kind == "sponsorship")
    assert sum(1 for s in inst.sources if s.kind == "community_fund") == 150
    demand = sum(n.open for n in inst.needs)
    supply = sum(s.budget for s in inst.sources)
    assert 0.65 < supply / demand < 0.75
    assert all(n.region[0] in ("山东省", "广西壮族自治区") and len(n.region) == 5 for n in inst.needs)


def test_engine_on_generated_instance():
    data = bench.generate(600, seed=5)
    res = matching.solve(data)
    assert matching.validate(data, res) == []
    st = res["stats"]
    assert st["objective"] >= 0.999 * st["upper_bound"]
    assert st["objective"] >= 1.3 * first_come_first_served(data)["stats"]["objective"]
