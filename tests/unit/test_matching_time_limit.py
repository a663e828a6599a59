"""``time_limit``: the engine runs in a child process killed at the deadline, with the fast
greedy fallback computed meanwhile; whatever comes back is valid and carries a valid bound.
(How closely the limit is kept is measured by ``bench/matching.py --time-limits``, not here.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching
import matching.engine as engine
from matching.engine import Engine
from tests.unit.test_matching_props import instances

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_matching", ROOT / "bench" / "matching.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_generous_limit_gives_the_same_answer_as_no_limit():
    data = bench.generate_family("cap_heavy", 1500, seed=2)
    free = matching.solve(data)
    limited = matching.solve(data, time_limit=120)
    assert limited["allocations"] == free["allocations"]
    assert limited["stats"]["upper_bound"] == pytest.approx(free["stats"]["upper_bound"])


def test_engine_that_never_finishes_is_killed_and_the_fallback_returned(monkeypatch):
    data = bench.generate_family("base", 1500, seed=2)
    monkeypatch.setattr(engine.Engine, "run", lambda self, report=None: time.sleep(600))
    t = time.perf_counter()
    res = matching.solve(data, time_limit=2)
    assert time.perf_counter() - t < 60  # not the 600 s the child would sleep
    assert matching.validate(data, res) == []
    assert res["stats"]["graph"]["network"] == "not built"
    st_ = res["stats"]
    assert 0 < st_["objective"] <= st_["upper_bound"]
    assert st_["upper_bound"] >= bench.exact_lp_bound(data) * (1 - 1e-9)


def test_a_child_that_dies_leaves_the_fallback(monkeypatch):
    import os
    data = bench.generate_family("tight", 800, seed=5)
    monkeypatch.setattr(engine.Engine, "run", lambda self, report=None: os._exit(3))
    res = matching.solve(data, time_limit=30)
    assert matching.validate(data, res) == [] and res["stats"]["objective"] > 0


def test_partial_report_is_used_when_the_bound_flow_does_not_finish(monkeypatch):
    data = bench.generate_family("match_heavy", 1500, seed=1)
    monkeypatch.setattr(engine.Engine, "relaxed_bound", lambda self: time.sleep(600))
    import matching.graph as graph
    monkeypatch.setattr(graph, "PRIVATE_BUDGET", 0)
    monkeypatch.setattr(graph, "PRIVATE_SLACK", -1)
    res = matching.solve(data, time_limit=8)
    assert matching.validate(data, res) == []
    assert res["stats"]["graph"]["selected_private_arcs"]  # the child's flow result, not fallback
    assert res["stats"]["upper_bound"] >= bench.exact_lp_bound(data) * (1 - 1e-9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_needs=12, max_sources=4, max_amount=200))
def test_fallback_alone_is_valid(data):
    inst = matching.parse_instance(data)
    eng = Engine(inst)
    eng.fallback()
    out = eng.outcome()
    res = {"allocations": [{"need": inst.needs[out.live[j]].id, "source": inst.sources[si].id,
                            "amount": a} for si, j, a in zip(out.si.tolist(), out.j.tolist(),
                                                             out.amount.tolist(), strict=True)]}
    assert matching.validate(inst, res) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(bench.FAMILIES)), st.integers(50, 300), st.integers(0, 999),
       st.sampled_from([0.001, 0.05, 5.0]))
def test_any_limit_gives_a_valid_result_with_a_valid_bound(family, n, seed, limit):
    data = bench.generate_family(family, n, seed)
    res = matching.solve(data, time_limit=limit)
    assert matching.validate(data, res) == []
    assert res["stats"]["upper_bound"] >= bench.exact_lp_bound(data) * (1 - 1e-9) - 1e-9


def test_cli_time_limit(tmp_path):
    path = tmp_path / "i.json"
    path.write_text(json.dumps(bench.generate_family("national", 2000, seed=3)), encoding="utf-8")
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-m", "matching", "solve", str(path), "-o", str(out),
                        "--time-limit", "10"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text(encoding="utf-8"))
    assert matching.validate(json.loads(path.read_text(encoding="utf-8")), res) == []
    p = subprocess.run([sys.executable, "-m", "matching", "solve", str(path), "--time-limit",
                        "0"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2 and "time-limit" in p.stderr


def test_no_engine_child_when_the_time_left_is_too_short(monkeypatch):
    import matching.deadline as deadline
    data = bench.generate_family("cap_heavy", 1200, seed=4)
    started = []
    real = deadline.mp.get_context

    def spy(kind):
        ctx = real(kind)
        original = ctx.Process

        def process(*a, **k):
            started.append(1)
            return original(*a, **k)

        ctx.Process = process
        return ctx

    monkeypatch.setattr(deadline.mp, "get_context", spy)
    monkeypatch.setattr(deadline, "ENGINE_CPU_PER_NEED", 1.0)  # "the engine needs 20 min"
    res = matching.solve(data, time_limit=5)
    assert started == [] and res["stats"]["graph"]["network"] == "not built"
    assert matching.validate(data, res) == []
    assert res["stats"]["objective"] > 0.95 * matching.solve(data)["stats"]["objective"]


def test_slowdown_is_wall_per_cpu_second():
    from matching.api import slowdown
    now, cpu = time.perf_counter(), time.process_time()
    assert slowdown(now - 3.0, cpu - 1.0) == pytest.approx(3.0, rel=0.05)  # a third of a core
    assert slowdown(now - 0.5, cpu - 1.0) == 1.0  # never below 1
    assert 1.0 <= slowdown(now, cpu) <= 10.0  # too little CPU to tell: the load average


@pytest.mark.parametrize("family", sorted(bench.FAMILIES))
def test_fallback_is_close_to_the_greedy_baseline(family):
    from matching.baselines import greedy_by_urgency
    data = bench.generate_family(family, 2000, seed=6)
    inst = matching.parse_instance(data)
    eng = Engine(inst)
    eng.fallback()
    out = eng.outcome()
    assert out.value(inst) >= 0.98 * greedy_by_urgency(inst)["stats"]["objective"]
