"""Demo data for public appeals and 小急难 requests: each organisation's 统一社会信用代码 (made
up, valid check character), 公募资格 for the two 慈善总会 (the others raise under
滨州市慈善总会's qualification), a filed 募捐方案 number on every project and sponsorship,
and a 小急难 request that 齐明's staff posted through the web form's service, submitted
and waiting for the 滨州 verifier — verified, it joins 齐明社区基金's grant queue."""
from __future__ import annotations

import random

from sqlmodel import select

from core.identifiers import generate_uscc
from core.money import Money
from core.users import User
from needs import post_kinds, posting
from needs.fundraising import PUBLIC_KINDS
from needs.models import Need

REGION_CODES = {"org_bz": "371602", "org_wf": "370705", "org_lc": "371502",
                "org_hp": "450521", "org_qm": "371626"}
QUALIFIED = {"org_bz": "鲁民慈公募证字第3716001号（虚构）", "org_wf": "鲁民慈公募证字第3707001号（虚构）"}


def public_appeals(demo) -> None:
    s, d = demo.session, demo.made
    demo.tick()
    rng = random.Random(32)
    organisations = {name: getattr(d, name) for name in REGION_CODES}
    for name, org in organisations.items():
        org.uscc = generate_uscc(rng, REGION_CODES[name])
        if name in QUALIFIED:
            org.public_fundraising, org.public_fundraising_cert = True, QUALIFIED[name]
        s.add(org)
    s.flush()
    serial = 0
    for need in s.exec(select(Need).where(Need.kind.in_(PUBLIC_KINDS)).order_by(Need.id)):
        org = next(o for o in organisations.values() if o.id == need.organisation_id)
        holder = org if org.public_fundraising else d.org_bz
        serial += 1
        need.fundraiser_id = holder.id
        need.fundraising_filing = f"{holder.uscc}-2026-{serial:03d}"
        s.add(need)
    s.flush()
    staff = s.exec(select(User).where(User.email == "staff@qiming.example")).one()
    fund = d.community_funds["邹平市/黄山街道/齐明社区"]
    request = post_kinds.post_microgrant(
        s, d.org_qm, staff.id, key="demo-hchar-microgrant", title="独居老人家中暖气管爆裂，急需维修",
        amount=Money.yuan("680"), fund_id=fund.id, urgency=5, category="助困",
        region=d.org_qm.region, story="齐明社区一位独居老人家中暖气管夜间爆裂，需更换管道和阀门。")
    demo.tick()
    posting.submit_need(s, request, staff.id)
    d.hchar_waiting_microgrant = request
