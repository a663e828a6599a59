"""The demo's loading steps, in order. Every yuan moves through the services and so through
the ledger; no balance is written directly. Beneficiaries get pseudonyms; their private
fields are made up. Each step reads what earlier steps made from `demo.made`."""
from __future__ import annotations

import random
from datetime import date, timedelta
from types import SimpleNamespace

from sqlmodel import Session

from core import clock
from core.identifiers import id_check_digit
from core.money import Money
from core.users import Membership, User
from demo.data import (
    BINZHOU,
    BINZHOU_TOWNS,
    CANTEENS,
    CHILD_NAMES,
    COMMUNITY_NAMES,
    DEMO_DAYS,
    DONOR_NAMES,
    ENTERPRISES,
    FAMILY_NAMES,
    GOLDEN_SEEDS,
    HEPU,
    HOUYING,
    MICROGRANTS,
    START,
    VENTURE_PROJECTS,
    WEIFANG,
    WEIFANG_COUNTIES,
    WISHES,
    YIMI_PROJECTS,
    Y,
)
from demo.evidence import add_demo_evidence
from demo.h8a_data import demo_logins
from demo.h8b_data import charity_side
from demo.h10_data import matching_demo
from demo.h15_progress import progress_reports
from demo.h_give2_data import match_offer_and_gifts
from demo.public_appeals import public_appeals
from donors import services as donors
from funds import services as funds
from needs import funding, transfers
from needs import services as needs
from needs.grant_rules import approvals_needed


