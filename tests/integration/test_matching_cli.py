"""The matching commands (DESIGN.md's stable interface): `flask --app web matching
export-instance FILE` writes the instance the next run would use, which the engine's own
command solves outside the platform; `matching run --dry-run` reports and proposes nothing;
`matching run` stores the run and its proposals."""
import json
import subprocess
import sys

from sqlmodel import select

import matching
from donors import matching_runs
from donors import services as donors
from funds.models import Allocation, MatchRun
from tests.conftest import make_app
from tests.integration.helpers import BZ, committed, fund_with, org, verified_need


def _world(url):
    def build(s):
        organisation = org(s)
        verified_need(s, organisation, kind="wish", amount=15_000, urgency=5, title="书包")
        verified_need(s, organisation, kind="microgrant", amount=40_000, urgency=4,
                      category="助困", title="急难")
        firm = donors.create_enterprise(s, "滨州爱心企业", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 50_000, title="助学", categories=["助学"],
                                      regions=[BZ])
        donors.pay_pledge(s, pledge, 50_000, "pay:1")
        fund_with(s, 100_000)
    committed(url, build)


def test_export_instance_run_dry_and_run(clean_url, tmp_path):
    _world(clean_url)
    runner = make_app(clean_url).test_cli_runner()
    path = tmp_path / "instance.json"
    out = runner.invoke(args=["matching", "export-instance", str(path)])
    assert out.exit_code == 0, out.output
    assert "2 needs, 2 sources" in out.output
    instance = json.loads(path.read_text(encoding="utf-8"))
    assert instance == committed(clean_url, matching_runs.build_instance)
    matching.parse_instance(instance)  # the contract's format, as the engine reads it
    # … and the engine's own command solves it outside the platform
    solved = subprocess.run([sys.executable, "-m", "matching", "solve", str(path), "-o",
                             str(tmp_path / "result.json")], capture_output=True, text=True,
                            timeout=120)
    assert solved.returncode == 0, solved.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert {a["need"] for a in result["allocations"]} == {n["id"] for n in instance["needs"]}

    dry = runner.invoke(args=["matching", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output.splitlines()[-1])
    assert report["instance_hash"] == matching_runs.instance_hash(instance)
    assert report["allocations"] == 2 and "dry_run" in dry.output
    assert committed(clean_url, lambda s: s.exec(select(Allocation).where(
        Allocation.status == "proposed")).all()) == []

    real = runner.invoke(args=["matching", "run"])
    assert real.exit_code == 0, real.output
    assert json.loads(real.output.splitlines()[-1])["proposals"] == 2
    runs = committed(clean_url, lambda s: [(r.status, r.stats.get("proposals"))
                                           for r in s.exec(select(MatchRun)
                                                           .order_by(MatchRun.id)).all()])
    assert runs == [("dry_run", 0), ("proposed", 2)]


def test_export_instance_to_an_unwritable_place_is_a_clear_error(clean_url, tmp_path):
    runner = make_app(clean_url).test_cli_runner()
    out = runner.invoke(args=["matching", "export-instance", str(tmp_path / "no" / "x.json")])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit)  # not a crash
    assert "cannot write" in out.output
