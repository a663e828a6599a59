"""Without Redis, the web process runs the checkpoint job itself: at once, then on every
interval, once per process, and a failing run does not stop the clock."""
import threading

from jobs import checkpoints as clock


def test_clock_runs_now_then_every_interval_and_survives_a_failure(monkeypatch):
    monkeypatch.setattr(clock, "_clock_started", threading.Event())
    monkeypatch.setattr(clock, "_stop", threading.Event())
    calls = []
    three = threading.Event()

    def enqueue(func, *args):
        calls.append((func, args))
        if len(calls) == 1:
            raise RuntimeError("database briefly away")
        if len(calls) >= 3:
            three.set()

    assert clock.start_clock("sqlite:///x.db", enqueue, interval=0.01)
    assert not clock.start_clock("sqlite:///x.db", enqueue, interval=0.01)  # once per process
    assert three.wait(5)
    clock._stop.set()
    assert all(c == (clock.issue_checkpoint, ("sqlite:///x.db",)) for c in calls)


def test_without_redis_the_clock_also_runs_the_minute_jobs(monkeypatch):
    """A development site has no rq cron: leftover gift confirmations, lapsed holds and the
    outbox's stragglers are picked up by the same thread, each on every tick."""
    from jobs import tasks

    monkeypatch.setattr(clock, "_clock_started", threading.Event())
    monkeypatch.setattr(clock, "_stop", threading.Event())
    seen = []
    twice = threading.Event()

    def enqueue(func, *args):
        if func is tasks.apply_queued_gifts:
            raise RuntimeError("one failing job does not stop the others")
        seen.append(func)
        if seen.count(tasks.sweep_outbox) >= 2:
            twice.set()

    assert clock.start_clock("sqlite:///x.db", enqueue, interval=0.01,
                             jobs=clock.local_minute_jobs())
    assert twice.wait(5)
    clock._stop.set()
    assert {clock.issue_checkpoint, tasks.release_expired_holds, tasks.sweep_outbox} <= set(seen)
    assert clock.local_minute_jobs() == (clock.issue_checkpoint, tasks.apply_queued_gifts,
                                         tasks.release_expired_holds, tasks.sweep_outbox)