class Demo:
    """Steps a clock forward so the ledger reads like months of real activity. The history is
    written as if it began at START and is moved, by whole days, so that it ends before the
    moment the demo is loaded (core.clock): nothing on the site lies in the future."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ends = clock.now()
        self.shift = timedelta(days=(self.ends - timedelta(days=DEMO_DAYS) - START).days)
        self.moment = START + self.shift
        self.rng = random.Random(20261124)
        self.made = SimpleNamespace()  # what the steps have created, by name

    def on(self, day: date) -> date:
        """A date of the tables (deadlines, milestones), moved with the history."""
        return day + self.shift

    def check_ended_in_the_past(self) -> None:
        if self.moment > self.ends:
            raise RuntimeError(f"the demo's history runs past {self.ends}: raise DEMO_DAYS")

    def tick(self, minutes: int = 37) -> None:
        self.moment += timedelta(minutes=minutes)
        clock.set_now(self.moment)

    def user(self, email: str, name: str, role: str | None, **scope) -> User:
        """A user with one membership (none when role is None: a fund manager's memberships
        are added fund by fund, since the database refuses one without its fund)."""
        user = User(email=email, name=name)
        self.session.add(user)
        self.session.flush()
        if role is not None:
            self.session.add(Membership(user_id=user.id, role=role, **scope))
        return user

    def child(self, org, region: str, index: int, age_band: str = "6-11"):
        rng = self.rng
        family = FAMILY_NAMES[index % len(FAMILY_NAMES)]
        born = date(2010 + index % 10, 1 + index % 12, 1 + index % 28)
        body = f"371602{born:%Y%m%d}{index % 1000:03d}"  # synthetic but valid: one per child
        return needs.create_beneficiary(
            self.session, org, CHILD_NAMES[index % len(CHILD_NAMES)], age_band, region,
            full_name=family + rng.choice("子涵浩然欣怡梓轩雨桐宇航诗琪") + rng.choice("明华丽军"),
            id_number=body + id_check_digit(body), birth_date=born,
            address=f"{region.split('/')[-1]}{index + 1}号（虚构）",
            school=f"{region.split('/')[2]}第{1 + index % 5}小学（虚构）",
            guardian_phone=f"1380000{index:04d}")

    def verified_need(self, org, verifier, **kwargs):
        need = needs.create_need(self.session, org, **kwargs)
        needs.submit(self.session, need)
        needs.verify(self.session, need, verifier.id)
        return need


def people_organisations_and_programmes(demo: Demo) -> None:
    """Accounts (admin, verifiers), organisations and the eight programmes."""
    s, tick, d = demo.session, demo.tick, demo.made
    tick()
    d.admin = demo.user("admin@shanlian.example", "平台管理员", "admin")
    d.verifier = demo.user("verifier@binzhou.example", "滨州市民政局审核员", "verifier",
                         region=BINZHOU)
    d.hepu_verifier = demo.user("ertong@hepu.example", "合浦县儿童督导员", "verifier",
                              region=HEPU)

    d.org_bz = needs.create_organisation(s, "滨州市慈善总会", f"{BINZHOU}/滨城区", status="approved")
    d.org_wf = needs.create_organisation(s, "潍坊市慈善总会", f"{WEIFANG}/奎文区", status="approved")
    d.org_lc = needs.create_organisation(s, "聊城佳音社会工作服务中心", "山东省/聊城市/东昌府区",
                                       kind="social_work_station", status="approved")
    d.org_hp = needs.create_organisation(s, "合浦县未成年人保护中心", HEPU, kind="civil_affairs",
                                       status="approved")
    d.org_qm = needs.create_organisation(s, "邹平市齐明社区社会工作站",
                                       f"{BINZHOU}/邹平市/黄山街道/齐明社区",
                                       kind="social_work_station", status="approved")
    demo.user("charity@binzhou.example", "滨州市慈善总会", "org_admin", organisation_id=d.org_bz.id)

    d.prog = {}
    for code, name, region, organiser, summary in [
        ("yimi", "一米阳光", BINZHOU, "滨州市民政局",
         "民生定向捐助：助残、助老、助学、助困4大类13个民生项目，3年捐款超亿元，惠及30余万困难群众。"),
        ("cixin", "潍爱善行·慈心助学", WEIFANG, "潍坊市民政局",
         "重点困境儿童入学就读期间每人每学年1万元助学金，用于学费、住宿费和学习用品。"),
        ("shequ", "社区基金", BINZHOU, "滨州市民政局",
         "全市共设立社区基金147支，以互助形式第一时间解决群众身边的“小急难”。"),
        ("anxin", "“安心”纾困基金", BINZHOU, "12位爱心企业家",
         "全省第一家纾困基金，救助金额最高可达50万元。"),
        ("chuangtou", "公益慈善创投大赛", WEIFANG, "潍坊市民政局",
         "利用慈善资金100万元，资助10—15个社会组织优秀公益慈善项目，重点扶持助老扶幼、乡村振兴、基层治理。"),
        ("huanxin", "焕新乐园", HOUYING, "聊城市民政局、聊城市妇女联合会",
         "为困境儿童提供“居住空间改造+一年12次家庭陪伴服务”。"),
        ("canteen", "情暖夕阳·幸福餐桌", WEIFANG, "潍坊市民政局",
         "“养老+慈善”融合，支持已备案的助老食堂，打造老年助餐服务品牌。"),
        ("haisi", "海丝护童", HEPU, "合浦县民政局",
         "“海丝护童”公益平台的微心愿实现平台：困境儿童的小小心愿，由一位爱心人士整份认领。"),
    ]:
        d.prog[code] = needs.create_programme(s, code, name, region, summary, organiser,
                                            source="shared/seeds")


def donors_and_enterprises(demo: Demo) -> None:
    """Donors and enterprises."""
    s, _tick, d = demo.session, demo.tick, demo.made
    # Donors and enterprises.
    d.people = [donors.create_donor(s, name, show_name=(i % 4 == 0))
              for i, name in enumerate(DONOR_NAMES)]
    d.firms = [donors.create_enterprise(s, name, region) for name, region in ENTERPRISES]
    d.anxin_founders = [donors.create_enterprise(s, f"安心纾困基金发起企业{i + 1}号（示例）", BINZHOU)
                      for i in range(12)]
    for firm in d.firms:
        demo.user(f"{firm.code.lower()}@enterprise.example", firm.name, "enterprise_staff",
                  enterprise_id=firm.id)


def decided_grant(s: Session, fund, need, amount: Money, managers: list[User]) -> None:
    """A grant proposed and approved by as many of `managers` as the fund's rules ask."""
    grant = transfers.propose_grant(s, fund, need, amount, reason="社区基金小急难救助")
    for manager in managers[:approvals_needed(fund, amount)]:
        transfers.approve(s, grant, manager.id, reason="符合救助条件")


