"""Demo data for the charity side: a staff account of 邹平市齐明社区社会工作站 and a 微心愿
it posted through the same services as the web form, submitted and waiting in the 滨州
verifier's queue, with a near-duplicate beneficiary flagged (another organisation's child
of the same birth date and a similar name and address)."""
from __future__ import annotations

import random
from datetime import date

from core.identifiers import generate_id_number
from core.money import Money
from needs import posting
from needs.duplicates import hash_key

QIMING = "山东省/滨州市/邹平市/黄山街道/齐明社区"


def charity_side(demo) -> None:
    s, d = demo.session, demo.made
    demo.tick()
    rng = random.Random(8)
    key = hash_key(debug=True)  # BENEFICIARY_HASH_KEY when set
    staff = demo.user("staff@qiming.example", "齐明社工站社工", "org_staff",
                      organisation_id=d.org_qm.id)
    born = date(2015, 3, 14)

    def child(org, pseudonym, name, address, seed):
        return posting.add_beneficiary(s, org, posting.NewBeneficiary(
            pseudonym=pseudonym, full_name=name, region=QIMING, address=address,
            id_number=generate_id_number(random.Random(seed), born, "371626"),
            school="齐明小学（虚构）", guardian="刘桂芝（虚构）", consent_by="刘桂芝（虚构）",
            consent_on=date(2026, 10, 8), allow_photo=True, allow_story=True), staff.id, key)

    # Entered earlier by 滨州市慈善总会, then again by 齐明 under a slightly different name.
    child(d.org_bz, "小雨", "刘雨桐", "邹平市黄山街道齐明社区12号（虚构）", rng.randint(0, 9999))
    person = child(d.org_qm, "小桐", "刘雨彤", "邹平市黄山街道齐明社区12号楼（虚构）",
                   rng.randint(0, 9999))
    need = posting.post_wish(s, d.org_qm, staff.id, key="demo-h8b-wish", title="小桐的心愿：一盏护眼台灯",
                             item="护眼台灯", price=Money.yuan("129"), category="助学",
                             region=QIMING, beneficiary=person,
                             story="小桐上三年级，晚上在昏暗的灯下写作业。")
    demo.tick()
    posting.submit_need(s, need, staff.id)
    d.h8b_waiting_wish = need
