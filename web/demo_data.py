"""Demo data from the seed reports (shared/seeds): real programmes and figures, synthetic
people. Every yuan moves through the services and so through the ledger; no balance is
written directly. Beneficiaries get pseudonyms; their private fields are made up."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from core import clock
from core.users import Membership, User
from donors import services as donors
from funds import services as funds
from needs import funding
from needs import services as needs
from needs.models import Programme

Y = 100  # fen per yuan
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BINZHOU = "山东省/滨州市"
WEIFANG = "山东省/潍坊市"
HEPU = "广西壮族自治区/北海市/合浦县"
HOUYING = "山东省/聊城市/东昌府区/侯营镇"

BINZHOU_TOWNS = {
    "滨城区": "市中街道", "沾化区": "富源街道", "惠民县": "孙武街道", "阳信县": "信城街道",
    "无棣县": "棣丰街道", "博兴县": "博昌街道", "邹平市": "黄山街道",
}
COMMUNITY_NAMES = ("齐明", "幸福", "和平", "建设", "新华", "民安", "东关", "西城", "南苑", "北海",
                   "长安", "振兴", "育才", "丰收", "康乐", "福源", "惠民", "兴隆", "安居", "永和",
                   "阳光")
GOLDEN_SEEDS = ("邹平市/黄山街道/齐明社区", "滨城区/市中街道/幸福社区", "博兴县/博昌街道/和平社区",
                "惠民县/孙武街道/建设社区", "无棣县/棣丰街道/新华社区")

YIMI_PROJECTS = [  # 一米阳光: 13 projects in 4 categories (滨州)
    ("助困", "滨城区", "困难群众冬季取暖救助", 600_000, 5, 1200),
    ("助困", "沾化区", "低保边缘家庭临时救助", 400_000, 4, 300),
    ("助困", "惠民县", "低保、孤困儿童参加“医惠保”资助", 800_000, 4, 4000),
    ("助困", "阳信县", "分散特困人员第三方照护服务", 500_000, 4, 220),
    ("助老", "滨城区", "孝善食堂新建与规范提升", 690_000, 3, 2100),
    ("助老", "博兴县", "特困、低保失能老人居家养老服务", 470_000, 5, 470),
    ("助老", "邹平市", "养老机构除颤仪安装", 306_000, 3, 3000),
    ("助老", "无棣县", "认知障碍照护床位建设", 462_000, 3, 154),
    ("助学", "滨城区", "孤残儿童“接力助学”", 300_000, 4, 150),
    ("助学", "沾化区", "留守儿童“童心守护”关爱", 200_000, 3, 400),
    ("助学", "阳信县", "流动儿童“益童成长”课后服务", 180_000, 3, 260),
    ("助残", "邹平市", "精神障碍社区康复服务", 350_000, 4, 90),
    ("助残", "惠民县", "残疾人“筑梦添翼”辅具适配", 260_000, 3, 310),
]
WISHES = [  # 海丝护童 微心愿 (合浦县): (town, village, wish, yuan)
    ("廉州镇", "廉南村", "一个新书包", 120), ("公馆镇", "公馆村", "一件过冬的羽绒服", 260),
    ("西场镇", "西场村", "一辆上学骑的自行车", 680), ("沙岗镇", "沙岗村", "一本新华字典", 50),
    ("党江镇", "党江村", "一盏护眼台灯", 150), ("石湾镇", "石湾村", "一个篮球", 90),
    ("常乐镇", "常乐村", "一套课外读物", 200), ("闸口镇", "闸口村", "一双运动鞋", 180),
    ("山口镇", "山口村", "一副羽毛球拍", 160), ("白沙镇", "白沙村", "一台电子琴", 1200),
    ("廉州镇", "廉北村", "一套绘画工具", 140), ("公馆镇", "香山村", "一张书桌", 450),
    ("西场镇", "官井村", "一件校服冬装", 220), ("沙岗镇", "七星村", "一个保温水杯", 60),
    ("党江镇", "木案村", "一副眼镜", 380), ("石湾镇", "大浪村", "一套英语点读书", 300),
    ("常乐镇", "石山村", "一床新棉被", 280), ("闸口镇", "茶山村", "一块电话手表", 520),
    ("山口镇", "永安村", "一把小提琴", 1900), ("白沙镇", "油行村", "一套科学实验盒", 240),
]
CHILD_NAMES = ("小安", "小宇", "小禾", "小溪", "小舟", "小果", "小星", "小月", "小林", "小朵",
               "小川", "小梅", "小石", "小雨", "小帆", "小乐", "小芽", "小夏", "小航", "小晴")
FAMILY_NAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
WEIFANG_COUNTIES = ("奎文区", "潍城区", "寒亭区", "坊子区", "青州市", "诸城市", "寿光市",
                    "安丘市", "高密市", "昌邑市", "临朐县", "昌乐县")
CANTEENS = [("青州市", "王府街道", "东关社区", 60_000), ("寿光市", "圣城街道", "北关社区", 80_000),
            ("昌乐县", "宝城街道", "西关村", 45_000), ("临朐县", "城关街道", "龙泉村", 38_000),
            ("高密市", "朝阳街道", "康成社区", 52_000)]
VENTURE_PROJECTS = [  # 公益慈善创投大赛: ¥1,000,000 for 10–15 projects
    ("助老", "奎文区", "银龄互助“时间银行”", 90_000), ("助老", "潍城区", "高龄独居老人探访", 80_000),
    ("助学", "寒亭区", "乡村儿童周末课堂", 85_000), ("助学", "坊子区", "困境儿童心理陪伴", 75_000),
    ("社区", "诸城市", "乡村振兴妇女手工合作社", 95_000), ("社区", "安丘市", "村级议事会能力建设", 60_000),
    ("助老", "昌邑市", "农村助老食堂志愿服务", 70_000), ("助学", "青州市", "留守儿童“假期护苗”", 80_000),
    ("社区", "寿光市", "社区慈善基金能力培训", 65_000), ("助残", "高密市", "残疾人居家康复指导", 90_000),
    ("助老", "临朐县", "山区老人助浴服务", 100_000), ("助学", "昌乐县", "流动儿童阅读角", 60_000),
]
MICROGRANTS = [  # 小急难 from community funds: (fund path under 滨州, title, yuan, urgency)
    ("邹平市/黄山街道/齐明社区", "独居老人突发脑梗住院押金", 3000, 5),
    ("邹平市/黄山街道/齐明社区", "困难家庭孩子开学学杂费", 1500, 4),
    ("滨城区/市中街道/幸福社区", "火灾受损家庭临时安置", 4500, 5),
    ("博兴县/博昌街道/和平社区", "残疾人轮椅维修", 600, 3),
    ("惠民县/孙武街道/建设社区", "低保户冬季取暖煤", 1200, 4),
    ("无棣县/棣丰街道/新华社区", "环卫工人意外受伤医药费", 2800, 4),
    ("沾化区/富源街道/民安社区", "留守老人助听器", 900, 3),
    ("阳信县/信城街道/东关社区", "困难学生冬衣", 800, 3),
    ("滨城区/市中街道/西城社区", "失独老人门诊慢病药费", 2000, 4),
    ("邹平市/黄山街道/南苑社区", "单亲家庭房租临时周转", 3500, 4),
]
ENTERPRISES = [
    ("滨州鲁北爱心实业有限公司", BINZHOU), ("滨州黄河三角洲商贸有限公司", BINZHOU),
    ("潍坊鸢都暖心科技有限公司", WEIFANG), ("聊城水城公益家居有限公司", "山东省/聊城市"),
    ("北海海丝童心文化有限公司", "广西壮族自治区/北海市"),
]
DONOR_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷",
               "徐强", "孙丽", "马超", "朱琳", "胡斌", "郭佳", "何颖", "林峰", "罗琦", "高翔")


class Demo:
    """Steps a clock forward so the ledger reads like months of real activity."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.moment = START
        self.rng = random.Random(20261124)

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
        return needs.create_beneficiary(
            self.session, org, CHILD_NAMES[index % len(CHILD_NAMES)], age_band, region,
            full_name=family + rng.choice("子涵浩然欣怡梓轩雨桐宇航诗琪") + rng.choice("明华丽军"),
            id_number=f"000000{2010 + index % 10}0101{index:04d}",  # synthetic, not a real format
            birth_date=date(2010 + index % 10, 1 + index % 12, 1 + index % 28),
            address=f"{region.split('/')[-1]}{index + 1}号（虚构）",
            school=f"{region.split('/')[2]}第{1 + index % 5}小学（虚构）",
            guardian_phone=f"1380000{index:04d}")

    def verified_need(self, org, verifier, **kwargs):
        need = needs.create_need(self.session, org, **kwargs)
        needs.submit(self.session, need)
        needs.verify(self.session, need, verifier.id)
        return need