def community_funds_step(demo: Demo) -> None:
    """147 community funds across 滨州's seven county-level divisions, 21 in each."""
    s, tick, d = demo.session, demo.tick, demo.made
    d.managers = {county: demo.user(f"fund-{i}@binzhou.example", f"{county}社区基金管理员", None)
                for i, county in enumerate(BINZHOU_TOWNS)}
    # The second pair of eyes for grants above a fund's threshold.
    d.deputies = {county: demo.user(f"fund-{i}b@binzhou.example", f"{county}社区基金副管理员",
                                    None) for i, county in enumerate(BINZHOU_TOWNS)}
    d.community_funds = {}
    for county, town in BINZHOU_TOWNS.items():
        for name in COMMUNITY_NAMES:
            if name == "齐明" and county != "邹平市":
                name = "文昌"  # 齐明社区 is 邹平市's (a 全省“金种子” fund)
            path = f"{county}/{town}/{name}社区"
            fund = funds.create_fund(s, f"{county}{name}社区基金", f"{BINZHOU}/{path}",
                                     per_grant_cap=5_000 * Y, second_approval_over=2_000 * Y,
                                     programme_id=d.prog["shequ"].id, organisation_id=d.org_bz.id)
            d.community_funds[path] = fund
            s.add(Membership(user_id=d.managers[county].id, role="fund_manager", fund_id=fund.id))
            s.add(Membership(user_id=d.deputies[county].id, role="fund_manager", fund_id=fund.id))
    d.qiming_manager = demo.user("qiming@binzhou.example", "齐明社区基金管理员", "fund_manager",
                               fund_id=d.community_funds["邹平市/黄山街道/齐明社区"].id)
    for i, (path, fund) in enumerate(d.community_funds.items()):
        tick(3)
        seed_money = (30_000 if path in GOLDEN_SEEDS else 8_000 + (i * 977) % 12_000) * Y
        donors.enterprise_gift_to_fund(s, d.firms[i % 2], fund, seed_money)

    d.anxin = funds.create_fund(s, "“安心”纾困基金", BINZHOU, code="F-ANXIN",
                              per_grant_cap=500_000 * Y, second_approval_over=50_000 * Y,
                              need_kinds=["microgrant", "project"], programme_id=d.prog["anxin"].id,
                              organisation_id=d.org_bz.id)
    d.anxin.always_four_eyes = True  # every 安心纾困 grant has two approvers
    d.anxin_managers = [demo.user(f"anxin-{i}@binzhou.example", f"安心纾困基金管理员{i}",
                                  "fund_manager", fund_id=d.anxin.id) for i in (1, 2)]
    for i, founder in enumerate(d.anxin_founders):
        tick()
        donors.enterprise_gift_to_fund(s, founder, d.anxin, (100_000 + 25_000 * (i % 4)) * Y)
    d.venture = funds.create_fund(s, "公益慈善创投资金", WEIFANG, code="F-VENTURE",
                                per_grant_cap=100_000 * Y, need_kinds=["project"],
                                programme_id=d.prog["chuangtou"].id, organisation_id=d.org_wf.id)
    d.venture_managers = [demo.user(f"venture-{i}@weifang.example", f"创投资金评审{i}",
                                    "fund_manager", fund_id=d.venture.id) for i in (1, 2)]
    tick()
    donors.enterprise_gift_to_fund(s, d.firms[2], d.venture, 1_000_000 * Y)


