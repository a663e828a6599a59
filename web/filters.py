"""Jinja filters: money, regions at county level, masked names, percentages."""
from flask import Flask

from core.money import fmt, percent
from core.privacy import mask_name
from core.regions import county_display
from needs.vocabulary import CHOICES, label


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=fmt,
        county=county_display,
        mask=mask_name,
        kind_label=lambda k: label("kind", k),
        state_label=lambda s: label("state", s),
        category_label=lambda c: label("category", c),
        role_label=lambda r: label("role", r),
    )
    app.jinja_env.globals.update(percent=percent, need_choices=CHOICES)
