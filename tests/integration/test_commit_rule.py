"""The request's commit rule: it commits only when the view returned normally and no
UserError was raised during it; jobs it deferred run after its commit (SQLite included)."""
from flask import jsonify
from sqlmodel import Session, select

from core import outbox
from core.audit import AuditEntry
from core.db import get_engine, unit_of_work
from core.errors import UserError
from needs import services as needs
from needs.models import Organisation
from tests.conftest import make_app, require_postgres
from web.db import db_session
from web.permissions import public


def _app_with_scratch_routes(url):
    app = make_app(url)

    @app.post("/scratch/caught")
    @public
    def caught():
        # Writes, then a service refuses; the view handles the error and answers 200.
        needs.create_organisation(db_session(), "写了一半的机构", "山东省/滨州市/邹平市")
        db_session().flush()
        try:
            raise UserError("金额不能为空")
        except UserError as exc:
            return jsonify(error=exc.message("en")), 200

    @app.post("/scratch/raised")
    @public
    def raised():
        needs.create_organisation(db_session(), "写了一半的机构", "山东省/滨州市/邹平市")
        db_session().flush()
        raise UserError("金额不能为空")

    @app.post("/scratch/ok")
    @public
    def ok():
        organisation = needs.create_organisation(db_session(), "好机构", "山东省/滨州市/邹平市")
        outbox.defer(db_session(), "tests.integration.outbox_jobs.note_organisation",
                     organisation.id)
        return jsonify(id=organisation.id), 201

    @app.post("/scratch/nested")
    @public
    def nested():
        needs.create_organisation(db_session(), "外层", "山东省/滨州市/邹平市")
        db_session().flush()
        with unit_of_work(get_engine(url)) as inner:
            needs.create_organisation(inner, "内层", "山东省/滨州市/邹平市")
        return jsonify(ok=True)

    return app


def _organisations(url):
    with Session(get_engine(url)) as session:
        return sorted(o.name for o in session.exec(select(Organisation)))


def _check_handled_user_error_commits_nothing(url):
    client = _app_with_scratch_routes(url).test_client()
    response = client.post("/scratch/caught")
    assert response.status_code == 200 and response.json == {"error": "amount is empty"}
    assert _organisations(url) == []
    response = client.post("/scratch/raised")
    assert response.status_code == 400
    assert _organisations(url) == []
    assert client.post("/scratch/ok").status_code == 201  # the same app still commits
    assert _organisations(url) == ["好机构"]


def test_a_handled_user_error_commits_nothing(clean_url):
    _check_handled_user_error_commits_nothing(clean_url)


def test_a_handled_user_error_commits_nothing_on_postgres(clean_url):
    require_postgres()
    assert clean_url.startswith("postgresql")
    _check_handled_user_error_commits_nothing(clean_url)


def test_a_deferred_job_runs_after_the_commit_without_a_lock(clean_url):
    # No Redis: the job runs in-process. On SQLite it opens a second connection, which
    # would wait 30 s for the request's BEGIN IMMEDIATE if it ran before the commit.
    client = _app_with_scratch_routes(clean_url).test_client()
    response = client.post("/scratch/ok")
    assert response.status_code == 201
    with Session(get_engine(clean_url)) as session:
        seen = session.exec(select(AuditEntry).where(AuditEntry.action == "test.job_saw")).all()
        pending = session.exec(select(outbox.OutboxJob)).all()
    assert [entry.detail["name"] for entry in seen] == ["好机构"]
    assert [row.enqueued_at is not None for row in pending] == [True]


def test_a_job_deferred_by_a_refused_request_never_runs(clean_url):
    app = _app_with_scratch_routes(clean_url)

    @app.post("/scratch/defer-then-refuse")
    @public
    def defer_then_refuse():
        organisation = needs.create_organisation(db_session(), "机构", "山东省/滨州市/邹平市")
        outbox.defer(db_session(), "tests.integration.outbox_jobs.note_organisation",
                     organisation.id)
        raise UserError("金额不能为空")

    assert app.test_client().post("/scratch/defer-then-refuse").status_code == 400
    with Session(get_engine(clean_url)) as session:
        assert session.exec(select(outbox.OutboxJob)).all() == []
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "test.job_saw")).all() == []


def test_a_nested_unit_of_work_joins_the_request(clean_url):
    response = _app_with_scratch_routes(clean_url).test_client().post("/scratch/nested")
    assert response.status_code == 200
    assert _organisations(clean_url) == ["内层", "外层"]


def test_a_commit_sends_only_its_own_jobs_and_the_sweep_sends_what_a_dead_process_left(
        clean_url):
    """32 concurrent commits used to each send every pending job (one receipt rendered 32
    times); a commit now sends its own, and the minute sweep sends what a process that died
    between commit and send left pending."""
    from datetime import timedelta

    from core import clock

    engine = get_engine(clean_url)
    sent: list[tuple[str, list]] = []
    previous = outbox._sender
    outbox.set_sender(lambda url, func, args: sent.append((func, args)))
    try:
        with Session(engine) as session:  # a process that committed, then died
            session.add(outbox.OutboxJob(func="jobs.tasks.issue_receipt", args=[1]))
            session.commit()
        with unit_of_work(engine) as session:
            outbox.defer(session, "jobs.tasks.issue_receipt", 2)
        assert sent == [("jobs.tasks.issue_receipt", [2])]
        assert outbox.sweep(engine) == 0  # the orphan is younger than a minute
        with clock.frozen(clock.now() + outbox.SWEEP_AFTER + timedelta(seconds=1)):
            assert outbox.sweep(engine) == 1
            assert outbox.sweep(engine) == 0  # sent once
        assert sent == [("jobs.tasks.issue_receipt", [2]), ("jobs.tasks.issue_receipt", [1])]
    finally:
        outbox.set_sender(previous)