def pledges(demo: Demo) -> None:
    """Enterprise pledges with their tranche schedules; the tranches due so far are paid in
    the way an admin confirms a bank transfer, so each pledge's tranches agree with what it
    has paid in (a later tranche stays due: the admin's confirmation list shows it)."""
    s, tick, d = demo.session, demo.tick, demo.made
    tick()
    today, next_year = demo.moment.date(), demo.moment.date() + timedelta(days=365)

    def pledge(firm, budget, paid, **rules):
        schedule = [(today, paid * Y)] + ([(next_year, (budget - paid) * Y)] if paid < budget
                                          else [])
        made = donors.create_pledge(s, firm, budget * Y, tranches=schedule, **rules)
        donors.confirm_tranche(s, donors.tranches_of(s, made)[0], d.admin.id)
        return made

    d.yimi_pledge = pledge(d.firms[0], 2_000_000, 1_500_000, title="鲁北爱心·一米阳光定向捐助",
                           categories=["助学", "助困"], regions=[BINZHOU],
                           programme_id=d.prog["yimi"].id)
    d.elder_pledge = pledge(d.firms[1], 800_000, 800_000, title="黄河三角洲·助老专项",
                            categories=["助老"], regions=[BINZHOU],
                            programme_id=d.prog["yimi"].id)
    d.study_pledge = pledge(d.firms[2], 100_000, 60_000, title="鸢都暖心·慈心助学",
                            categories=["助学"], regions=[WEIFANG],
                            need_kinds=["sponsorship"], per_beneficiary_cap=10_000 * Y,
                            programme_id=d.prog["cixin"].id)
    d.home_pledge = pledge(d.firms[3], 100_000, 50_000, title="水城公益·焕新乐园配捐",
                           regions=["山东省/聊城市"], need_kinds=["project"],
                           match_ratio_pct=100, programme_id=d.prog["huanxin"].id)
    d.wish_pledge = pledge(d.firms[4], 20_000, 5_000, title="海丝童心·微心愿认领",
                           regions=[HEPU], need_kinds=["wish"], per_grant_cap=2_000 * Y,
                           programme_id=d.prog["haisi"].id)


def yimi_projects(demo: Demo) -> None:
    """一米阳光: 13 projects, partly funded by the two pledges, some money disbursed."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (category, county, title, yuan, urgency, people_helped) in enumerate(YIMI_PROJECTS):
        tick(90)
        need = demo.verified_need(
            d.org_bz, d.verifier, kind="project", title=f"{county}{title}", amount=yuan * Y,
            category=category, region=f"{BINZHOU}/{county}", urgency=urgency,
            people=people_helped, deadline=demo.on(date(2027, 6, 30)), programme=d.prog["yimi"],
            story=f"“一米阳光”民生定向捐助{category}类项目：{title}，惠及{people_helped}人。")
        pledge = d.elder_pledge if category == "助老" else d.yimi_pledge
        if category in ("助学", "助困", "助老"):
            share = yuan * Y * (2 + i % 3) // 10
            tick()
            donors.allocate_from_pledge(s, pledge, need, share, reason="一米阳光定向捐助")
            if i % 3 == 0:
                tick(600)
                funding.disburse(s, need, share // 2, d.org_bz.name, memo="第一期项目款")
        donor = d.people[i % len(d.people)]
        tick()
        donors.donate_to_need(s, donor, need, (200 + 50 * i) * Y)


def cixin_sponsorships(demo: Demo) -> None:
    """慈心助学: ¥10,000 per student-year, whole."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, county in enumerate(WEIFANG_COUNTIES):
        tick(120)
        child = demo.child(d.org_wf, f"{WEIFANG}/{county}", 100 + i,
                           age_band=("6-11", "12-14", "15-17")[i % 3])
        need = demo.verified_need(
            d.org_wf, d.verifier, kind="sponsorship", title=f"{child.pseudonym}的2026—2027学年助学金",
            amount=10_000 * Y, category="助学", region=f"{WEIFANG}/{county}",
            urgency=4 if i % 2 else 3, deadline=demo.on(date(2027, 8, 31)), programme=d.prog["cixin"],
            beneficiary=child,
            story="重点困境儿童，入学就读期间每学年1万元助学金，用于学费、住宿费和学习用品。")
        if i < 6:
            tick()
            donors.allocate_from_pledge(s, d.study_pledge, need, 10_000 * Y, reason="慈心助学整年资助")
            if i < 3:
                tick(300)
                funding.disburse(s, need, 10_000 * Y, f"{county}教育局学生资助中心",
                                 memo="2026—2027学年助学金")
        elif i == 7:
            tick()
            donors.donate_to_need(s, d.people[3], need, 10_000 * Y)