def load(session: Session) -> bool:
    """Load everything once; a second call finds the programmes and does nothing."""
    if session.exec(select(Programme).where(Programme.code == "yimi")).first():
        return False
    demo = Demo(session)
    try:
        _load(demo)
    finally:
        clock.set_now(None)
    return True


def _load(demo: Demo) -> None:  # noqa: PLR0915 — one linear script reads best here
    s, tick = demo.session, demo.tick
    tick()
    admin = demo.user("admin@shanlian.example", "平台管理员", "admin")
    verifier = demo.user("verifier@binzhou.example", "滨州市民政局审核员", "verifier",
                         region=BINZHOU)
    hepu_verifier = demo.user("ertong@hepu.example", "合浦县儿童督导员", "verifier",
                              region=HEPU)

    org_bz = needs.create_organisation(s, "滨州市慈善总会", f"{BINZHOU}/滨城区", status="approved")
    org_wf = needs.create_organisation(s, "潍坊市慈善总会", f"{WEIFANG}/奎文区", status="approved")
    org_lc = needs.create_organisation(s, "聊城佳音社会工作服务中心", "山东省/聊城市/东昌府区",
                                       kind="social_work_station", status="approved")
    org_hp = needs.create_organisation(s, "合浦县未成年人保护中心", HEPU, kind="civil_affairs",
                                       status="approved")
    org_qm = needs.create_organisation(s, "邹平市齐明社区社会工作站",
                                       f"{BINZHOU}/邹平市/黄山街道/齐明社区",
                                       kind="social_work_station", status="approved")
    demo.user("charity@binzhou.example", "滨州市慈善总会", "org_admin", organisation_id=org_bz.id)

    prog = {}
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
        prog[code] = needs.create_programme(s, code, name, region, summary, organiser,
                                            source="shared/seeds")

    # Donors and enterprises.
    people = [donors.create_donor(s, name, show_name=(i % 4 == 0))
              for i, name in enumerate(DONOR_NAMES)]
    firms = [donors.create_enterprise(s, name, region) for name, region in ENTERPRISES]
    anxin_founders = [donors.create_enterprise(s, f"安心纾困基金发起企业{i + 1}号（示例）", BINZHOU)
                      for i in range(12)]
    for firm in firms:
        demo.user(f"{firm.code.lower()}@enterprise.example", firm.name, "enterprise_staff",
                  enterprise_id=firm.id)

    # 147 community funds across 滨州's seven county-level divisions, 21 in each.
    managers = {county: demo.user(f"fund-{i}@binzhou.example", f"{county}社区基金管理员", None)
                for i, county in enumerate(BINZHOU_TOWNS)}
    community_funds = {}
    for county, town in BINZHOU_TOWNS.items():
        for name in COMMUNITY_NAMES:
            if name == "齐明" and county != "邹平市":
                name = "文昌"  # 齐明社区 is 邹平市's (a 全省“金种子” fund)
            path = f"{county}/{town}/{name}社区"
            fund = funds.create_fund(s, f"{county}{name}社区基金", f"{BINZHOU}/{path}",
                                     per_grant_cap=5_000 * Y, second_approval_over=2_000 * Y,
                                     programme_id=prog["shequ"].id, organisation_id=org_bz.id)
            community_funds[path] = fund
            s.add(Membership(user_id=managers[county].id, role="fund_manager", fund_id=fund.id))
    qiming_manager = demo.user("qiming@binzhou.example", "齐明社区基金管理员", "fund_manager",
                               fund_id=community_funds["邹平市/黄山街道/齐明社区"].id)
    for i, (path, fund) in enumerate(community_funds.items()):
        tick(3)
        seed_money = (30_000 if path in GOLDEN_SEEDS else 8_000 + (i * 977) % 12_000) * Y
        donors.enterprise_gift_to_fund(s, firms[i % 2], fund, seed_money)

    anxin = funds.create_fund(s, "“安心”纾困基金", BINZHOU, code="F-ANXIN",
                              per_grant_cap=500_000 * Y, second_approval_over=50_000 * Y,
                              need_kinds=["microgrant", "project"], programme_id=prog["anxin"].id,
                              organisation_id=org_bz.id)
    for i, founder in enumerate(anxin_founders):
        tick()
        donors.enterprise_gift_to_fund(s, founder, anxin, (100_000 + 25_000 * (i % 4)) * Y)
    venture = funds.create_fund(s, "公益慈善创投资金", WEIFANG, code="F-VENTURE",
                                per_grant_cap=100_000 * Y, need_kinds=["project"],
                                programme_id=prog["chuangtou"].id, organisation_id=org_wf.id)
    tick()
    donors.enterprise_gift_to_fund(s, firms[2], venture, 1_000_000 * Y)

    # Enterprise pledges, paid in.
    tick()
    yimi_pledge = donors.create_pledge(s, firms[0], 2_000_000 * Y, title="鲁北爱心·一米阳光定向捐助",
                                       categories=["助学", "助困"], regions=[BINZHOU],
                                       programme_id=prog["yimi"].id)
    donors.pay_pledge(s, yimi_pledge, 1_500_000 * Y, "pledge:PL-yimi-1")
    elder_pledge = donors.create_pledge(s, firms[1], 800_000 * Y, title="黄河三角洲·助老专项",
                                        categories=["助老"], regions=[BINZHOU],
                                        programme_id=prog["yimi"].id)
    donors.pay_pledge(s, elder_pledge, 800_000 * Y, "pledge:PL-elder-1")
    study_pledge = donors.create_pledge(s, firms[2], 100_000 * Y, title="鸢都暖心·慈心助学",
                                        categories=["助学"], regions=[WEIFANG],
                                        need_kinds=["sponsorship"], per_beneficiary_cap=10_000 * Y,
                                        programme_id=prog["cixin"].id)
    donors.pay_pledge(s, study_pledge, 60_000 * Y, "pledge:PL-study-1")
    home_pledge = donors.create_pledge(s, firms[3], 100_000 * Y, title="水城公益·焕新乐园配捐",
                                       regions=["山东省/聊城市"], need_kinds=["project"],
                                       match_ratio_pct=100, programme_id=prog["huanxin"].id)
    donors.pay_pledge(s, home_pledge, 50_000 * Y, "pledge:PL-home-1")
    wish_pledge = donors.create_pledge(s, firms[4], 20_000 * Y, title="海丝童心·微心愿认领",
                                       regions=[HEPU], need_kinds=["wish"],
                                       per_grant_cap=2_000 * Y, programme_id=prog["haisi"].id)
    donors.pay_pledge(s, wish_pledge, 5_000 * Y, "pledge:PL-wish-1")

    # 一米阳光: 13 projects, partly funded by the two pledges, some money disbursed.
    for i, (category, county, title, yuan, urgency, people_helped) in enumerate(YIMI_PROJECTS):
        tick(90)
        need = demo.verified_need(
            org_bz, verifier, kind="project", title=f"{county}{title}", amount=yuan * Y,
            category=category, region=f"{BINZHOU}/{county}", urgency=urgency,
            people=people_helped, deadline=date(2027, 6, 30), programme=prog["yimi"],
            story=f"“一米阳光”民生定向捐助{category}类项目：{title}，惠及{people_helped}人。")
        pledge = elder_pledge if category == "助老" else yimi_pledge
        if category in ("助学", "助困", "助老"):
            share = yuan * Y * (2 + i % 3) // 10
            tick()
            donors.allocate_from_pledge(s, pledge, need, share, reason="一米阳光定向捐助")
            if i % 3 == 0:
                tick(600)
                funding.disburse(s, need, share // 2, org_bz.name, memo="第一期项目款")
        donor = people[i % len(people)]
        tick()
        donors.donate_to_need(s, donor, need, (200 + 50 * i) * Y)

    # 慈心助学: ¥10,000 per student-year, whole.
    for i, county in enumerate(WEIFANG_COUNTIES):
        tick(120)
        child = demo.child(org_wf, f"{WEIFANG}/{county}", 100 + i,
                           age_band=("6-11", "12-14", "15-17")[i % 3])
        need = demo.verified_need(
            org_wf, verifier, kind="sponsorship", title=f"{child.pseudonym}的2026—2027学年助学金",
            amount=10_000 * Y, category="助学", region=f"{WEIFANG}/{county}",
            urgency=4 if i % 2 else 3, deadline=date(2027, 8, 31), programme=prog["cixin"],
            beneficiary=child,
            story="重点困境儿童，入学就读期间每学年1万元助学金，用于学费、住宿费和学习用品。")
        if i < 6:
            tick()
            donors.allocate_from_pledge(s, study_pledge, need, 10_000 * Y, reason="慈心助学整年资助")
            if i < 3:
                tick(300)
                funding.disburse(s, need, 10_000 * Y, f"{county}教育局学生资助中心",
                                 memo="2026—2027学年助学金")
        elif i == 7:
            tick()
            donors.donate_to_need(s, people[3], need, 10_000 * Y)

    # 社区基金 小急难 micro-grants, granted from the neighbourhood's own fund.
    for i, (path, title, yuan, urgency) in enumerate(MICROGRANTS):
        tick(200)
        fund = community_funds[path]
        need = demo.verified_need(
            org_qm if "齐明" in path else org_bz, verifier, kind="microgrant", title=title,
            amount=yuan * Y, category="助困" if urgency >= 4 else "社区",
            region=f"{BINZHOU}/{path}", urgency=urgency, deadline=date(2026, 12, 31),
            programme=prog["shequ"], story=f"{fund.name}小急难救助：{title}。")
        if i < 7:
            tick()
            funding.grant_from_fund(s, fund, need, yuan * Y, f"grant:{need.code}",
                                    actor_id=qiming_manager.id if "齐明" in path else None)
            if i < 4:
                tick(120)
                funding.disburse(s, need, yuan * Y, org_qm.name if "齐明" in path else org_bz.name,
                                 memo="小急难救助金")

    # 安心纾困基金: large relief grants up to ¥500,000.
    for i, (county, title, yuan) in enumerate([
            ("滨城区", "小微企业主突发重病家庭纾困", 320_000),
            ("邹平市", "重大火灾受灾家庭重建纾困", 500_000),
            ("无棣县", "渔民海上事故家庭纾困", 180_000)]):
        tick(400)
        need = demo.verified_need(
            org_bz, verifier, kind="microgrant" if yuan <= 200_000 else "project", title=title,
            amount=yuan * Y, category="助困", region=f"{BINZHOU}/{county}", urgency=5,
            people=4, deadline=date(2027, 3, 31), programme=prog["anxin"],
            story=f"“安心”纾困基金救助：{title}，救助金额最高可达50万元。")
        if i < 2:
            tick()
            funding.grant_from_fund(s, anxin, need, yuan * Y, f"grant:{need.code}",
                                    actor_id=admin.id)

    # 公益慈善创投大赛: 12 projects, each granted from the ¥1,000,000 venture fund.
    for i, (category, county, title, yuan) in enumerate(VENTURE_PROJECTS):
        tick(150)
        need = demo.verified_need(
            org_wf, verifier, kind="project", title=title, amount=yuan * Y, category=category,
            region=f"{WEIFANG}/{county}", urgency=2 + i % 2, people=50 + 10 * i,
            deadline=date(2027, 12, 31), programme=prog["chuangtou"],
            story=f"2025年市管社会组织公益慈善创投大赛入选项目：{title}。")
        tick()
        funding.grant_from_fund(s, venture, need, yuan * Y, f"grant:{need.code}")
        if i % 2 == 0:
            tick(500)
            funding.disburse(s, need, yuan * Y // 2, f"{county}社会组织（入选单位）",
                             memo="创投资金首期拨付")

    # 焕新乐园: renovation + 12 family visits, paid by milestone; 配捐 1:1.
    for i in range(5):
        tick(240)
        child = demo.child(org_lc, f"{HOUYING}/侯营村" if i % 2 else f"{HOUYING}/前屯村", 200 + i,
                           age_band=("6-11", "12-14")[i % 2])
        need = demo.verified_need(
            org_lc, verifier, kind="project", title=f"{child.pseudonym}家的焕新小天地",
            amount=20_000 * Y, category="助学", region=f"{HOUYING}/侯营村", urgency=4,
            deadline=date(2027, 7, 5), programme=prog["huanxin"], beneficiary=child,
            story="设计团队根据孩子的年龄、兴趣量身定制改造方案，之后志愿者一年12次家庭陪伴："
                  "辅导作业、共读好书、趣味游戏。")
        steps = [("居住空间改造", 14_000 * Y, date(2026, 9, 30))] + [
            (f"第{k}次家庭陪伴", 500 * Y, date(2026, 8, 1) + timedelta(days=30 * k))
            for k in range(1, 13)]
        milestones = needs.add_milestones(s, need, steps)
        tick()
        donors.donate_to_need(s, people[(i + 5) % len(people)], need, 5_000 * Y)
        tick()
        donors.allocate_from_pledge(s, home_pledge, need, 5_000 * Y, reason="1:1 配捐")
        if i < 2:
            tick(60 * 24)
            funding.disburse(s, need, 8_000 * Y, org_lc.name, memo="居住空间改造首付",
                             milestone=milestones[0])
            for visit in milestones[1:4]:  # the first three of twelve family visits
                tick(60 * 24 * 30)
                funding.disburse(s, need, visit.amount, org_lc.name, memo=visit.title,
                                 milestone=visit)

    # 情暖夕阳·幸福餐桌: elder canteens.
    for i, (county, town, community, yuan) in enumerate(CANTEENS):
        tick(180)
        need = demo.verified_need(
            org_wf, verifier, kind="project", title=f"{community}助老食堂（幸福餐桌）",
            amount=yuan * Y, category="助老", region=f"{WEIFANG}/{county}/{town}/{community}",
            urgency=3, people=80 + 20 * i, deadline=date(2027, 5, 31), programme=prog["canteen"],
            story="已备案的助老食堂，面向老年人口集中、助餐需求大的村（社区）。")
        for k in range(2 + i):
            tick()
            donors.donate_to_need(s, people[(i * 3 + k) % len(people)], need, (500 + 300 * k) * Y)

    # 海丝护童: 20 微心愿 in 合浦县, each claimed whole by one donor or the wish pledge.
    for i, (town, village, wish, yuan) in enumerate(WISHES):
        tick(60)
        region = f"{HEPU}/{town}/{village}"
        child = demo.child(org_hp, region, i, age_band=("6-11", "12-14", "0-5")[i % 3])
        need = demo.verified_need(
            org_hp, hepu_verifier, kind="wish", title=f"{child.pseudonym}的心愿：{wish}",
            amount=yuan * Y, category="助学", region=region, urgency=2 + i % 3,
            deadline=date(2026, 12, 31), programme=prog["haisi"], beneficiary=child,
            story=f"“海丝护童”微心愿：{child.pseudonym}想要{wish}。由儿童主任核实，整份认领。")
        if i % 3 == 0:
            tick()
            donors.donate_to_need(s, people[i % len(people)], need, yuan * Y)
        elif i % 5 == 1:
            tick()
            donors.allocate_from_pledge(s, wish_pledge, need, yuan * Y, reason="微心愿整份认领")
        if i % 6 == 0:
            tick(24 * 60)
            funding.disburse(s, need, yuan * Y, org_hp.name, memo="心愿礼物已采购送达")

    # Individual gifts to a few community funds.
    for i, path in enumerate(GOLDEN_SEEDS):
        tick()
        donors.donate_to_fund(s, people[(i + 7) % len(people)], community_funds[path],
                              (300 + 100 * i) * Y)

    # Waiting for verification: never shown or matched until a verifier passes them.
    tick()
    pending = needs.create_need(s, org_hp, kind="wish", title="待核实的心愿：一个书包",
                                amount=100 * Y, category="助学", region=f"{HEPU}/廉州镇/廉南村",
                                programme=prog["haisi"])
    needs.submit(s, pending)

    # Evidence photos for a few disbursements; their fake EXIF/GPS is stripped on upload.
    from web.demo_evidence import add_demo_evidence

    tick()
    add_demo_evidence(s)
