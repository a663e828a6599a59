"""Valid forms for the project, sponsorship and 小急难 pages, and the organisations they
need (a qualified one, an unqualified one, a community fund in 齐明社区)."""
from __future__ import annotations

from core.db import get_engine, unit_of_work
from funds import services as funds
from needs.models import Organisation
from tests.integration.charity_helpers import BZ, id_number

FILING = "53371600MJD1234567-2026-001"


def qualify(url: str, org_id: int, cert: str = "鲁民慈公募证字第001号", uscc: str | None = None):
    with unit_of_work(get_engine(url)) as s:
        org = s.get(Organisation, org_id)
        org.public_fundraising, org.public_fundraising_cert = True, cert
        org.uscc = uscc
        s.add(org)


def fund(url: str, region: str = BZ, cap_yuan: int | None = 2000,
         name: str = "齐明社区基金") -> int:
    from core.money import Money

    with unit_of_work(get_engine(url)) as s:
        return funds.create_fund(s, name, region, need_kinds=["microgrant"],
                                 per_grant_cap=Money.yuan(cap_yuan) if cap_yuan else None).id


def project_form(key: str = "p-1", **overrides) -> dict:
    form = {"key": key, "title": "齐明社区儿童之家改造", "amount": "50,000", "category": "助学",
            "region": BZ, "period_start": "2026-12-10", "period_end": "2027-06-30",
            "people": "40", "budget": "课桌椅 20000\n图书 18000\n地面改造 12000",
            "story": "为社区 40 名留守儿童改造一间儿童之家。", "holder": "", "filing": FILING}
    form.update(overrides)
    return form


def sponsorship_form(key: str = "s-1", **overrides) -> dict:
    form = {"key": key, "title": "慈心助学·小禾", "per_year": "10000", "first_year": "2026",
            "years": "2", "region": BZ, "story": "小禾上初一，父亲病故。",
            "beneficiary": "0", "pseudonym": "小禾", "full_name": "张禾",
            "id_number": id_number(7), "address": "邹平市黄山街道齐明社区8号",
            "school": "黄山中学", "guardian": "张奶奶", "guardian_phone": "13900000000",
            "consent_by": "张奶奶", "consent_relation": "guardian", "consent_on": "2026-11-20",
            "allow_story": "y", "holder": "", "filing": FILING}
    form.update(overrides)
    return form


def microgrant_form(fund_id: int, key: str = "m-1", **overrides) -> dict:
    form = {"key": key, "title": "独居老人家中水管爆裂", "amount": "800", "fund": str(fund_id),
            "urgency": "5", "category": "助困", "region": BZ, "story": "需要更换水管。",
            "beneficiary": "0"}
    form.update(overrides)
    return form
