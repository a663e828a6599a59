"""What we tell people: mail a unit of work wants sent, and donors' notifications.

Both leave only once the unit of work commits (deferred through the job outbox), so a
refused or rolled-back request tells nobody.

A `Notification` is one row per event and person, keyed (`key`, UNIQUE) by what it is
about, so an event noticed twice writes one row. A signed-in person sees it as an in-site
notice (`user_id`); mail goes to `email` (guests get mail only). The send job locks the
row, sends, and marks it sent in one transaction; a worker that dies between sending and
marking leaves it unsent, and the retry sends the same message again under the same
Message-ID, which the mail outbox (and mail clients) keep once."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import JSON, Column, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, select

from core import mail, outbox
from core.clock import now
from core.db import is_postgres
from core.errors import shown
from core.messages import N_, translate

SEND_JOB = "jobs.tasks.send_notification"

# kind → (subject, body): message ids, rendered in the reader's language when shown or sent.
KINDS = {
    "gift_confirmed": (N_("您的捐款 %(amount)s 已到账"),
                       N_("感谢您！您给“%(need)s”的捐款 %(amount)s 已确认到账，收据将在几分钟内开具。")),
    "gift_disbursed": (N_("您支持的“%(need)s”已拨付"),
                       N_("“%(need)s”已拨付 %(amount)s 给%(paid_to)s。")),
    "gift_evidenced": (N_("“%(need)s”上传了新的凭证"),
                       N_("“%(need)s”的执行机构上传了拨付或交付凭证，您可以在需求页面查看。")),
    "gift_late_refund": (N_("您给“%(need)s”的捐款将退回"),
                         N_("您的捐款 %(amount)s 到账时，保留期已过，“%(need)s”已由他人认领。按您的选择，这笔钱不会记入该需求，将原路退回给您。")),
    "gift_late_redirected": (N_("您的捐款 %(amount)s 已转入%(fund)s"),
                             N_("您的捐款 %(amount)s 到账时，保留期已过，“%(need)s”已由他人认领。按您的选择，这笔钱已转入%(fund)s，收据将在几分钟内开具。")),
    "return_decision": (N_("请为您给“%(need)s”的捐款做出选择"),
                        N_("“%(need)s”%(cause)s，您的捐款 %(amount)s 尚未使用。请在 %(decide_by)s 前选择转捐到其他需求或基金，或申请退款；逾期将转入%(default)s。")),
}


# Parameters that are message ids themselves (a need's new state), translated with the text.
TRANSLATED_PARAMS = ("cause",)
CAUSES = {"expired": N_("已过期"), "cancelled": N_("已取消"), "rejected": N_("未通过审核")}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)  # e.g. "gift_confirmed:donation:12"
    kind: str = Field(max_length=30)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    email: str = Field(default="", max_length=200)
    locale: str = Field(default="zh_CN", max_length=10)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    link: str = Field(default="", max_length=500)  # a path on the site
    created_at: datetime = Field(default_factory=now)
    sent_at: datetime | None = None
    read_at: datetime | None = None

    def _params(self, locale: str) -> dict:
        return {k: translate(v, locale) if k in TRANSLATED_PARAMS else v
                for k, v in self.params.items()}

    def subject(self, locale: str | None = None) -> str:
        locale = locale or self.locale
        return translate(KINDS[self.kind][0], locale, **self._params(locale))

    def body(self, locale: str | None = None) -> str:
        locale = locale or self.locale
        return translate(KINDS[self.kind][1], locale, **self._params(locale))


_INSERTS: dict[bool, object] = {}


def _insert(postgres: bool):
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, built once per dialect."""
    statement = _INSERTS.get(postgres)
    if statement is None:
        table = Notification.__table__
        statement = ((pg_insert if postgres else sqlite_insert)(table)
                     .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id))
        _INSERTS[postgres] = statement
    return statement


def mail_later(session: Session, to: str, subject: str, text: str) -> None:
    outbox.defer(session, "jobs.tasks.send_mail", to, subject, text)


def notify(session: Session, key: str, kind: str, *, user_id: int | None = None,
           email: str = "", locale: str = "zh_CN", link: str = "",
           **params: str) -> Notification | None:
    """Write one notification in this unit of work and defer its mail; None if the same
    event (`key`) was already noted, or there is nobody to tell."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if user_id is None and "@" not in (email or ""):
        return None  # a guest who left only a mobile number: we have no way to reach them
    values = dict(key=key[:120], kind=kind, user_id=user_id, email=email or "", locale=locale,
                  params={k: shown(v) for k, v in params.items()}, link=link, created_at=now())
    # INSERT … ON CONFLICT DO NOTHING: one statement on the gift's hot path, no savepoint.
    row_id = session.execute(_insert(is_postgres(session)), values).scalar()
    if row_id is None:
        return None  # this event was already noted
    if values["email"]:
        outbox.defer(session, SEND_JOB, row_id)
    return Notification(id=row_id, **values)


def send(session: Session, notification_id: int, site_url: str,
         link_for=None) -> bool:
    """Mail one notification unless it was sent; True if sent now. The row stays locked
    until the caller's commit, so two workers cannot both send it."""
    row = session.exec(select(Notification).where(Notification.id == notification_id)
                       .with_for_update()).first()
    if row is None or row.sent_at is not None or not row.email:
        return False
    link = link_for(row) if link_for else row.link
    text = row.body()
    if link:
        text += "\n\n" + site_url.rstrip("/") + link
    mail.send(row.email, row.subject(), text,
              message_id=f"<notice-{row.id}-{_key_hash(row.key)}@shanlian.localhost>")
    row.sent_at = now()
    session.flush()
    return True


def notices_for(session: Session, user_id: int, limit: int = 50) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.user_id == user_id)
                             .order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))).one()


def mark_read(session: Session, user_id: int) -> int:
    """Mark every unread notice of this person read; returns how many."""
    rows = session.exec(select(Notification).where(Notification.user_id == user_id,
                                                   Notification.read_at.is_(None))).all()
    for row in rows:
        row.read_at = now()
    session.flush()
    return len(rows)
