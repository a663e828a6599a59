"""Region paths: ``省/市/县/街道/社区`` compared on whole segments only."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=65536)
def split(path: str) -> tuple[str, ...]:
    """``"山东省/滨州市/"`` -> ``("山东省", "滨州市")``; blank segments are dropped."""
    return tuple(seg.strip() for seg in path.split("/") if seg.strip())


def is_under(region: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    """True when ``prefix`` is a whole-segment prefix of ``region`` (滨州市 is not 滨州市郊)."""
    return len(prefix) <= len(region) and region[: len(prefix)] == prefix


@lru_cache(maxsize=65536)
def prefixes(region: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """All prefixes from the root ``()`` down to ``region`` itself."""
    return tuple(region[:i] for i in range(len(region) + 1))


def minimal_cover(prefs: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Drop prefixes already covered by a shorter one; ``[]`` means anywhere -> ``[()]``."""
    if not prefs:
        return [()]
    out: list[tuple[str, ...]] = []
    for p in sorted(set(prefs), key=lambda q: (len(q), q)):
        if not any(is_under(p, q) for q in out):
            out.append(p)
    return out


def label(path: tuple[str, ...]) -> str:
    return "/".join(path) if path else "(anywhere)"