def microgrants(demo: Demo) -> None:
    """社区基金 小急难 micro-grants, granted from the neighbourhood's own fund."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (path, title, yuan, urgency) in enumerate(MICROGRANTS):
        tick(200)
        fund = d.community_funds[path]
        need = demo.verified_need(
            d.org_qm if "齐明" in path else d.org_bz, d.verifier, kind="microgrant", title=title,
            amount=yuan * Y, category="助困" if urgency >= 4 else "社区",
            region=f"{BINZHOU}/{path}", urgency=urgency, deadline=demo.on(date(2026, 12, 31)),
            programme=d.prog["shequ"], story=f"{fund.name}小急难救助：{title}。")
        if i < 7:
            tick()
            county = path.split("/")[0]
            first = d.qiming_manager if "齐明" in path else d.managers[county]
            decided_grant(s, fund, need, yuan * Y, [first, d.deputies[county]])
            if i < 4:
                tick(120)
                funding.disburse(s, need, yuan * Y, d.org_qm.name if "齐明" in path else d.org_bz.name,
                                 memo="小急难救助金")


def anxin_relief(demo: Demo) -> None:
    """安心纾困基金: large relief grants up to ¥500,000."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (county, title, yuan) in enumerate([
            ("滨城区", "小微企业主突发重病家庭纾困", 320_000),
            ("邹平市", "重大火灾受灾家庭重建纾困", 500_000),
            ("无棣县", "渔民海上事故家庭纾困", 180_000)]):
        tick(400)
        need = demo.verified_need(
            d.org_bz, d.verifier, kind="microgrant" if yuan <= 200_000 else "project", title=title,
            amount=yuan * Y, category="助困", region=f"{BINZHOU}/{county}", urgency=5,
            people=4, deadline=demo.on(date(2027, 3, 31)), programme=d.prog["anxin"],
            story=f"“安心”纾困基金救助：{title}，救助金额最高可达50万元。")
        if i < 2:
            tick()
            decided_grant(s, d.anxin, need, yuan * Y, d.anxin_managers)


def venture_projects(demo: Demo) -> None:
    """公益慈善创投大赛: 12 projects, each granted from the ¥1,000,000 venture fund."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (category, county, title, yuan) in enumerate(VENTURE_PROJECTS):
        tick(150)
        need = demo.verified_need(
            d.org_wf, d.verifier, kind="project", title=title, amount=yuan * Y, category=category,
            region=f"{WEIFANG}/{county}", urgency=2 + i % 2, people=50 + 10 * i,
            deadline=demo.on(date(2027, 12, 31)), programme=d.prog["chuangtou"],
            story=f"2025年市管社会组织公益慈善创投大赛入选项目：{title}。")
        tick()
        decided_grant(s, d.venture, need, yuan * Y, d.venture_managers)
        if i % 2 == 0:
            tick(500)
            funding.disburse(s, need, yuan * Y // 2, f"{county}社会组织（入选单位）",
                             memo="创投资金首期拨付")


def huanxin_homes(demo: Demo) -> None:
    """焕新乐园: renovation + 12 family visits, paid by milestone; 配捐 1:1."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i in range(5):
        tick(240)
        child = demo.child(d.org_lc, f"{HOUYING}/侯营村" if i % 2 else f"{HOUYING}/前屯村", 200 + i,
                           age_band=("6-11", "12-14")[i % 2])
        need = demo.verified_need(
            d.org_lc, d.verifier, kind="project", title=f"{child.pseudonym}家的焕新小天地",
            amount=20_000 * Y, category="助学", region=f"{HOUYING}/侯营村", urgency=4,
            deadline=demo.on(date(2027, 7, 5)), programme=d.prog["huanxin"], beneficiary=child,
            story="设计团队根据孩子的年龄、兴趣量身定制改造方案，之后志愿者一年12次家庭陪伴："
                  "辅导作业、共读好书、趣味游戏。")
        steps = [("居住空间改造", 14_000 * Y, demo.on(date(2026, 9, 30)))] + [
            (f"第{k}次家庭陪伴", 500 * Y, demo.on(date(2026, 8, 1)) + timedelta(days=30 * k))
            for k in range(1, 13)]
        milestones = needs.add_milestones(s, need, steps)
        tick()
        donors.donate_to_need(s, d.people[(i + 5) % len(d.people)], need, 5_000 * Y)
        tick()
        donors.allocate_from_pledge(s, d.home_pledge, need, 5_000 * Y, reason="1:1 配捐")
        if i < 2:
            tick(60 * 24)
            funding.disburse(s, need, 8_000 * Y, d.org_lc.name, memo="居住空间改造首付",
                             milestone=milestones[0])
            for visit in milestones[1:4]:  # the first three of twelve family visits
                tick(60 * 24 * 30)
                funding.disburse(s, need, visit.amount, d.org_lc.name, memo=visit.title,
                                 milestone=visit)


