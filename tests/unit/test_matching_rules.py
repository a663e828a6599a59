"""Unit tests for the matching engine: one per rule of shared/matching-instance.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import matching
from matching import InstanceError, parse_instance, solve, validate
from matching.baselines import first_come_first_served, greedy_by_urgency
from matching.regions import is_under, minimal_cover, split

ROOT = Path(__file__).resolve().parents[2]
BZ = "山东省/滨州市/邹平市/黄山街道/齐明社区"


def need(id="N-1", **kw):
    d = {"id": id, "kind": "project", "amount": 10_000, "funded": 0, "whole": False,
         "category": "助学", "region": BZ, "urgency": 3, "people": 1, "verified": True}
    d.update(kw)
    return d


def source(id="S-1", **kw):
    d = {"id": id, "kind": "pledge", "budget": 100_000, "categories": [], "regions": [],
         "need_kinds": [], "per_grant_cap": None, "per_beneficiary_cap": None}
    d.update(kw)
    return d


def inst(needs, sources, as_of="2026-11-24"):
    return {"as_of": as_of, "needs": needs, "sources": sources}


def run(instance, **kw):
    res = solve(instance, **kw)
    assert validate(instance, res) == []
    return res


def given(res):
    out = {}
    for a in res["allocations"]:
        out[a["need"]] = out.get(a["need"], 0) + a["amount"]
    return out


# ------------------------------------------------------------------ regions

def test_region_prefix_on_whole_segments():
    assert is_under(split("山东省/滨州市/邹平市"), split("山东省/滨州市"))
    assert not is_under(split("山东省/滨州市郊/某镇"), split("山东省/滨州市"))
    assert is_under(split("山东省/滨州市/"), split("/山东省"))
    assert minimal_cover([split("山东省/滨州市"), split("山东省")]) == [("山东省",)]
    assert minimal_cover([]) == [()]


def test_region_rule_in_engine_and_validator():
    i = inst([need("A", region="山东省/滨州市郊/某镇"), need("B", region="山东省/滨州市/邹平市")],
             [source(regions=["山东省/滨州市"])])
    assert given(run(i)) == {"B": 10_000}
    bad = {"allocations": [{"need": "A", "source": "S-1", "amount": 5}]}
    assert any("outside source regions" in v for v in validate(i, bad))


# ------------------------------------------------------------------ whole-only

def test_whole_need_from_one_source_or_not_at_all():
    # two sources of 6,000 cannot fund a whole 10,000 wish between them
    i = inst([need("W", kind="wish", whole=True)],
             [source("S-1", budget=6_000), source("S-2", budget=6_000)])
    res = run(i)
    assert res["allocations"] == [] and res["unfunded"] == ["W"]
    # one of 10,000 can
    i["sources"].append(source("S-3", budget=10_000))
    assert run(i)["allocations"] == [{"need": "W", "source": "S-3", "amount": 10_000}]


def test_validator_rejects_split_or_partial_whole():
    i = inst([need("W", kind="wish", whole=True)], [source("S-1"), source("S-2")])
    split_ = {"allocations": [{"need": "W", "source": "S-1", "amount": 5_000},
                              {"need": "W", "source": "S-2", "amount": 5_000}]}
    partial = {"allocations": [{"need": "W", "source": "S-1", "amount": 5_000}]}
    assert any("whole need" in v for v in validate(i, split_))
    assert any("whole need" in v for v in validate(i, partial))


def test_wish_and_sponsorship_default_to_whole():
    p = parse_instance(inst([need("W", kind="wish", whole=None), need("P")], []))
    assert p.needs[0].whole and not p.needs[1].whole


def test_divisible_need_shared_by_sources():
    i = inst([need("P", amount=10_000)], [source("S-1", budget=6_000), source("S-2", budget=6_000)])
    assert given(run(i)) == {"P": 10_000}


# ------------------------------------------------------------------ caps

def test_grant_cap():
    i = inst([need("P", amount=10_000), need("W", kind="wish", whole=True, amount=4_000)],
             [source(per_grant_cap=3_000)])
    res = run(i)
    assert given(res) == {"P": 3_000}  # the whole wish exceeds the cap: ineligible
    over = {"allocations": [{"need": "P", "source": "S-1", "amount": 3_001}]}
    assert any("per_grant_cap" in v for v in validate(i, over))


def test_beneficiary_cap_across_needs():
    i = inst([need("A", beneficiary="B-1", amount=4_000), need("B", beneficiary="B-1", amount=4_000),
              need("C", beneficiary="B-2", amount=4_000)],
             [source(per_beneficiary_cap=5_000)])
    g = given(run(i))
    assert g.get("A", 0) + g.get("B", 0) == 5_000 and g["C"] == 4_000
    over = {"allocations": [{"need": "A", "source": "S-1", "amount": 4_000},
                            {"need": "B", "source": "S-1", "amount": 2_000}]}
    assert any("per_beneficiary_cap" in v for v in validate(i, over))


def test_beneficiary_cap_ignores_needs_without_beneficiary():
    i = inst([need("P", amount=9_000)], [source(per_beneficiary_cap=1_000)])
    assert given(run(i)) == {"P": 9_000}


def test_match_ratio():
    i = inst([need("P", amount=10_000, funded=2_000), need("Q", amount=5_000, funded=0)],
             [source(match_ratio=1.5)])
    assert given(run(i)) == {"P": 3_000}  # 1.5 × 2,000 raised; nothing raised for Q
    over = {"allocations": [{"need": "P", "source": "S-1", "amount": 3_001}]}
    assert any("match_ratio" in v for v in validate(i, over))


def test_budget_and_open_amount():
    i = inst([need("P", amount=10_000, funded=4_000)], [source(budget=100_000)])
    assert given(run(i)) == {"P": 6_000}
    over = {"allocations": [{"need": "P", "source": "S-1", "amount": 6_001}]}
    assert any("only 6000 is open" in v for v in validate(i, over))
    i2 = inst([need("P")], [source(budget=10)])
    assert any("budget" in v for v in validate(
        i2, {"allocations": [{"need": "P", "source": "S-1", "amount": 11}]}))


# ------------------------------------------------------------------ eligibility

def test_unverified_and_expired_needs_never_allocated():
    i = inst([need("U", verified=False), need("E", deadline="2026-11-23"),
              need("T", deadline="2026-11-24"), need("M")],
             [source(budget=1_000_000)])
    del i["needs"][3]["verified"]  # missing verified counts as not verified
    assert given(run(i)) == {"T": 10_000}
    for nid, why in (("U", "not verified"), ("E", "expired")):
        bad = {"allocations": [{"need": nid, "source": "S-1", "amount": 1}]}
        assert any(why in v for v in validate(i, bad))


def test_category_and_kind():
    i = inst([need("A", category="助老"), need("B", kind="microgrant"), need("C")],
             [source(categories=["助学"], need_kinds=["project"])])
    assert given(run(i)) == {"C": 10_000}


# ------------------------------------------------------------------ objective

def test_urgency_first_then_people():
    # one budget, two needs of equal size: the urgent one wins; then the one helping more
    i = inst([need("LOW", urgency=2, people=50), need("HIGH", urgency=4, people=1)],
             [source(budget=10_000)])
    assert given(run(i)) == {"HIGH": 10_000}
    i = inst([need("FEW", people=1), need("MANY", people=3)], [source(budget=10_000)])
    assert given(run(i)) == {"MANY": 10_000}


def test_stats_and_upper_bound():
    i = inst([need("A", urgency=5, amount=3_000, kind="wish", whole=True),
              need("B", urgency=5, amount=3_000, kind="wish", whole=True)],
             [source(budget=5_000)])
    res = run(i)
    st = res["stats"]
    assert st["objective"] == pytest.approx(10_000.0)
    assert st["upper_bound"] == pytest.approx(10_000 * 5_000 / 3_000)  # LP: 1 and 2/3 wishes
    assert st["stranded"] == 2_000 and st["funded_needs"] == 1


def test_deterministic_and_explain():
    i = inst([need(f"N-{k}", amount=1_000 + k, urgency=1 + k % 5) for k in range(30)],
             [source(f"S-{k}", budget=3_000 + 100 * k) for k in range(4)])
    a, b = solve(i), solve(i)
    a["stats"].pop("seconds"), b["stats"].pop("seconds")
    assert a == b
    ex = run(i, explain=True)
    for alloc in ex["allocations"]:
        assert alloc["why"]["eligible"] and alloc["why"]["chosen"]
    assert any("per yuan" in a["why"]["chosen"] for a in ex["allocations"])


# ------------------------------------------------------------------ parsing & CLI

@pytest.mark.parametrize("mutate, path", [
    (lambda d: d.pop("as_of"), "as_of"),
    (lambda d: d["needs"][0].pop("amount"), "needs[0].amount"),
    (lambda d: d["needs"][0].update(amount="12"), "needs[0].amount"),
    (lambda d: d["needs"][0].update(kind="gift"), "needs[0].kind"),
    (lambda d: d["needs"][0].update(urgency=9), "needs[0].urgency"),
    (lambda d: d["needs"][0].update(funded=10**9), "needs[0].funded"),
    (lambda d: d["needs"][0].update(deadline="soon"), "needs[0].deadline"),
    (lambda d: d["sources"][0].update(budget=-1), "sources[0].budget"),
    (lambda d: d["sources"][0].update(regions="山东省"), "sources[0].regions"),
    (lambda d: d["sources"][0].update(match_ratio="x"), "sources[0].match_ratio"),
    (lambda d: d["sources"].append(dict(d["sources"][0])), "sources[1].id"),
])
def test_malformed_instances_name_the_path(mutate, path):
    d = inst([need()], [source()])
    mutate(d)
    with pytest.raises(InstanceError, match=path.replace("[", r"\[").replace("]", r"\]")):
        parse_instance(d)


def test_unknown_keys_ignored():
    d = inst([need(extra=1)], [source(colour="red")])
    d["comment"] = "hi"
    assert run(d)["allocations"]


def test_cli_solve_and_errors(tmp_path):
    good = tmp_path / "i.json"
    good.write_text(json.dumps(inst([need()], [source()]), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "matching", "solve", str(good), "-o", str(out), "--explain",
           "--time-limit", "5"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["allocations"][0]["why"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"as_of": "2026-11-24", "needs": [{"id": "x"}], "sources": []}))
    p = subprocess.run([sys.executable, "-m", "matching", "solve", str(bad)], cwd=ROOT,
                       capture_output=True, text=True)
    assert p.returncode == 2 and "needs[0]" in p.stderr
    (tmp_path / "junk.json").write_text("{not json")
    p = subprocess.run([sys.executable, "-m", "matching", "solve", str(tmp_path / "junk.json")],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2 and "JSON" in p.stderr


def test_baselines_are_valid():
    i = inst([need(f"N-{k}", amount=1_000 + 37 * k, urgency=1 + k % 5,
                   kind="wish" if k % 2 else "project", whole=bool(k % 2)) for k in range(40)],
             [source(f"S-{k}", budget=5_000 + 700 * k, per_grant_cap=2_500) for k in range(3)])
    for fn in (first_come_first_served, greedy_by_urgency):
        assert validate(i, fn(i)) == []
    assert solve(i)["stats"]["objective"] >= greedy_by_urgency(i)["stats"]["objective"] - 1e-9


def test_public_api():
    assert {"solve", "validate", "parse_instance", "InstanceError"} <= set(matching.__all__)


def test_tiny_instances_solved_exactly(monkeypatch):
    # LP order (value per fen) takes A first; the best whole packing is B + C instead
    i = inst([need("A", kind="wish", whole=True, amount=6, urgency=2, people=3),
              need("B", kind="wish", whole=True, amount=5, urgency=2, people=2),
              need("C", kind="wish", whole=True, amount=5, urgency=2, people=2)],
             [source(budget=10)])
    assert run(i)["stats"]["objective"] == 40.0
    import matching.engine as engine
    monkeypatch.setattr(engine, "EXACT_LIMIT", 0)  # the large-instance path: repair + re-pack
    assert run(i)["stats"]["objective"] == 30.0
