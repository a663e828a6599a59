"""Demo data for matching in the platform (issue 10): a three-year 助学 pledge in 滨州 with
its first tranche confirmed, the enterprise reviewers who answer proposals, and a few open
needs its rules fit — so the first `flask --app web matching run` proposes something
visible (the pledge's money to 滨州's study needs, community funds' money to 小急难)."""
from __future__ import annotations

from datetime import date

from demo.data import BINZHOU
from donors import services as donors

Y = 100  # fen per yuan

STUDY_NEEDS = [  # (county, title, yuan, urgency)
    ("邹平市", "困境儿童冬季校服和棉鞋", 800, 5),
    ("惠民县", "留守儿童图书角", 6_000, 4),
    ("博兴县", "听障学生助听设备", 12_000, 4),
]


def matching_demo(demo) -> None:
    s, tick, d = demo.session, demo.tick, demo.made
    tick()
    firm = d.firms[0]
    pledge = donors.create_pledge(
        s, firm, 300_000 * Y, title="鲁北爱心·三年助学计划（2026—2028）", categories=["助学"],
        regions=[BINZHOU], need_kinds=["wish", "project", "sponsorship"],
        per_grant_cap=50_000 * Y, period_start=demo.on(date(2026, 1, 1)),
        period_end=demo.on(date(2028, 12, 31)),
        tranches=[(demo.on(date(2026, 1, 1)), 100_000 * Y), (demo.on(date(2027, 1, 1)), 100_000 * Y),
                  (demo.on(date(2028, 1, 1)), 100_000 * Y)])
    donors.confirm_tranche(s, donors.tranches_of(s, pledge)[0], d.admin.id)
    d.reviewers = [demo.user(f"reviewer-{i}@firm.example", f"{f.name}审核人", "enterprise_reviewer",
                             enterprise_id=f.id) for i, f in enumerate(d.firms[:5])]
    for county, title, yuan, urgency in STUDY_NEEDS:
        tick(30)
        demo.verified_need(
            d.org_bz, d.verifier, kind="project", title=f"{county}{title}", amount=yuan * Y,
            category="助学", region=f"{BINZHOU}/{county}", urgency=urgency, people=20,
            deadline=demo.on(date(2027, 6, 30)), programme=d.prog["yimi"],
            story=f"{title}：等待爱心企业认捐匹配。")
