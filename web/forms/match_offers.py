"""The 配捐 offer form an enterprise fills in (amounts in yuan, parsed by Money)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from donors.receipts import BEIJING
from needs.models import CATEGORIES
from needs.vocabulary import label
from web.forms.matching import MultiCheckbox, _money, region_choices


class MatchOfferForm(FlaskForm):
    title = StringField(_l("配捐名称"), validators=[DataRequired(_l("请填写配捐名称")),
                                                  Length(max=200)])
    ratio_pct = IntegerField(_l("配捐比例（%）"), validators=[
        InputRequired(_l("请填写配捐比例")), NumberRange(1, 1000, _l("配捐比例须为 1 到 1000 之间的百分数"))])
    total_cap = StringField(_l("配捐总额（元）"), validators=[DataRequired(_l("请填写配捐总额"))])
    per_gift_cap = StringField(_l("每笔捐赠最多配（元，可空）"))
    per_need_cap = StringField(_l("每个需求最多配（元，可空）"))
    starts_on = DateField(_l("开始日期"), validators=[InputRequired(_l("请选择开始日期"))])
    ends_on = DateField(_l("结束日期（含当天）"), validators=[InputRequired(_l("请选择结束日期"))])
    programme_ids = MultiCheckbox(_l("限定项目（不选为不限）"), coerce=int, validate_choice=False)
    categories = MultiCheckbox(_l("类别（不选为不限）"), validate_choice=False)
    regions = SelectMultipleField(_l("地区（可多选；不选为不限）"), validate_choice=False)

    def __init__(self, programmes=(), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme_ids.choices = [(p.id, p.name) for p in programmes]
        self.categories.choices = [(c, label("category", c)) for c in CATEGORIES]
        self.regions.choices = region_choices()

    def validate_total_cap(self, field):
        self.total_cap_fen = _money(field)

    def validate_per_gift_cap(self, field):
        self.per_gift_cap_fen = _money(field)

    def validate_per_need_cap(self, field):
        self.per_need_cap_fen = _money(field)

    def validate_categories(self, field):
        for value in field.data or []:
            if value not in CATEGORIES:
                raise ValidationError(_l("未知类别"))

    def window(self) -> tuple[datetime, datetime]:
        """The days chosen, in Beijing time: from the first day's start to the last day's end."""
        start = datetime.combine(self.starts_on.data, time(), BEIJING)
        end = datetime.combine(self.ends_on.data, time(), BEIJING) + timedelta(days=1)
        return start, end
