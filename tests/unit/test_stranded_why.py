"""The run summary's "why is this money stranded" uses an index built in one pass over the
needs; it must answer exactly what the plain scan of every need per source answers."""
import random

from donors.matching_runs import _eligibility_index, _stranded_why

REGIONS = ["山东省/滨州市/邹平市/黄山街道/齐明社区", "山东省/滨州市/惠民县", "山东省/潍坊市/青州市/城北街道",
           "广西壮族自治区/北海市/合浦县"]
PREFIXES = ["山东省", "山东省/滨州市", "山东省/滨州市/邹平市", "山东省/潍坊市",
            "山东省/滨州市/邹平市/黄山街道/齐明社区", "广西壮族自治区/北海市/合浦县", "山东省/聊城市"]
CATEGORIES = ["助困", "助学", "助老"]
KINDS = ["wish", "project", "microgrant"]


def _scan(source, needs, given_to):
    """The definition: look at every need."""
    regions, cats, kinds = source["regions"], source["categories"], source["need_kinds"]
    eligible = [n for n in needs
                if (not regions or any(n["region"] == r or n["region"].startswith(r + "/")
                                       for r in regions))
                and (not cats or n["category"] in cats) and (not kinds or n["kind"] in kinds)]
    if not eligible:
        return "no_eligible_need"
    cap = source.get("per_grant_cap")
    if cap is not None and all(n["whole"] and n["amount"] - n["funded"] > cap for n in eligible):
        return "caps"
    if all(given_to.get(n["id"], 0) >= n["amount"] - n["funded"] for n in eligible):
        return "eligible_needs_met"
    return "caps"


def test_index_answers_like_the_scan():
    rng = random.Random(3)
    seen = set()
    for _round in range(200):
        needs = []
        for i in range(rng.randint(0, 12)):
            amount = rng.choice((100, 500, 2_000))
            needs.append({"id": f"N{i}", "region": rng.choice(REGIONS), "amount": amount,
                          "funded": rng.choice((0, 0, amount // 2)), "whole": rng.random() < .5,
                          "category": rng.choice(CATEGORIES), "kind": rng.choice(KINDS)})
        given_to = {n["id"]: n["amount"] - n["funded"] for n in needs if rng.random() < .4}
        sources = [{"regions": rng.sample(PREFIXES, rng.randint(0, 2)),
                    "categories": rng.sample(CATEGORIES, rng.randint(0, 2)),
                    "need_kinds": rng.sample(KINDS, rng.randint(0, 2)),
                    "per_grant_cap": rng.choice((None, 300, 1_000))} for _ in range(10)]
        full = _eligibility_index(needs, given_to)
        wanted = {r for s in sources for r in s["regions"] or ["*"]}
        narrow = _eligibility_index(needs, given_to, wanted)  # only what the sources ask
        for source in sources:
            expected = _scan(source, needs, given_to)
            assert _stranded_why(source, full) == expected, (source, needs, given_to)
            assert _stranded_why(source, narrow) == expected, (source, needs, given_to)
            seen.add(expected)
    assert seen == {"no_eligible_need", "caps", "eligible_needs_met"}  # every answer tried
