"""Matching runs over the database: build the instance (exactly the format of
shared/matching-instance.md) from verified, unexpired, unheld, open needs and from the
money that can meet them — pledges' paid-in but unallocated money with their rules, funds'
balances with their caps — solve it with the engine, validate the result, store the run and
turn its allocations into proposals for the sources' reviewers (donors/proposals.py).

The engine is called only through `matching.solve` and `matching.validate`. A run that fails
validation stores its problems and writes no proposal. A new run first lets the previous
runs' unanswered proposals lapse, so no money is proposed twice."""
from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import insert, or_, update
from sqlmodel import Session, select

import matching
from core.audit import record
from core.clock import now
from core.db import is_postgres
from donors.models import Pledge
from funds.models import Allocation, CommunityFund, MatchRun
from needs.models import Need

PROPOSAL_LIFETIME = timedelta(days=7)
LAPSED_REASON = "逾期未答复，提议已失效"
SUPERSEDED_REASON = "新的匹配运行已取代此提议"


def build_instance(session: Session, as_of: date | None = None) -> dict:
    """The instance the next run would use, read in bulk (columns, not ORM objects)."""
    as_of = as_of or now().date()
    moment = now()
    rows = session.exec(
        select(Need.code, Need.kind, Need.amount, Need.funded, Need.whole, Need.category,
               Need.region, Need.urgency, Need.people, Need.deadline, Need.beneficiary_id,
               Need.posted_at)
        .where(Need.state == "verified", Need.verified_at.is_not(None),
               Need.funded < Need.amount,
               or_(Need.deadline.is_(None), Need.deadline >= as_of),
               or_(Need.hold_holder.is_(None), Need.hold_until <= moment))
        .order_by(Need.id)).all()
    needs = [{
        "id": code, "kind": kind, "amount": amount, "funded": funded, "whole": bool(whole),
        "category": category, "region": region, "urgency": urgency, "people": people,
        "deadline": deadline.isoformat() if deadline else None,
        "beneficiary": f"B-{beneficiary}" if beneficiary else None,
        "posted_at": posted.isoformat() if posted else None, "verified": True,
    } for (code, kind, amount, funded, whole, category, region, urgency, people, deadline,
           beneficiary, posted) in rows]
    sources = []
    for pledge in session.exec(select(Pledge).where(Pledge.status == "active",
                                                    Pledge.paid_in > Pledge.allocated)
                               .order_by(Pledge.id)).all():
        sources.append({
            "id": pledge.code, "kind": "pledge", "budget": pledge.paid_in - pledge.allocated,
            "categories": list(pledge.categories), "regions": list(pledge.regions),
            "need_kinds": list(pledge.need_kinds), "per_grant_cap": pledge.per_grant_cap,
            "per_beneficiary_cap": pledge.per_beneficiary_cap,
            "match_ratio": (pledge.match_ratio_pct / 100 if pledge.match_ratio_pct else None)})
    for fund in session.exec(select(CommunityFund).where(CommunityFund.balance > 0)
                             .order_by(CommunityFund.id)).all():
        sources.append({
            "id": fund.code, "kind": "community_fund", "budget": fund.balance,
            "categories": [], "regions": [fund.region], "need_kinds": list(fund.need_kinds),
            "per_grant_cap": fund.per_grant_cap, "per_beneficiary_cap": None})
    return {"as_of": as_of.isoformat(), "needs": needs, "sources": sources}


