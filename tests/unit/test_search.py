"""The forgiving search index (needs.search): typos, pinyin, initials, traditional characters."""
import pytest

from needs.search import IndexCache, SearchIndex, SearchRow, normalize, pinyin, tokens

ROWS = [
    SearchRow(1, "滨城区困难学生助学项目", "一米阳光民生定向捐助助学类项目，惠及120人。", "一米阳光",
              "滨州市慈善总会", "山东省/滨州市/滨城区", "助学", "project"),
    SearchRow(2, "小川的2026—2027学年助学金", "重点困境儿童，每学年1万元助学金。", "潍爱善行·慈心助学",
              "潍坊市慈善总会", "山东省/潍坊市/青州市", "助学", "sponsorship"),
    SearchRow(3, "幸福餐桌助老食堂改造", "老年助餐服务，支持已备案的助老食堂。", "情暖夕阳·幸福餐桌",
              "潍坊市慈善总会", "山东省/潍坊市/奎文区/北海路街道/幸福社区", "助老", "project"),
    SearchRow(4, "小安的心愿：一个新书包", "想要一个新书包去上学。", "海丝护童",
              "合浦县未成年人保护中心", "广西壮族自治区/北海市/合浦县/廉州镇/廉南村", "助学", "wish"),
    SearchRow(5, "火灾受损家庭临时安置", "突发火灾，房屋受损，需要临时安置。", "社区基金",
              "邹平市齐明社区社会工作站", "山东省/滨州市/邹平市/黄山街道/齐明社区", "助困", "microgrant"),
    SearchRow(6, "残疾人康复训练器材", "为残疾人购置康复训练器材，其中提到书包捐赠。", "一米阳光",
              "滨州市慈善总会", "山东省/滨州市/惠民县", "助残", "project"),
]


@pytest.fixture(scope="module")
def index():
    return SearchIndex.build(ROWS)


def ids(index, q, limit=10):
    return [h.id for h in index.search(q, limit)]


def test_exact_chinese_finds_the_need(index):
    assert ids(index, "书包")[0] == 4
    assert ids(index, "火灾") == [5]


def test_typo_in_chinese_still_finds_it(index):
    assert ids(index, "幸福餐卓")[0] == 3      # 桌 → 卓, a homophone typo
    assert ids(index, "一米阳关")[0] in (1, 6)  # 光 → 关
    assert ids(index, "临时安直") == [5]         # 置 → 直


def test_typo_in_pinyin_still_finds_it(index):
    assert ids(index, "kangfuxunlian")[0] == 6
    assert ids(index, "kangfuxunlain")[0] == 6  # two letters swapped
    found = ids(index, "zhuxeu")                  # ... in short pinyin too (助学)
    assert set(found) >= {1, 2, 4} and 5 not in found


def test_full_pinyin(index):
    found = ids(index, "zhuxue")
    assert set(found) >= {1, 2, 4} and 5 not in found
    assert ids(index, "shubao")[0] == 4
    assert ids(index, "shu bao")[0] == 4


def test_pinyin_initials(index):
    found = ids(index, "zx")  # 助学
    assert {1, 2} <= set(found) and 5 not in found
    assert ids(index, "xsb")[0] == 4  # 新书包


def test_traditional_characters(index):
    assert ids(index, "助學")[:3] == ids(index, "助学")[:3]
    assert ids(index, "書包")[0] == 4
    assert ids(index, "火災") == [5]
    assert normalize("愛心助學") == "爱心助学"


def test_full_width_and_case_are_folded(index):
    assert ids(index, "ＳＨＵＢＡＯ")[0] == 4
    assert ids(index, "ShuBao")[0] == 4


def test_empty_and_garbage_queries_find_nothing(index):
    for q in ("", "   ", "!!!", "？？", "q", "qqqqqq", "xyzxyzxyz", "😀😀", "\x00\x01"):
        assert index.search(q) == [], q
    assert tokens("!!! ...") == []


