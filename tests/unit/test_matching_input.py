"""Bad input is refused at parse time with a message naming the path (CLI: exit status 2)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching import InstanceError, parse_instance
from matching.model import MAX_FEN, MAX_TOTAL_BUDGET

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "as_of": "2026-11-24",
    "needs": [{"id": "W-1", "kind": "wish", "amount": 15000, "category": "助学",
               "region": "山东省/滨州市/邹平市", "urgency": 4, "verified": True}],
    "sources": [{"id": "P-1", "kind": "pledge", "budget": 5_000_000,
                 "regions": ["山东省/滨州市"]}],
}


def mutated(fn) -> dict:
    d = copy.deepcopy(GOOD)
    fn(d)
    return d


BAD = [
    ("amount 10**30", lambda d: d["needs"][0].update(amount=10**30), "needs[0].amount", "maximum"),
    ("amount above ¥10^12", lambda d: d["needs"][0].update(amount=MAX_FEN + 1), "needs[0].amount",
     "¥1,000,000,000,000"),
    ("budget above ¥10^12", lambda d: d["sources"][0].update(budget=MAX_FEN + 1),
     "sources[0].budget", "maximum"),
    ("cap above ¥10^12", lambda d: d["sources"][0].update(per_grant_cap=MAX_FEN + 1),
     "sources[0].per_grant_cap", "maximum"),
    ("budgets summing past the maximum",
     lambda d: d["sources"].extend({"id": f"P-{k}", "kind": "pledge", "budget": MAX_FEN}
                                   for k in range(2, 4)), "instance.sources", "budgets total"),
    ("float amount", lambda d: d["needs"][0].update(amount=26000.0), "needs[0].amount", "float"),
    ("float funded", lambda d: d["needs"][0].update(funded=0.0), "needs[0].funded", "float"),
    ("float urgency", lambda d: d["needs"][0].update(urgency=3.0), "needs[0].urgency", "float"),
    ("float budget", lambda d: d["sources"][0].update(budget=5e6), "sources[0].budget", "float"),
    ("people beyond the maximum", lambda d: d["needs"][0].update(people=10**400),
     "needs[0].people", "maximum"),
    ("double slash", lambda d: d["needs"][0].update(region="山东省//滨州市/"), "needs[0].region",
     "malformed"),
    ("leading slash", lambda d: d["needs"][0].update(region="/山东省/滨州市"), "needs[0].region",
     "malformed"),
    ("padded segments", lambda d: d["sources"][0].update(regions=[" 山东省 / 滨州市 "]),
     "sources[0].regions[0]", "malformed"),
    ("empty region", lambda d: d["needs"][0].update(region=""), "needs[0].region", "region"),
    ("unknown source kind", lambda d: d["sources"][0].update(kind="bank"), "sources[0].kind",
     "community_fund"),
    ("absurd match ratio", lambda d: d["sources"][0].update(match_ratio=1e9),
     "sources[0].match_ratio", "0 to 100"),
]


@pytest.mark.parametrize("label, mutate, path, words", BAD, ids=[b[0] for b in BAD])
def test_refused_at_parse_time(label, mutate, path, words):
    with pytest.raises(InstanceError) as e:
        parse_instance(mutated(mutate))
    assert path in str(e.value) and words in str(e.value)


def test_good_instance_and_limits_accepted():
    assert parse_instance(GOOD).needs[0].region == ("山东省", "滨州市", "邹平市")
    at_max = mutated(lambda d: (d["needs"][0].update(amount=MAX_FEN),
                                d["sources"][0].update(budget=MAX_TOTAL_BUDGET)))
    assert parse_instance(at_max).sources[0].budget == MAX_TOTAL_BUDGET


def cli(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matching", "solve", "-"], cwd=ROOT,
                          input=text.encode(), capture_output=True)


def test_cli_refuses_deep_nesting_without_traceback():
    text = '{"as_of": "2026-11-24", "needs": [], "sources": [], "x": ' + "[" * 50_000 + \
        "]" * 50_000 + "}"
    p = cli(text)
    assert p.returncode == 2
    assert b"nested deeper" in p.stderr and b"Traceback" not in p.stderr


@pytest.mark.parametrize("label, mutate, path, words", BAD[:5] + BAD[10:15],
                         ids=[b[0] for b in BAD[:5] + BAD[10:15]])
def test_cli_exit_2_with_message(label, mutate, path, words):
    p = cli(json.dumps(mutated(mutate), ensure_ascii=False))
    assert p.returncode == 2, p.stderr
    err = p.stderr.decode()
    assert path in err and "Traceback" not in err and p.stdout == b""


def test_cli_refuses_nan():
    p = cli('{"as_of": "2026-11-24", "needs": [], "sources": [{"id": "P", "kind": "pledge", '
            '"budget": NaN}]}')
    assert p.returncode == 2 and b"not valid JSON" in p.stderr
