"""Applications to join the platform: an organisation or an enterprise applies with its
统一社会信用代码, registration certificate and contact; an admin approves or rejects it
with a reason. The organisation/enterprise row itself is created (pending) at application
time, so its unique name and the application's unique USCC make a double submit one row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Text
from sqlmodel import Field, SQLModel

from core.clock import now

KINDS = ("organisation", "enterprise")
STATES = ("pending", "approved", "rejected")


class OnboardingApplication(SQLModel, table=True):
    __tablename__ = "onboarding_application"
    __table_args__ = (
        CheckConstraint("kind IN ('organisation','enterprise')", name="application_kind"),
        CheckConstraint("status IN ('pending','approved','rejected')",
                        name="application_status"),
        CheckConstraint("(kind = 'organisation' AND organisation_id IS NOT NULL AND "
                        "enterprise_id IS NULL) OR (kind = 'enterprise' AND enterprise_id "
                        "IS NOT NULL AND organisation_id IS NULL)", name="application_target"),
        CheckConstraint("status = 'pending' OR (reviewed_by IS NOT NULL AND "
                        "reviewed_at IS NOT NULL)", name="application_reviewed"),
        CheckConstraint("status <> 'rejected' OR length(reason) > 0",
                        name="application_reject_reason"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id",
                                        unique=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", unique=True)
    applicant_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=120)
    uscc: str = Field(max_length=18, unique=True)  # 统一社会信用代码, checked (GB 32100)
    certificate_sha256: str = Field(max_length=64)  # the stored upload (needs.uploads)
    certificate_type: str = Field(max_length=40)
    contact_name: str = Field(max_length=100)
    contact_phone: str = Field(max_length=30)
    contact_email: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=20, index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