def test_very_long_query_is_cut_not_slow(index):
    assert isinstance(index.search("助学" * 1000), list)


def test_region_is_searchable_at_county_level_only(index):
    assert ids(index, "合浦")[0] == 4
    assert ids(index, "邹平")[0] == 5
    # Towns and villages below the county never reach the index (a child's village is private).
    assert ids(index, "廉南村") == []
    assert ids(index, "廉州镇") == []
    assert ids(index, "北海路街道") == []


def test_programme_and_organisation_names_are_searchable(index):
    assert ids(index, "海丝护童") == [4]
    assert ids(index, "齐明社区社会工作站")[0] == 5


def test_ranking_title_before_story(index):
    # 书包 is in need 4's title and only in need 6's story.
    found = ids(index, "书包")
    assert found.index(4) < found.index(6)


def test_ranking_all_tokens_must_match(index):
    found = ids(index, "潍坊 助老")
    assert found[0] == 3
    assert 1 not in found and 5 not in found  # neither in 潍坊 nor 助老


def test_limit_is_respected(index):
    assert len(index.search("助学", limit=2)) == 2
    assert index.search("助学", limit=0) == []


def test_empty_index():
    assert SearchIndex.build([]).search("助学") == []


def test_pinyin_helper():
    assert pinyin("助学2026") == ("zhuxue2026", "zx2026")


def test_cache_rebuilds_when_the_marker_changes():
    cache = IndexCache()
    rows = list(ROWS[:2])
    marker = [1]
    loads = []

    def load():
        loads.append(1)
        return list(rows)

    assert [h.id for h in cache.get(lambda: marker[0], load).search("书包")] == []
    assert len(loads) == 1
    cache.get(lambda: marker[0], load)
    assert len(loads) == 1  # unchanged marker: no reload
    rows.append(ROWS[3])
    marker[0] = 2
    assert [h.id for h in cache.get(lambda: marker[0], load).search("书包")] == [4]
    assert len(loads) == 2
    cache.invalidate()
    cache.get(lambda: marker[0], load)
    assert len(loads) == 3


def test_numbers_match_exactly_not_fuzzily(index):
    assert ids(index, "2026") == [2]
    assert ids(index, "2028") == []
    assert ids(index, "370602201305041234") == []  # an ID-number-like query finds nothing


def test_cache_rebuilds_an_old_index_even_if_the_marker_stays():
    cache = IndexCache(max_age=0.0)
    loads = []

    def load():
        loads.append(1)
        return ROWS

    cache.get(lambda: 1, load)
    cache.get(lambda: 1, load)
    assert len(loads) == 2


def test_cache_rebuilds_large_indexes_in_the_background():
    import threading

    cache = IndexCache(sync_below=1, check_every=0.0)
    marker = [1]
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return ROWS

    first = cache.get(lambda: marker[0], lambda: ROWS[:1], slow)
    assert [h.id for h in first.search("书包")] == []
    marker[0] = 2
    assert cache.get(lambda: marker[0], lambda: ROWS[:1], slow) is first  # old one answers
    assert started.wait(5)
    release.set()
    for _ in range(100):
        index = cache.get(lambda: marker[0], lambda: ROWS[:1], slow)
        if index is not first:
            break
        threading.Event().wait(0.02)
    assert [h.id for h in index.search("书包")][0] == 4


def test_large_indexes_read_the_marker_at_most_every_check_every_seconds():
    cache = IndexCache(sync_below=1, check_every=60.0)
    reads = []

    def marker():
        reads.append(1)
        return 1

    first = cache.get(marker, lambda: ROWS)
    for _ in range(5):
        assert cache.get(marker, lambda: ROWS) is first
    assert len(reads) == 1
    small = IndexCache(sync_below=10_000, check_every=60.0)  # small: read every time
    small.get(marker, lambda: ROWS)
    small.get(marker, lambda: ROWS)
    assert len(reads) == 3
