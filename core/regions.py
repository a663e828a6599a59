"""Region paths: 省/市/县/镇/社区, `/`-separated, matched on whole segments.

Public pages show a region only down to the county (县级), so a child's town or village
never appears next to a pseudonym.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError

LEVELS = ("省", "市", "县", "镇", "社区")

# The administrative tree Shanlian knows down to county level. Below the county, towns
# and communities are accepted when they are named like one.
KNOWN: dict[str, dict[str, tuple[str, ...]]] = {
    "山东省": {
        "滨州市": ("滨城区", "沾化区", "惠民县", "阳信县", "无棣县", "博兴县", "邹平市"),
        "潍坊市": ("潍城区", "寒亭区", "坊子区", "奎文区", "青州市", "诸城市", "寿光市",
                  "安丘市", "高密市", "昌邑市", "临朐县", "昌乐县"),
        "聊城市": ("东昌府区", "茌平区", "临清市", "阳谷县", "莘县", "东阿县", "冠县", "高唐县"),
    },
    "广西壮族自治区": {
        "北海市": ("海城区", "银海区", "铁山港区", "合浦县"),
    },
}
TOWN_SUFFIXES = ("镇", "乡", "街道", "开发区", "度假区")
COMMUNITY_SUFFIXES = ("社区", "村", "居委会", "小区")


class RegionError(UserError):
    """An unknown or malformed region path."""


@dataclass(frozen=True, order=True)
class Region:
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> Region:
        if not isinstance(path, str) or not path.strip():
            raise RegionError("地区不能为空")
        segments = tuple(s.strip() for s in path.strip().strip("/").split("/"))
        if any(not s for s in segments):
            raise RegionError("地区“%(path)s”格式有误", path=path)
        if len(segments) > len(LEVELS):
            raise RegionError("地区“%(path)s”层级过多", path=path)
        province = segments[0]
        if province not in KNOWN:
            raise RegionError("未知地区“%(region)s”", region=province)
        if len(segments) > 1 and segments[1] not in KNOWN[province]:
            raise RegionError("未知地区“%(region)s”", region=f"{province}/{segments[1]}")
        if len(segments) > 2 and segments[2] not in KNOWN[province][segments[1]]:
            raise RegionError("未知地区“%(region)s”", region="/".join(segments[:3]))
        if len(segments) > 3 and not segments[3].endswith(TOWN_SUFFIXES):
            raise RegionError("“%(name)s”不是乡镇或街道", name=segments[3])
        if len(segments) > 4 and not segments[4].endswith(COMMUNITY_SUFFIXES):
            raise RegionError("“%(name)s”不是社区或村", name=segments[4])
        return cls(segments)

    @property
    def path(self) -> str:
        return "/".join(self.segments)

    def within(self, prefix: Region | str) -> bool:
        """True if this region lies inside `prefix`, comparing whole segments."""
        return within(self.path, prefix if isinstance(prefix, str) else prefix.path)

    @property
    def county(self) -> str:
        return county_display(self.path)

    def __str__(self) -> str:
        return self.path


def within(path: str, prefix: str) -> bool:
    """Whole-segment prefix test: 山东省/滨州市 contains 山东省/滨州市/邹平市, not 滨州市郊."""
    if not prefix:
        return True
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def county_path(path: str) -> str:
    """The path cut at the county level (at most 省/市/县)."""
    return "/".join(path.split("/")[:3])


def county_display(path: str) -> str:
    """What a public page shows: 山东省滨州市邹平市 — never the town or community."""
    return "".join(path.split("/")[:3])


def children(prefix: str = "") -> list[str]:
    """Known child region names one level below `prefix` (for the 省 → 市 → 县 cascade)."""
    parts = [p for p in prefix.split("/") if p] if prefix else []
    if not parts:
        return list(KNOWN)
    if len(parts) == 1:
        return list(KNOWN.get(parts[0], {}))
    if len(parts) == 2:
        return list(KNOWN.get(parts[0], {}).get(parts[1], ()))
    return []


@dataclass(frozen=True)
class Cascade:
    """The 省 → 市 → 县 picker as chosen so far, with the options of each level."""

    provinces: list[str]
    cities: list[str]
    counties: list[str]
    province: str = ""
    city: str = ""
    county: str = ""

    @property
    def path(self) -> str:
        """The deepest level chosen (山东省/滨州市 covers all its counties), or ""."""
        return "/".join(p for p in (self.province, self.city, self.county) if p)


def cascade(province: str = "", city: str = "", county: str = "") -> Cascade:
    """The picker for what is chosen so far. An unknown province is refused; a city or county
    that does not lie in the level above is what is left after changing that level, and is
    dropped."""
    province, city, county = (v.strip() for v in (province or "", city or "", county or ""))
    if province and province not in KNOWN:
        raise RegionError("未知地区“%(region)s”", region=province[:40])
    if city not in KNOWN.get(province, {}):
        city = ""
    if county not in KNOWN.get(province, {}).get(city, ()):
        county = ""
    return Cascade(provinces=children(), cities=children(province) if province else [],
                   counties=children(f"{province}/{city}") if city else [],
                   province=province, city=city, county=county)
