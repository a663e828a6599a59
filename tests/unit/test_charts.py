"""Server-side SVG charts: accessible, proportional, escaped, and fine with no data."""
import re
from xml.etree import ElementTree

from web.charts import column_chart, hbar_chart

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))


def _bars(root):
    return [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]


def test_hbar_is_an_accessible_image_with_proportional_bars():
    svg = hbar_chart("按类别", [("助学", (40_000, 10_000)), ("助老", (20_000, 0))],
                     ["已筹", "已拨付"], desc="各类别已筹与已拨付")
    root = _parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title.text == "按类别" and desc.text == "各类别已筹与已拨付"
    assert set(root.get("aria-labelledby").split()) == {title.get("id"), desc.get("id")}
    widths = [int(r.get("width")) for r in _bars(root)]
    assert widths[0] == 2 * widths[2] == 4 * widths[1]  # 40k : 20k : 10k
    assert widths[3] == 0  # a zero bar has no width
    assert "¥400.00" in svg and "助学 · 已筹 · ¥400.00" in svg


def test_column_heights_follow_values_and_every_column_is_labelled():
    svg = column_chart("每月", [("2026-06", (300, 100)), ("2026-07", (150, 0))], ["筹集", "拨付"])
    heights = [int(r.get("height")) for r in _bars(_parse(svg))]
    assert heights[0] == 2 * heights[2] == 3 * heights[1] and heights[3] == 0
    assert "2026-06" in svg and "2026-07" in svg


def test_labels_are_escaped():
    svg = hbar_chart("<script>x</script>", [("<b>&", (1, 1))], ["a\"b", "c"])
    assert "<script>" not in svg and "<b>" not in svg
    _parse(svg)  # still well-formed XML


def test_empty_charts_say_so():
    for svg in (hbar_chart("空", [], ["a"]), column_chart("空", [], ["a"])):
        assert "暂无数据" in svg
        assert not _bars(_parse(svg))


def test_no_float_coordinates():
    svg = hbar_chart("t", [("a", (3,)), ("b", (7,))], ["s"])
    assert not re.search(r'(width|height|x|y)="\d+\.\d+', str(svg))


def test_text_is_never_smaller_than_readable_and_the_chart_is_not_scaled():
    months = [(f"2025-{m:02d}", (m * 100, m * 50)) for m in range(1, 13)]
    for svg in (column_chart("每月", months, ["筹集", "拨付"]),
                hbar_chart("按类别", [("助学", (1, 2))], ["已筹", "已拨付"])):
        root = _parse(svg)
        sizes = [int(t.get("font-size")) for t in root.iter(f"{NS}text")]
        assert sizes and min(sizes) >= 12
        # drawn at its natural size: width/height in px equal the viewBox
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"


def test_month_labels_are_thinned_out_so_they_never_touch():
    months = [(f"2025-{m:02d}", (m, m)) for m in range(1, 13)]
    root = _parse(column_chart("每月", months, ["筹集", "拨付"]))
    labels = [t for t in root.iter(f"{NS}text") if re.fullmatch(r"2025-\d\d", t.text or "")]
    xs = [int(t.get("x")) for t in labels]
    assert 2 <= len(labels) < 12 and labels[0].text == "2025-01"
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 64  # ≥ a label's width


def test_empty_text_is_the_callers_words():
    assert "No data" in hbar_chart("x", [], ["a"], empty="No data")


def test_the_axis_top_value_is_drawn_whole_inside_the_chart():
    """"¥3,339,800.00" right-aligned at a fixed x=72 began left of the SVG: the page showed
    ",339,800.00". The margin now leaves room for the whole label."""
    from web.charts import FONT, _text_px

    svg = column_chart("每月", [("2026-05", (333_980_000, 1)), ("2026-06", (5, 5))],
                       ["筹集", "拨付"])
    label = next(t for t in _parse(svg).iter(f"{NS}text") if t.text == "¥3,339,800.00")
    assert label.get("text-anchor") == "end"
    assert int(label.get("x")) - _text_px(label.text) >= 0
    assert _text_px("¥3,339,800.00") >= 13 * FONT * 0.6  # not a lowball estimate
