"""Forms of the matching pages: a pledge, a decision with its reason."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from core.errors import UserError
from core.money import Money
from core.regions import KNOWN, Cascade, cascade
from needs.models import CATEGORIES, NEED_KINDS
from needs.vocabulary import label


def region_choices() -> list[tuple[str, str]]:
    """省 → 市 → 县 as one indented list (the 配捐 offer form; pledges use the cascade)."""
    choices = []
    for province, cities in KNOWN.items():
        choices.append((province, province))
        for city, counties in cities.items():
            choices.append((f"{province}/{city}", f"\u3000{city}"))
            choices.extend((f"{province}/{city}/{county}", f"\u3000\u3000{county}")
                           for county in counties)
    return choices


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _money(field) -> Money | None:
    if not field.data or not field.data.strip():
        return None
    try:
        return Money.parse(field.data)
    except UserError as error:
        raise ValidationError(error.message(_locale())) from error


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


class PledgeForm(FlaskForm):
    title = StringField(_l("认捐名称"), validators=[DataRequired(_l("请填写认捐名称")),
                                                  Length(max=200)])
    budget = StringField(_l("总预算（元）"), validators=[DataRequired(_l("请填写总预算"))])
    period_start = DateField(_l("开始日期"), validators=[Optional()])
    period_end = DateField(_l("结束日期"), validators=[Optional()])
    categories = MultiCheckbox(_l("类别（不选为不限）"), choices=[
        (c, c) for c in CATEGORIES], validate_choice=False)
    # The regions chosen so far (checked boxes; unchecking removes one), and the 省 → 市 → 县
    # picker for the next one: what it shows when the form is sent counts as chosen too.
    regions = MultiCheckbox(_l("已选地区（取消勾选即移除）"), validate_choice=False)
    region_province = StringField(_l("省份"))
    region_city = StringField(_l("城市"))
    region_county = StringField(_l("区县"))
    need_kinds = MultiCheckbox(_l("需求类型（不选为不限）"), choices=[
        (k, k) for k in NEED_KINDS], validate_choice=False)
    per_grant_cap = StringField(_l("单笔上限（元，可空）"))
    per_beneficiary_cap = StringField(_l("每位受助人上限（元，可空）"))
    match_ratio_pct = IntegerField(_l("配捐比例（%，可空）"),
                                   validators=[Optional(), NumberRange(1, 1000)])
    tranches = TextAreaField(_l("分期计划：每行“日期 金额”，如 2027-01-01 100000（可空）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.need_kinds.choices = [(k, label("kind", k)) for k in NEED_KINDS]
        self.categories.choices = [(c, label("category", c)) for c in CATEGORIES]
        self.regions.data = list(dict.fromkeys(r for r in self.regions.data or [] if r))
        self.regions.choices = [(r, r.replace("/", " › ")) for r in self.regions.data]

    def pick(self) -> Cascade:
        """The picker as sent; an unknown province shows the picker from the start."""
        try:
            return cascade(self.region_province.data, self.region_city.data,
                           self.region_county.data)
        except UserError:
            return cascade()

    def add_pick(self) -> None:
        """Move what the picker shows into the chosen regions (the "add another" button)."""
        path = self.pick().path
        if path and path not in self.regions.data:
            self.regions.data.append(path)
            self.regions.choices.append((path, path.replace("/", " › ")))
        self.region_province.data = self.region_city.data = self.region_county.data = ""

    def chosen_regions(self) -> list[str]:
        path = self.pick().path
        return self.regions.data + ([path] if path and path not in self.regions.data else [])

    def validate_region_province(self, field):
        try:
            cascade(field.data)
        except UserError as error:
            raise ValidationError(error.message(_locale())) from error

    def validate_budget(self, field):
        self.budget_fen = _money(field)

    def validate_per_grant_cap(self, field):
        self.grant_cap_fen = _money(field)

    def validate_per_beneficiary_cap(self, field):
        self.beneficiary_cap_fen = _money(field)

    def validate_tranches(self, field):
        schedule = []
        for number, line in enumerate((field.data or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            try:
                due = date.fromisoformat(parts[0])
                amount = Money.parse(parts[1]) if len(parts) == 2 else None
            except (ValueError, IndexError, UserError):
                amount = None
            if amount is None:
                raise ValidationError(_l("第 %(n)s 行应为“日期 金额”", n=number))
            schedule.append((due, amount))
        self.schedule = schedule


class ReasonForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Length(max=300)])
