"""Progress reports (项目进展) for the demo's long projects, so that the demo discloses on
time as a charity should: every project under the 3-month rule gets a progress photo near the
end of the history, except the first LEFT_OVERDUE of them: one or two of those (the ones with
no recent disbursement either) show what the overdue flag looks like."""
from __future__ import annotations

from sqlmodel import select

from core.config import Settings
from demo.evidence import COLOURS, photo_with_gps
from needs.evidence import add_evidence
from needs.models import Need
from readside.rules import rule_applies

LEFT_OVERDUE = 2  # projects left without a recent disclosure, to show the flag


def progress_reports(demo) -> None:
    """A progress photo for each project the 3-month rule applies to, but the first two."""
    s, tick = demo.session, demo.tick
    upload_dir = Settings.from_env().upload_dir
    due = [n for n in s.exec(select(Need).order_by(Need.id)).all() if rule_applies(n)]
    for index, need in enumerate(due[LEFT_OVERDUE:]):
        tick(45)
        add_evidence(s, upload_dir, need, photo_with_gps(f"{need.code} progress",
                                                         COLOURS[index % len(COLOURS)]),
                     caption="项目实施进展：阶段工作已完成，照片为现场记录", kind="photo")
