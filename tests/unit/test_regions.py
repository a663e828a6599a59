import pytest

from core.regions import Region, RegionError, children, county_display, county_path, within


def test_parse_known_paths_down_to_community():
    r = Region.parse("山东省/滨州市/邹平市/黄山街道/齐明社区")
    assert r.segments[-1] == "齐明社区"
    assert r.county == "山东省滨州市邹平市"


@pytest.mark.parametrize("bad", [
    "", "火星省", "山东省/杭州市", "山东省/滨州市/朝阳区", "山东省//滨州市",
    "山东省/滨州市/邹平市/黄山/齐明社区", "山东省/滨州市/邹平市/黄山街道/齐明",
    "山东省/滨州市/邹平市/黄山街道/齐明社区/一楼",
])
def test_unknown_or_malformed_regions_are_refused(bad):
    with pytest.raises(RegionError) as caught:
        Region.parse(bad)
    assert caught.value.message()  # a Chinese message for the user


def test_prefix_matches_whole_segments_only():
    assert within("山东省/滨州市/邹平市", "山东省/滨州市")
    assert within("山东省/滨州市", "山东省/滨州市")
    assert within("山东省/滨州市", "")
    assert not within("山东省/滨州市郊/某镇", "山东省/滨州市")
    assert not within("山东省/滨州", "山东省/滨州市")
    assert Region.parse("山东省/滨州市/邹平市").within("山东省/滨州市/")


def test_public_display_stops_at_county():
    path = "广西壮族自治区/北海市/合浦县/廉州镇/廉南村"
    assert county_display(path) == "广西壮族自治区北海市合浦县"
    assert county_path(path) == "广西壮族自治区/北海市/合浦县"
    assert "廉州镇" not in county_display(path)


def test_cascade_children():
    assert "山东省" in children("")
    assert "滨州市" in children("山东省")
    assert "邹平市" in children("山东省/滨州市")
    assert children("山东省/滨州市/邹平市") == []
    assert children("火星省") == []