def elder_canteens(demo: Demo) -> None:
    """情暖夕阳·幸福餐桌: elder canteens."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (county, town, community, yuan) in enumerate(CANTEENS):
        tick(180)
        need = demo.verified_need(
            d.org_wf, d.verifier, kind="project", title=f"{community}助老食堂（幸福餐桌）",
            amount=yuan * Y, category="助老", region=f"{WEIFANG}/{county}/{town}/{community}",
            urgency=3, people=80 + 20 * i, deadline=demo.on(date(2027, 5, 31)), programme=d.prog["canteen"],
            story="已备案的助老食堂，面向老年人口集中、助餐需求大的村（社区）。")
        for k in range(2 + i):
            tick()
            donors.donate_to_need(s, d.people[(i * 3 + k) % len(d.people)], need, (500 + 300 * k) * Y)


def haisi_wishes(demo: Demo) -> None:
    """海丝护童: 20 微心愿 in 合浦县, each claimed whole by one donor or the wish pledge."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, (town, village, wish, yuan) in enumerate(WISHES):
        tick(60)
        region = f"{HEPU}/{town}/{village}"
        child = demo.child(d.org_hp, region, i, age_band=("6-11", "12-14", "0-5")[i % 3])
        need = demo.verified_need(
            d.org_hp, d.hepu_verifier, kind="wish", title=f"{child.pseudonym}的心愿：{wish}",
            amount=yuan * Y, category="助学", region=region, urgency=2 + i % 3,
            deadline=demo.on(date(2026, 12, 31)), programme=d.prog["haisi"], beneficiary=child,
            story=f"“海丝护童”微心愿：{child.pseudonym}想要{wish}。由儿童主任核实，整份认领。")
        if i % 3 == 0:
            tick()
            donors.donate_to_need(s, d.people[i % len(d.people)], need, yuan * Y)
        elif i % 5 == 1:
            tick()
            donors.allocate_from_pledge(s, d.wish_pledge, need, yuan * Y, reason="微心愿整份认领")
        if i % 6 == 0:
            tick(24 * 60)
            funding.disburse(s, need, yuan * Y, d.org_hp.name, memo="心愿礼物已采购送达")


def gifts_to_funds(demo: Demo) -> None:
    """Individual gifts to a few community funds."""
    s, tick, d = demo.session, demo.tick, demo.made
    for i, path in enumerate(GOLDEN_SEEDS):
        tick()
        donors.donate_to_fund(s, d.people[(i + 7) % len(d.people)], d.community_funds[path],
                              (300 + 100 * i) * Y)


def awaiting_verification(demo: Demo) -> None:
    """Waiting for verification: never shown or matched until a verifier passes them."""
    s, tick, d = demo.session, demo.tick, demo.made
    tick()
    pending = needs.create_need(s, d.org_hp, kind="wish", title="待核实的心愿：一个书包",
                                amount=100 * Y, category="助学", region=f"{HEPU}/廉州镇/廉南村",
                                programme=d.prog["haisi"])
    needs.submit(s, pending)


def evidence_photos(demo: Demo) -> None:
    """Evidence photos for a few disbursements; their fake EXIF/GPS is stripped on upload."""
    s, tick = demo.session, demo.tick
    tick()
    add_demo_evidence(s)


STEPS = (
    people_organisations_and_programmes,
    donors_and_enterprises,
    community_funds_step,
    pledges,
    yimi_projects,
    cixin_sponsorships,
    microgrants,
    anxin_relief,
    venture_projects,
    huanxin_homes,
    elder_canteens,
    haisi_wishes,
    gifts_to_funds,
    awaiting_verification,
    evidence_photos,
    matching_demo,
    charity_side,
    public_appeals,
    demo_logins,
    progress_reports,
    match_offer_and_gifts,
)
