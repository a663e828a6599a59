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
