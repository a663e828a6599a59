"""Jinja filters: money, regions at county level, masked names, percentages."""
from flask import Flask

from core.money import fmt, percent
from core.privacy import mask_name
from core.regions import county_display

KIND_LABELS = {"wish": "微心愿", "project": "项目", "sponsorship": "助学", "microgrant": "小急难"}
STATE_LABELS = {
    "draft": "草稿", "submitted": "待审核", "verified": "筹款中", "funded": "已筹满",
    "disbursed": "已拨付", "delivered": "已送达", "closed": "已结项", "rejected": "未通过",
    "expired": "已过期", "cancelled": "已取消",
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=fmt,
        county=county_display,
        mask=mask_name,
        kind_label=lambda k: KIND_LABELS.get(k, k),
        state_label=lambda s: STATE_LABELS.get(s, s),
    )
    app.jinja_env.globals.update(percent=percent)
