"""Forms of the other kinds of need: a 项目, a 慈心助学 sponsorship (with a new or an
existing student), a 小急难 micro-grant request. Amounts are typed in yuan (Money.parse);
budget lines are "item amount", one a line."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from core.clock import today
from core.errors import UserError
from core.money import Money
from needs.models import CATEGORIES
from needs.post_kinds import MAX_YEARS
from web.forms.charity import AmountField, BeneficiaryFields, _key

URGENCY = [(1, _l("1 不急")), (2, _l("2 较缓")), (3, _l("3 一般")), (4, _l("4 紧急")),
           (5, _l("5 特急"))]


def _region():
    return StringField(_l("地区（省/市/县/乡镇/社区）"),
                       validators=[DataRequired(_l("请填写地区")), Length(max=200)])


def _story():
    return TextAreaField(_l("故事（公开，只用化名）"), validators=[Length(max=2000)])


class PublicAppealFields:
    """Who holds the 公募资格 of the appeal, and its 募捐方案备案编号."""

    holder = SelectField(_l("公募资格机构"), coerce=int, validate_choice=True)
    filing = StringField(_l("募捐方案备案编号（慈善中国）"),
                         validators=[DataRequired(_l("请填写募捐方案备案编号")), Length(max=40)])


def parse_budget(text: str | None) -> list[tuple[str, Money]]:
    lines = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        item, _, amount = line.strip().rpartition(" ")
        try:
            money = Money.parse(amount)
        except UserError:
            money = None
        if not item.strip() or money is None or money <= 0:
            raise ValidationError(_l("第 %(n)s 行应写成“名称 金额”，如：课桌椅 12000",
                                     n=number))
        lines.append((item.strip()[:100], money))
    return lines


def parse_milestones(text: str | None) -> list[tuple[str, date]]:
    steps = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        day, _, title = line.strip().partition(" ")
        try:
            due = date.fromisoformat(day)
        except ValueError:
            due = None
        if due is None or not title.strip():
            raise ValidationError(_l("第 %(n)s 行应写成“日期 名称”，如：2027-03-01 完成场地改造",
                                     n=number))
        steps.append((title.strip(), due))
    return steps


class ProjectForm(PublicAppealFields, FlaskForm):
    key = HiddenField(default=_key)
    title = StringField(_l("项目名称"), validators=[DataRequired(_l("请填写项目名称")),
                                                 Length(max=200)])
    amount = AmountField(_l("目标金额（元）"), validators=[DataRequired(_l("请填写目标金额"))])
    category = SelectField(_l("类别"), choices=[(c, c) for c in CATEGORIES], validate_choice=True)
    region = _region()
    period_start = DateField(_l("实施开始日期"),
                             validators=[DataRequired(_l("请填写实施开始日期"))])
    period_end = DateField(_l("实施结束日期"), validators=[DataRequired(_l("请填写实施结束日期"))])
    people = IntegerField(_l("受益人数"), default=1, validators=[
        InputRequired(_l("请填写受益人数")),
        NumberRange(1, 1_000_000, _l("受益人数须为 1 至 1000000"))])
    budget = TextAreaField(_l("预算明细（每行：名称 金额；可空，填写时合计须等于目标金额）"),
                           validators=[Length(max=3000)])
    milestones = TextAreaField(_l("里程碑（每行：日期 名称；可空，日期须在实施周期内）"),
                               validators=[Length(max=3000)])
    story = TextAreaField(_l("项目介绍（公开）"), validators=[Length(max=4000)])

    budget_lines: list = ()
    milestone_lines: list = ()

    def validate_budget(self, field) -> None:
        self.budget_lines = parse_budget(field.data)

    def validate_milestones(self, field) -> None:
        self.milestone_lines = parse_milestones(field.data)


class SponsorshipForm(PublicAppealFields, BeneficiaryFields):
    title = StringField(_l("标题"), default="慈心助学",
                        validators=[DataRequired(_l("请填写标题")), Length(max=150)])
    per_year = AmountField(_l("每学年资助金额（元）"), default="10000",
                           validators=[DataRequired(_l("请填写金额"))])
    first_year = IntegerField(_l("第一个学年开始的年份"), default=lambda: today().year,
                              validators=[InputRequired(_l("请填写年份")),
                                          NumberRange(2000, 2100, _l("请填写四位年份"))])
    years = IntegerField(_l("资助学年数"), default=1, validators=[
        InputRequired(_l("请填写资助学年数")),
        NumberRange(1, MAX_YEARS, _l("资助学年数须为 1 至 %(n)s", n=MAX_YEARS))])
    region = _region()
    story = _story()


class MicrograntForm(FlaskForm):
    key = HiddenField(default=_key)
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题")), Length(max=200)])
    amount = AmountField(_l("申请金额（元）"), validators=[DataRequired(_l("请填写申请金额"))])
    fund = SelectField(_l("社区基金"), coerce=int, validate_choice=True)
    urgency = SelectField(_l("紧急程度"), coerce=int, choices=URGENCY, default=4,
                          validate_choice=True)
    category = SelectField(_l("类别"), choices=[(c, c) for c in CATEGORIES], default="助困",
                           validate_choice=True)
    region = _region()
    story = _story()
    beneficiary = SelectField(_l("受益人（可不选）"), coerce=int, validate_choice=True,
                              validators=[Optional()])

    NONE = 0

