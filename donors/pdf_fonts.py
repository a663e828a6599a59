"""Where the Chinese font for PDFs comes from: an installed system package, never a download.

fpdf2 embeds TrueType outlines (.ttf, and .ttc collections by index). Debian's
fonts-noto-cjk ships CFF-flavoured OpenType, which fpdf2 embeds less reliably, so the
Makefile installs fonts-wqy-microhei (TrueType, ~5 MB); fonts-wqy-zenhei and
fonts-droid-fallback work too. RECEIPT_FONT names any other TrueType file.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import UserError

# (path, index inside a .ttc collection), in order of preference.
CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

INSTALL_HINT = (
    "No Chinese TrueType font for PDFs: run `make fonts` (apt-get install fonts-wqy-microhei) "
    "or set RECEIPT_FONT to a .ttf/.ttc file"
)


class FontMissing(UserError):
    """The PDF cannot be made: no Chinese font is installed."""

    def __init__(self, detail: str = ""):
        super().__init__("生成收据需要中文字体，请联系平台管理员（%(hint)s）",
                         hint=INSTALL_HINT + (f" ({detail})" if detail else ""))


def chinese_font(env: dict | None = None) -> tuple[Path, int]:
    """The font file and collection index to embed; FontMissing says how to install one."""
    env = os.environ if env is None else env
    override = env.get("RECEIPT_FONT")
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontMissing(f"RECEIPT_FONT={override} does not exist")
        return path, int(env.get("RECEIPT_FONT_INDEX") or 0)
    for name, index in CANDIDATES:
        if Path(name).is_file():
            return Path(name), index
    raise FontMissing()