def instance_hash(instance: dict) -> str:
    return hashlib.sha256(json.dumps(instance, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def start_run(session: Session, dry_run: bool = False) -> MatchRun:
    """A run row in state `queued`, for the job to carry out (its page polls it)."""
    run = MatchRun(status="queued", stats={"dry_run": dry_run})
    session.add(run)
    session.flush()
    record(session, "matching.queue", f"match_run:{run.id}", dry_run=dry_run)
    return run


def carry_out(session: Session, run: MatchRun, time_limit: float | None = None) -> MatchRun:
    """Build, solve, validate, store, propose. Safe to run twice: a finished run is left."""
    if run.status not in ("queued", "running"):
        return run
    dry_run = bool(run.stats.get("dry_run"))
    stats: dict = {"dry_run": dry_run}
    t0 = time.perf_counter()
    if not dry_run:
        supersede_open_proposals(session)
    instance = build_instance(session)
    stats["build_seconds"] = round(time.perf_counter() - t0, 3)
    stats["instance_hash"] = instance_hash(instance)
    stats["needs"], stats["sources"] = len(instance["needs"]), len(instance["sources"])
    t1 = time.perf_counter()
    # Parsed once for both: at 100k needs each parse is seconds (the engine's values are
    # immutable tuples, so validating against the same parse checks the same thing).
    parsed = matching.parse_instance(instance)
    result = matching.solve(parsed, time_limit=time_limit, explain=True, check=False)
    problems = matching.validate(parsed, result)
    stats["solve_seconds"] = round(time.perf_counter() - t1, 3)
    stats.update(_summary(instance, result))
    run.objective = f"{result['stats']['objective']:.6f}"
    run.upper_bound = f"{result['stats']['upper_bound']:.6f}"
    if problems:
        stats["problems"] = [str(p) for p in problems[:20]]
        run.status = "invalid"
    else:
        t2 = time.perf_counter()
        stats["proposals"] = 0 if dry_run else write_proposals(session, run, instance, result)
        stats["write_seconds"] = round(time.perf_counter() - t2, 3)
        run.status = "dry_run" if dry_run else "proposed"
    run.stats = stats
    run.finished_at = now()
    session.add(run)
    session.flush()
    record(session, "matching.run", f"match_run:{run.id}", status=run.status,
           hash=stats["instance_hash"], objective=run.objective, bound=run.upper_bound)
    return run


def write_proposals(session: Session, run: MatchRun, instance: dict, result: dict) -> int:
    """One proposed transfer per allocation, in bulk, each with the engine's "why"."""
    need_ids = dict(session.exec(select(Need.code, Need.id)).all()) if result["allocations"] else {}
    pledge_ids = dict(session.exec(select(Pledge.code, Pledge.id)).all())
    fund_ids = dict(session.exec(select(CommunityFund.code, CommunityFund.id)).all())
    kinds = {s["id"]: s["kind"] for s in instance["sources"]}
    expires, created = now() + PROPOSAL_LIFETIME, now()
    rows = []
    for a in result["allocations"]:
        pledge = kinds[a["source"]] == "pledge"
        rows.append({
            "need_id": need_ids[a["need"]], "amount": a["amount"], "status": "proposed",
            "pledge_id": pledge_ids[a["source"]] if pledge else None,
            "fund_id": None if pledge else fund_ids[a["source"]],
            "donation_id": None, "match_run_id": run.id, "ledger_seq": None,
            "reason": "", "created_at": created, "expires_at": expires,
            "why": json.dumps(a.get("why", {}), ensure_ascii=False),
            "requested_by": None, "review_due": None, "reviewed_at": None,
            "reviewed_by": None})
    if rows and is_postgres(session):
        _copy_rows(session, rows)
    else:
        for start in range(0, len(rows), 5_000):
            session.execute(insert(Allocation), rows[start:start + 5_000])
    return len(rows)


def _copy_rows(session: Session, rows: list[dict]) -> None:
    """PostgreSQL's COPY: tens of thousands of proposals in well under a second, where
    batched INSERTs take a millisecond a row (bench/matching_db.py)."""
    columns = list(rows[0])
    session.flush()
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
            f"COPY allocation ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def supersede_open_proposals(session: Session) -> int:
    """Unanswered proposals of earlier runs lapse when a new run starts."""
    result = session.execute(update(Allocation).where(
        Allocation.status == "proposed", Allocation.match_run_id.is_not(None))
        .values(status="declined", reason=SUPERSEDED_REASON))
    return result.rowcount


def expire_proposals(session: Session) -> int:
    """Proposals past their answer-by time lapse (declined, with the reason said)."""
    result = session.execute(update(Allocation).where(
        Allocation.status == "proposed", Allocation.expires_at.is_not(None),
        Allocation.expires_at < now()).values(status="declined", reason=LAPSED_REASON))
    if result.rowcount:
        record(session, "matching.expire", "proposals", count=result.rowcount)
    return result.rowcount


def _summary(instance: dict, result: dict) -> dict:
    """What the run's page shows: money matched, needs funded by urgency, stranded money
    per source and why."""
    needs = {n["id"]: n for n in instance["needs"]}
    given_to: dict[str, int] = defaultdict(int)
    spent: dict[str, int] = defaultdict(int)
    for a in result["allocations"]:
        given_to[a["need"]] += a["amount"]
        spent[a["source"]] += a["amount"]
    by_urgency = {str(u): {"funded": 0, "open": 0} for u in range(5, 0, -1)}
    for code, need in needs.items():
        bucket = by_urgency[str(need["urgency"])]
        bucket["open"] += 1
        if given_to.get(code, 0) >= need["amount"] - need["funded"]:
            bucket["funded"] += 1
    stranded = []
    left_over = [s for s in instance["sources"] if s["budget"] > spent.get(s["id"], 0)]
    wanted = {r.rstrip("/") for s in left_over for r in s["regions"] or [ANY]}
    index = _eligibility_index(needs.values(), given_to, wanted)
    for source in left_over:
        left = source["budget"] - spent.get(source["id"], 0)
        if left > 0:
            stranded.append({"source": source["id"], "kind": source["kind"], "left": left,
                             "why": _stranded_why(source, index)})
    stranded.sort(key=lambda s: -s["left"])
    return {"matched": sum(spent.values()), "allocations": len(result["allocations"]),
            "funded_needs": result["stats"].get("funded_needs", 0),
            "stranded": result["stats"].get("stranded", 0), "by_urgency": by_urgency,
            "stranded_sources": stranded[:200], "engine_seconds": result["stats"]["seconds"]}


ANY = "*"


def _eligibility_index(needs, given_to: dict[str, int],
                       wanted: set[str] | None = None) -> dict[tuple, list[int]]:
    """For every (region prefix, category, kind), ANY standing for "whichever": how many
    needs there are, the smallest "whole-need open amount" among them (-1 for a need that
    can be funded in part), and how many are not yet met. One pass over the needs, so
    explaining every stranded source costs a few lookups each, not a scan of every need
    per source (5,000 sources × 100,000 needs took minutes: bench/matching_db.py). With
    `wanted`, only those region prefixes (and ANY) are indexed: the ones sources ask about."""
    index: dict[tuple, list[int]] = {}
    for need in needs:
        open_amount = need["amount"] - need["funded"]
        whole_open = open_amount if need["whole"] else -1
        unmet = 1 if given_to.get(need["id"], 0) < open_amount else 0
        parts = need["region"].split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)] + [ANY]
        if wanted is not None:
            prefixes = [p for p in prefixes if p in wanted]
        for prefix in prefixes:
            for category in (need["category"], ANY):
                for kind in (need["kind"], ANY):
                    entry = index.get((prefix, category, kind))
                    if entry is None:
                        index[(prefix, category, kind)] = [1, whole_open, unmet]
                    else:
                        entry[0] += 1
                        entry[1] = min(entry[1], whole_open)
                        entry[2] += unmet
    return index


def _stranded_why(source: dict, index: dict[tuple, list[int]]) -> str:
    """The first reason a source's money found no need: none in its regions (and
    categories, kinds), or every eligible need is taken or above its caps."""
    entries = [index[key] for key in itertools.product(
        [r.rstrip("/") for r in source["regions"]] or [ANY], source["categories"] or [ANY],
        source["need_kinds"] or [ANY]) if key in index]
    if not entries:
        return "no_eligible_need"
    cap = source.get("per_grant_cap")
    if cap is not None and min(e[1] for e in entries) > cap:
        return "caps"  # every eligible need is whole and larger than one grant may be
    if not any(e[2] for e in entries):
        return "eligible_needs_met"
    return "caps"
