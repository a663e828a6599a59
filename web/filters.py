"""Jinja filters: money, regions at county level, masked names, percentages, Beijing time."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from core.clock import aware
from core.money import fmt, percent
from core.privacy import mask_name
from core.regions import county_display
from needs.vocabulary import CHOICES, label

BEIJING = ZoneInfo("Asia/Shanghai")  # times are stored in UTC (the ledger file keeps UTC)


def beijing(moment: datetime | date | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in Beijing time (a plain date is shown as it is)."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return moment.strftime(pattern)
    return aware(moment).astimezone(BEIJING).strftime(pattern)


def kind_names_category(need) -> bool:
    """A 助学资助 sponsorship of the 助学 category: one badge says both."""
    return need.kind == "sponsorship" and need.category == "助学"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=fmt,
        beijing=beijing,
        beijing_date=lambda moment: beijing(moment, "%Y-%m-%d"),
        county=county_display,
        mask=mask_name,
        kind_label=lambda k: label("kind", k),
        state_label=lambda s: label("state", s),
        category_label=lambda c: label("category", c),
        role_label=lambda r: label("role", r),
    )
    app.jinja_env.globals.update(percent=percent, need_choices=CHOICES,
                                 kind_names_category=kind_names_category)
