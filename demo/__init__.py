"""Demo data from the seed reports: the tables (`demo/data.py`), the loading steps
(`demo/steps.py`), evidence photos (`demo/evidence.py`) and `flask --app web demo load`
(`demo/cli.py`)."""
from __future__ import annotations

from sqlmodel import Session, select

from core import clock
from needs.models import Programme


def load(session: Session) -> bool:
    """Load everything once; a second call finds the programmes and does nothing."""
    from demo.steps import STEPS, Demo

    if session.exec(select(Programme).where(Programme.code == "yimi")).first():
        return False
    demo = Demo(session)
    try:
        for step in STEPS:
            step(demo)
        demo.check_ended_in_the_past()
    finally:
        clock.set_now(None)
    return True
