"""公募资格 and 募捐方案备案: the rule for a need that raises money from the public.

Under the Charity Law a public appeal is made by an organisation holding public-fundraising
qualification, under a fundraising plan filed on 慈善中国. So a project or a sponsorship
posted here names that organisation — the poster itself if it is qualified, otherwise a
qualified partner it works with — and the plan's filing number; the need page shows both
with the organisations' full names and 统一社会信用代码."""
from __future__ import annotations

import re

from sqlmodel import Session, select

from core.errors import UserError
from needs.models import Organisation

PUBLIC_KINDS = ("project", "sponsorship")  # the kinds that raise from the public
FILING = re.compile(r"^[0-9A-Z][0-9A-Z-]{9,39}$")  # 慈善中国 numbers: USCC + year + serial


def clean_filing(text: str | None) -> str:
    filing = (text or "").strip().upper()
    if not filing:
        raise UserError("面向公众募捐必须填写募捐方案备案编号")
    if not FILING.match(filing):
        raise UserError("募捐方案备案编号应为 10 至 40 位字母、数字或连字符")
    return filing


def clean_certificate(qualified: bool, certificate: str | None) -> str:
    """An organisation's 公募资格 certificate number: required when it says it is qualified."""
    number = (certificate or "").strip().upper()
    if not qualified:
        return ""
    if not number:
        raise UserError("具有公募资格的机构必须填写公募资格证书编号")
    if len(number) > 60 or not number.isprintable():
        raise UserError("公募资格证书编号不超过 60 个字符，且不能含控制字符")
    return number


def qualified_holders(session: Session, organisation: Organisation) -> list[Organisation]:
    """Who may hold this organisation's public appeal: itself if qualified, then every
    approved qualified organisation (its possible partners)."""
    others = session.exec(select(Organisation).where(
        Organisation.status == "approved", Organisation.public_fundraising.is_(True),
        Organisation.id != organisation.id).order_by(Organisation.name)).all()
    own = [organisation] if is_qualified(organisation) else []
    return own + list(others)


def is_qualified(organisation: Organisation) -> bool:
    return organisation.status == "approved" and organisation.public_fundraising


def holder_for(session: Session, organisation: Organisation, holder_id: int | None,
               filing: str | None) -> tuple[Organisation, str]:
    """The qualified organisation and the cleaned filing number of a public appeal."""
    if holder_id is None or holder_id == organisation.id:
        if not is_qualified(organisation):
            raise UserError("本机构没有公募资格，请选择具有公募资格的合作机构")
        holder = organisation
    else:
        holder = session.get(Organisation, holder_id) if isinstance(holder_id, int) else None
        if holder is None or not is_qualified(holder):
            raise UserError("所选机构没有公募资格")
    return holder, clean_filing(filing)
