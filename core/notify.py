"""Mail a unit of work wants sent: deferred through the job outbox, so it leaves only once
the unit of work commits (a refused or rolled-back request mails nobody)."""
from __future__ import annotations

from sqlmodel import Session

from core import outbox


def mail_later(session: Session, to: str, subject: str, text: str) -> None:
    outbox.defer(session, "jobs.tasks.send_mail", to, subject, text)
