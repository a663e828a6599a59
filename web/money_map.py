"""The enterprise's "map of where its money went": its allocations per 省 → 市 → 县 drawn as a
grid (web/charts.grid_map), one row per city with every county Shanlian knows there. Only
county-level places: never a town or a community (core/regions.py)."""
from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup

from core.money import fmt
from readside.enterprise_money import EnterpriseMoney
from web.charts import grid_map


def money_map(report: EnterpriseMoney) -> Markup:
    groups = [(place, [
        (county.name or gettext("未指明区县"), county.allocated, gettext(
            "%(place)s：已匹配 %(allocated)s，已拨付 %(disbursed)s，%(needs)s 个需求",
            place=f"{place}{county.name}", allocated=fmt(county.allocated),
            disbursed=fmt(county.disbursed), needs=county.needs))
        for county in counties]) for place, counties in report.map_rows()]
    return grid_map(gettext("资金去向地图"), groups,
                    desc=gettext("每格是一个县（市、区），颜色越深，匹配的金额越多。"),
                    empty=gettext("还没有匹配的需求"))
