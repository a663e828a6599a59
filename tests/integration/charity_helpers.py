"""Builders for the charity-side tests: approved organisations with staff, verifiers, and
beneficiaries with valid (generated) 身份证号."""
from __future__ import annotations

import random
from datetime import date

from core.db import get_engine, unit_of_work
from core.identifiers import generate_id_number
from needs import services
from tests.integration.auth import make_user

BZ_COUNTY = "山东省/滨州市/邹平市"
BZ = "山东省/滨州市/邹平市/黄山街道/齐明社区"
WF = "山东省/潍坊市/寿光市/文家街道/东方社区"


def id_number(seed: int, born: date = date(2014, 5, 6)) -> str:
    return generate_id_number(random.Random(seed), born, "371626")


def organisation(url: str, name: str, region: str = BZ_COUNTY, status: str = "approved") -> int:
    with unit_of_work(get_engine(url)) as s:
        return services.create_organisation(s, name, region, status=status).id


def staff(url: str, email: str, org_id: int, role: str = "org_staff") -> int:
    return make_user(url, email, (role, {"organisation_id": org_id}))


def verifier(url: str, email: str, region: str) -> int:
    return make_user(url, email, ("verifier", {"region": region}))


def wish_form(key: str = "k-1", **overrides) -> dict:
    """A valid 微心愿 form for a new beneficiary."""
    form = {"key": key, "title": "一个新书包", "item": "书包", "price": "150.50",
            "category": "助学", "region": BZ, "story": "小安上四年级，书包破了。",
            "beneficiary": "0", "pseudonym": "小安", "full_name": "王小安",
            "id_number": id_number(1), "address": "山东省滨州市邹平市黄山街道齐明社区3号",
            "school": "齐明小学", "guardian": "王大山", "guardian_phone": "13800000000",
            "consent_by": "王大山", "consent_relation": "guardian", "consent_on": "2026-11-01",
            "allow_photo": "y", "allow_story": "y"}
    form.update(overrides)
    return form


def as_(world, who):
    """A test client signed in as world[who] (a user id)."""
    from tests.integration.auth import sign_in

    client = world["app"].test_client()
    sign_in(client, world[who])
    return client
