"""`flask --app web matching run [--dry-run]` queues a matching run as an rq job (run at once
in-process without Redis) and reports it; `flask --app web matching export-instance FILE`
writes the instance the next run would use (shared/matching-instance.md), so the engine
can be checked on real data outside the platform (`python -m matching solve FILE`)."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import outbox
from core.db import get_engine, unit_of_work
from donors import matching_runs
from funds.models import MatchRun


def matching_group() -> AppGroup:
    group = AppGroup("matching", help="Matching runs over the database.")

    @group.command("run")
    @click.option("--dry-run", is_flag=True, help="Solve and report; write no proposal.")
    def run(dry_run: bool) -> None:
        """Queue a matching run; with in-process jobs it has finished when this returns."""
        engine = get_engine(current_app.config["SHANLIAN"].database_url)
        with unit_of_work(engine) as session:
            run_id = matching_runs.start_run(session, dry_run=dry_run).id
            outbox.defer(session, "jobs.tasks.run_matching", run_id)
        with unit_of_work(engine) as session:
            found = session.get(MatchRun, run_id)
            stats = found.stats
            click.echo(f"run {run_id}: {found.status}")
            if found.status in ("queued", "running"):
                return  # a worker carries it out; its page shows progress
            click.echo(json.dumps({k: stats.get(k) for k in (
                "instance_hash", "needs", "sources", "allocations", "proposals", "matched",
                "stranded", "build_seconds", "solve_seconds", "write_seconds", "problems")
                if k in stats} | {"objective": found.objective,
                                  "upper_bound": found.upper_bound}, ensure_ascii=False))
            if found.status in ("invalid", "failed"):
                sys.exit(1)

    @group.command("export-instance")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True))
    def export_instance(file: str) -> None:
        """Write the instance the next run would use to FILE (JSON)."""
        with unit_of_work(get_engine(current_app.config["SHANLIAN"].database_url)) as session:
            instance = matching_runs.build_instance(session)
        try:
            with open(file, "w", encoding="utf-8") as handle:
                json.dump(instance, handle, ensure_ascii=False, indent=1)
        except OSError as error:  # a missing folder, no permission: a message, not a traceback
            raise click.ClickException(f"cannot write {file}: {error.strerror}") from None
        click.echo(f"{len(instance['needs'])} needs, {len(instance['sources'])} sources → {file}")

    return group
