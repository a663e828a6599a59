"""Small server-side SVG charts: no JavaScript, no chart library, no CDN.

Every chart is an <svg role="img"> with a <title> and <desc> (and a <title> on each bar so a
pointer shows the value); the templates put a data table next to it for anyone who cannot
see the picture. Values are integers (fen); coordinates are computed with integer maths.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from core.money import fmt

PALETTE = ("#b3261e", "#1f5f8b", "#5b7f2a", "#8a5a00")  # contrast ≥ 3:1 on white
FONT = 12  # every text is at least this many px: the SVG is drawn at its natural size
AXIS_LABEL_PX = 64  # an axis label needs about this much room ("2026-06" at 12 px)
_ids = itertools.count(1)


def _svg_open(width: int, height: int, title: str, desc: str) -> tuple[str, str]:
    uid = f"chart{next(_ids)}"
    # width/height in px: never scaled down (text stays readable); a wide chart scrolls in its box.
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" '
            f'role="img" aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMinYMin meet">'
            f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>')
    return uid, head


def _legend(series: Sequence[str], x: int, y: int) -> str:
    parts = []
    for i, name in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y}" font-size="{FONT}">{escape(name)}</text>')
        x += 16 + (FONT + 2) * len(name) + 24
    return "".join(parts)


def _scale(value: int, top: int, span: int) -> int:
    """Pixels for `value` on an axis of `span` pixels whose maximum is `top` (integer)."""
    if top <= 0 or value <= 0:
        return 0
    return max(1, value * span // top)


def hbar_chart(title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str],
               *, desc: str = "", value_fmt: Callable[[int], str] = fmt,
               width: int = 600, empty: str = "暂无数据") -> Markup:
    """Horizontal grouped bars: one group per row label, one bar per series."""
    label_w, bar_h, gap = 150, 14, 10
    group_h = bar_h * len(series) + gap
    height = 30 + group_h * max(1, len(rows)) + 10
    top = max((v for _l, values in rows for v in values), default=0)
    span = width - label_w - 110
    _uid, svg = _svg_open(width, height, title, desc or title)
    svg += _legend(series, label_w, 16)
    y = 30
    for label, values in rows:
        svg += (f'<text x="{label_w - 6}" y="{y + bar_h * len(series) // 2 + 4}" '
                f'text-anchor="end" font-size="{FONT}">{escape(_short(label, 12))}</text>')
        for i, value in enumerate(values):
            w = _scale(int(value), top, span)
            colour = PALETTE[i % len(PALETTE)]
            text = f"{label} · {series[i]} · {value_fmt(int(value))}"
            svg += (f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h - 2}" '
                    f'fill="{colour}"><title>{escape(text)}</title></rect>'
                    f'<text x="{label_w + w + 4}" y="{y + bar_h - 3}" font-size="{FONT}">'
                    f'{escape(value_fmt(int(value)))}</text>')
            y += bar_h
        y += gap
    if not rows:
        svg += f'<text x="{label_w}" y="50" font-size="{FONT}">{escape(empty)}</text>'
    return Markup(svg + "</svg>")


def column_chart(title: str, columns: Sequence[tuple[str, Sequence[int]]], series: Sequence[str],
                 *, desc: str = "", value_fmt: Callable[[int], str] = fmt,
                 height: int = 240, empty: str = "暂无数据") -> Markup:
    """Vertical grouped columns over time (e.g. months): raised vs disbursed."""
    bottom, top_pad, bar_w, gap = 30, 30, 14, 14
    top = max((v for _l, values in columns for v in values), default=0)
    # The axis's top value is drawn right-aligned left of the plot: leave room for all of it
    # (a fixed 80 px cut "¥3,339,800.00" to ",339,800.00").
    left = max(48, _text_px(value_fmt(top)) + 12)
    group_w = bar_w * len(series) + gap
    width = max(320, left + group_w * max(1, len(columns)) + 20)
    plot_h = height - bottom - top_pad
    _uid, svg = _svg_open(width, height, title, desc or title)
    svg += _legend(series, left, 16)
    base = height - bottom
    every = -(-AXIS_LABEL_PX // group_w)  # thin out the month labels so they never touch
    svg += (f'<line x1="{left - 4}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#4a4a4f"/>'
            f'<text x="{left - 8}" y="{top_pad + 10}" text-anchor="end" font-size="{FONT}">'
            f'{escape(value_fmt(top))}</text>'
            f'<text x="{left - 8}" y="{base}" text-anchor="end" font-size="{FONT}">0</text>')
    x = left
    for index, (label, values) in enumerate(columns):
        for i, value in enumerate(values):
            h = _scale(int(value), top, plot_h)
            colour = PALETTE[i % len(PALETTE)]
            text = f"{label} · {series[i]} · {value_fmt(int(value))}"
            svg += (f'<rect x="{x + i * bar_w}" y="{base - h}" width="{bar_w - 2}" height="{h}" '
                    f'fill="{colour}"><title>{escape(text)}</title></rect>')
        if index % every == 0:
            svg += (f'<text x="{x + bar_w * len(series) // 2}" y="{base + 16}" '
                    f'text-anchor="middle" font-size="{FONT}">{escape(label)}</text>')
        x += group_w
    if not columns:
        svg += f'<text x="{left}" y="{height // 2}" font-size="{FONT}">{escape(empty)}</text>'
    return Markup(svg + "</svg>")


def _text_px(text: str) -> int:
    """A generous width of `text` at FONT px: CJK and full-width characters are one em,
    everything else about 0.62 em (digits and separators in a sans font)."""
    return int(sum(FONT if ord(ch) > 0x2E80 else FONT * 0.62 for ch in text)) + 1


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def grid_map(title: str, groups: Sequence[tuple[str, Sequence[tuple[str, int, str]]]], *,
             desc: str = "", value_fmt: Callable[[int], str] = fmt, width: int = 600,
             empty: str = "暂无数据") -> Markup:
    """A choropleth-like grid instead of a map (no tiles, no shapes to download): one row of
    cells per group (a city), one cell per place (a county) shaded by its value against the
    largest, with its label, its value and a <title> (`tooltip`) for the pointer."""
    label_w, cell_w, cell_h, gap = 150, 84, 44, 4
    per_line = max(1, (width - label_w) // (cell_w + gap))
    lines = [max(1, -(-len(cells) // per_line)) for _label, cells in groups]
    height = 10 + sum(n * (cell_h + gap) + 8 for n in lines) + (30 if not groups else 0)
    top = max((value for _l, cells in groups for _n, value, _t in cells), default=0)
    _uid, svg = _svg_open(width, height, title, desc or title)
    y = 10
    for (label, cells), count in zip(groups, lines, strict=True):
        svg += (f'<text x="0" y="{y + cell_h // 2 + 4}" font-size="{FONT}">'
                f'<title>{escape(label)}</title>{escape(_short(label, 12))}</text>')
        for i, (name, value, tooltip) in enumerate(cells):
            x = label_w + (i % per_line) * (cell_w + gap)
            cy = y + (i // per_line) * (cell_h + gap)
            share = value * 1000 // top if top > 0 else 0  # per mille of the largest
            opacity = 60 + share * 940 // 1000 if value > 0 else 0
            ink = "#ffffff" if share > 500 else "#1d1d1f"
            svg += (f'<g><title>{escape(tooltip)}</title>'
                    f'<rect x="{x}" y="{cy}" width="{cell_w}" height="{cell_h}" fill="{PALETTE[0]}" '
                    f'fill-opacity="{opacity / 1000:.3f}" stroke="#4a4a4f" stroke-width="1"/>'
                    f'<text x="{x + 4}" y="{cy + 17}" font-size="{FONT}" fill="{ink}">'
                    f'{escape(_short(name, 6))}</text>'
                    f'<text x="{x + 4}" y="{cy + 35}" font-size="{FONT}" fill="{ink}">'
                    f'{escape(value_fmt(value) if value else "—")}</text></g>')
        y += count * (cell_h + gap) + 8
    if not groups:
        svg += f'<text x="0" y="30" font-size="{FONT}">{escape(empty)}</text>'
    return Markup(svg + "</svg>")
