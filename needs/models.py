"""Organisations, programmes, beneficiaries and the needs posted for them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import now
from core.money import Money
from core.money_column import MoneyType

NEED_KINDS = ("wish", "project", "sponsorship", "microgrant")
NEED_STATES = ("draft", "submitted", "verified", "funded", "disbursed", "delivered", "closed",
               "rejected", "expired", "cancelled")
PUBLIC_STATES = ("verified", "funded", "disbursed", "delivered", "closed")  # shown and listed
ACTIVE_STATES = ("verified", "funded", "disbursed")  # still being carried out
CATEGORIES = ("助困", "助老", "助学", "助残", "助医", "社区")
ORG_KINDS = ("charity", "social_work_station", "civil_affairs", "foundation")
ORG_STATES = ("pending", "approved", "rejected")
AGE_BANDS = ("0-5", "6-11", "12-14", "15-17", "18-59", "60-79", "80+")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class Organisation(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("kind", ORG_KINDS), name="organisation_kind_known"),
        CheckConstraint(_in("status", ORG_STATES), name="organisation_status_known"),
        CheckConstraint("NOT public_fundraising OR length(public_fundraising_cert) > 0",
                        name="organisation_qualified_has_cert"),
        UniqueConstraint("uscc", name="uq_organisation_uscc"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)  # the full registered name
    kind: str = Field(default="charity", max_length=30)
    region: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = Field(default_factory=now)
    uscc: str | None = Field(default=None, max_length=18)  # 统一社会信用代码 (GB 32100)
    # 公募资格: may raise money from the public itself, under this certificate number.
    public_fundraising: bool = False
    public_fundraising_cert: str = Field(default="", max_length=60)


class Programme(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    organiser: str = Field(default="", max_length=200)
    region: str = Field(max_length=200)
    source: str = Field(default="", max_length=200)  # the report the figures come from
    created_at: datetime = Field(default_factory=now)


class Beneficiary(SQLModel, table=True):
    """What may be shown: a pseudonym, an age band, a region (shown at county level)."""

    __table_args__ = (CheckConstraint(_in("age_band", AGE_BANDS), name="beneficiary_age_band"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    pseudonym: str = Field(max_length=20)
    age_band: str = Field(max_length=10)
    is_minor: bool = True
    region: str = Field(max_length=200)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    verified_at: datetime | None = None
    verified_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=now)


class BeneficiaryPrivate(SQLModel, table=True):
    """Personal data, kept apart: read only by verifiers, never rendered publicly."""

    __tablename__ = "beneficiary_private"
    beneficiary_id: int = Field(foreign_key="beneficiary.id", primary_key=True)
    full_name: str = Field(max_length=60)
    id_number: str = Field(default="", max_length=30)  # forms store it masked (3716**********12)
    # HMAC of the ID number (needs/duplicates.py): what duplicate checks compare.
    id_hash: str | None = Field(default=None, max_length=64, index=True)
    guardian: str = Field(default="", max_length=60)
    birth_date: date | None = None
    address: str = Field(default="", max_length=300)
    school: str = Field(default="", max_length=120)
    guardian_phone: str = Field(default="", max_length=30)


class Need(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("kind", NEED_KINDS), name="need_kind_known"),
        CheckConstraint(_in("state", NEED_STATES), name="need_state_known"),
        CheckConstraint("amount > 0", name="need_amount_positive"),
        CheckConstraint("funded >= 0 AND funded <= amount", name="need_not_overfunded"),
        CheckConstraint("disbursed >= 0 AND disbursed <= funded", name="need_disbursed_le_funded"),
        CheckConstraint("urgency BETWEEN 1 AND 5", name="need_urgency_range"),
        CheckConstraint("people >= 1", name="need_people_positive"),
        CheckConstraint("(hold_holder IS NULL) = (hold_until IS NULL)", name="need_hold_complete"),
        CheckConstraint("period_start IS NULL OR period_end IS NULL OR period_end >= period_start",
                        name="need_period_ordered"),
        CheckConstraint("fundraiser_id IS NULL OR length(fundraising_filing) > 0",
                        name="need_fundraiser_has_filing"),
        # Public-page indexes (migration 0002, measured by bench/web.py): the /needs order,
        # read backwards for DESC; and region prefixes (LIKE 'a/b/%') on PostgreSQL.
        Index("ix_need_public_order", "urgency", "posted_at", "id"),
        Index("ix_need_region_prefix", "region", postgresql_ops={"region": "varchar_pattern_ops"}),
        # The other sort orders of /needs (migration 0004).
        Index("ix_need_browse_posted", "posted_at", "id"),
        Index("ix_need_browse_amount", "amount", "id"),
        Index("ix_need_browse_deadline", "deadline", "id"),
        # A kind filter with the default or the amount order (the API's common query; issue
        # 14): the first page read from the index, not after skipping every other kind.
        Index("ix_need_kind_order", "kind", "urgency", "posted_at", "id"),
        Index("ix_need_kind_amount", "kind", "amount", "id"),
        # The search index's freshness check reads max(verified_at) (migration 0005).
        Index("ix_need_verified_at", "verified_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=20, unique=True)
    kind: str = Field(max_length=20, index=True)
    title: str = Field(max_length=200)
    story: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    category: str = Field(max_length=20, index=True)
    region: str = Field(max_length=200, index=True)
    amount: Money = Field(sa_type=MoneyType)
    funded: Money = Field(default=0, sa_type=MoneyType)
    disbursed: Money = Field(default=0, sa_type=MoneyType)
    whole: bool = False
    urgency: int = 3
    people: int = 1
    deadline: date | None = None
    state: str = Field(default="draft", max_length=20, index=True)
    programme_id: int | None = Field(default=None, foreign_key="programme.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    beneficiary_id: int | None = Field(default=None, foreign_key="beneficiary.id", index=True)
    posted_at: datetime = Field(default_factory=now)
    verified_at: datetime | None = None
    verified_by: int | None = Field(default=None, foreign_key="user.id")
    submitted_at: datetime | None = None  # the verifiers' queue is oldest submission first
    last_disclosed_at: datetime | None = None
    # A hold (needs/holds.py): while it lasts, only its holder (e.g. "donation:12", a donor
    # paying for a 微心愿) may fund the need.
    hold_holder: str | None = Field(default=None, max_length=80)
    hold_until: datetime | None = None
    # ---- the project, sponsorship and micro-grant forms (migration 0032)
    # A need raising money from the public names the organisation holding 公募资格 (itself
    # or a qualified partner) and the filing number of its 募捐方案 on 慈善中国.
    fundraiser_id: int | None = Field(default=None, foreign_key="organisation.id")
    fundraising_filing: str = Field(default="", max_length=40)
    period_start: date | None = None  # a project's implementation period
    period_end: date | None = None
    budget: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [[item, fen], ...]; the lines add up to the amount
    school_year: str | None = Field(default=None, max_length=9)  # 慈心助学: "2026-2027"
    fund_id: int | None = Field(default=None, foreign_key="communityfund.id", index=True)
    # the community fund a 小急难 request asks; its grant is proposed on verification
    posted_by: int | None = Field(default=None, foreign_key="user.id")

    @property
    def open_amount(self) -> int:
        return self.amount - self.funded


class Milestone(SQLModel, table=True):
    """A step of a milestone-paid project (焕新乐园: renovation, then 12 family visits)."""

    __table_args__ = (CheckConstraint("amount >= 0", name="milestone_amount_nonneg"),)
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    seq: int
    title: str = Field(max_length=200)
    amount: Money = Field(default=0, sa_type=MoneyType)
    due: date | None = None
    done_at: datetime | None = None


class Evidence(SQLModel, table=True):
    """A file proving a disbursement or delivery; photos are stored with EXIF removed."""

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    disbursement_id: int | None = Field(default=None, foreign_key="disbursement.id")
    kind: str = Field(default="photo", max_length=20)
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    content_type: str = Field(max_length=80)
    caption: str = Field(default="", max_length=300)
    uploaded_by: int | None = Field(default=None, foreign_key="user.id")
    uploaded_at: datetime = Field(default_factory=now)


# ---- h8b: posting needs, consent, duplicate flags ----
CONSENT_RELATIONS = ("self", "guardian", "parent")
FLAG_STATES = ("open", "allowed", "duplicate")


class BeneficiaryConsent(SQLModel, table=True):
    """Who agreed to what being published about a beneficiary, and when. A photo showing a
    minor's face may be published only under a consent that allows photos."""

    __tablename__ = "beneficiary_consent"
    __table_args__ = (CheckConstraint(_in("relation", CONSENT_RELATIONS),
                                      name="consent_relation_known"),)
    id: int | None = Field(default=None, primary_key=True)
    beneficiary_id: int = Field(foreign_key="beneficiary.id", index=True)
    given_by: str = Field(max_length=60)  # the person who consented (a guardian for a minor)
    relation: str = Field(max_length=20)
    given_on: date
    allow_photo: bool = False
    allow_story: bool = False
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=now)


class DuplicateFlag(SQLModel, table=True):
    """A beneficiary that may be the same person as another one, found on submission; a
    verifier marks it "same person, allowed" or "duplicate"."""

    __tablename__ = "duplicate_flag"
    __table_args__ = (
        CheckConstraint(_in("status", FLAG_STATES), name="duplicate_flag_status_known"),
        CheckConstraint("beneficiary_id <> other_id", name="duplicate_flag_not_self"),
        Index("uq_duplicate_flag_pair", "beneficiary_id", "other_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    beneficiary_id: int = Field(foreign_key="beneficiary.id", index=True)
    other_id: int = Field(foreign_key="beneficiary.id")
    score: float
    reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=20)
    resolved_by: int | None = Field(default=None, foreign_key="user.id")
    resolved_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)


class NeedPostKey(SQLModel, table=True):
    """The one-time key of a need form: a second submit of the same form finds the need the
    first one created instead of creating another."""

    __tablename__ = "need_post_key"
    key: str = Field(primary_key=True, max_length=64)
    need_id: int = Field(foreign_key="need.id")


# The search rows of public needs (PostgreSQL's search backend) and the session hooks that
# keep them current in the same transaction as the need's writes.
import needs.search_pg  # noqa: E402,F401
