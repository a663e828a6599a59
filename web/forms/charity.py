"""Forms of the charity side: posting a 微心愿 (with a new or an existing beneficiary),
editing a need, and the verifier's decision. Amounts are typed in yuan (Money.parse)."""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.errors import UserError
from core.money import Money
from needs.models import CATEGORIES

MAX_AMOUNT = Money.yuan("100000000")  # ¥100,000,000.00: far above any need, below BIGINT


def parse_amount(field) -> Money:
    try:
        amount = Money.parse(field.data or "")
    except UserError as exc:
        raise ValidationError(exc.message(_locale())) from None
    if amount <= 0:
        raise ValidationError(_l("金额必须大于零"))
    if amount > MAX_AMOUNT:
        raise ValidationError(_l("金额过大"))
    return amount


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


class AmountField(StringField):
    """Yuan as typed ("150", "1,234.50", "¥20.5"); `.money` is the parsed Money."""

    money: Money | None = None

    def pre_validate(self, form) -> None:
        self.money = parse_amount(self)


def _key() -> str:
    return secrets.token_urlsafe(24)


class BeneficiaryFields(FlaskForm):
    """Choose a beneficiary of the organisation, or enter a new one: private fields, then
    the consent (shared by the 微心愿 and 慈心助学 forms)."""

    key = HiddenField(default=_key)
    beneficiary = SelectField(_l("受益人"), coerce=int, validate_choice=True)
    pseudonym = StringField(_l("化名（公开）"), validators=[Length(max=20)])
    full_name = StringField(_l("真实姓名"), validators=[Length(max=60)])
    id_number = StringField(_l("身份证号"), validators=[Length(max=30)])
    address = StringField(_l("住址"), validators=[Length(max=300)])
    school = StringField(_l("学校"), validators=[Length(max=120)])
    guardian = StringField(_l("监护人"), validators=[Length(max=60)])
    guardian_phone = StringField(_l("监护人电话"), validators=[Length(max=30)])
    consent_by = StringField(_l("同意人"), validators=[Length(max=60)])
    consent_relation = SelectField(_l("同意人身份"), choices=[
        ("guardian", _l("监护人")), ("parent", _l("父母")), ("self", _l("本人"))],
        validate_choice=True)
    consent_on = DateField(_l("同意日期"), validators=[Optional()])
    allow_photo = BooleanField(_l("同意公开照片"))
    allow_story = BooleanField(_l("同意公开故事"))

    NEW = 0
    NEW_FIELDS = ("pseudonym", "full_name", "id_number", "consent_by")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.beneficiary.data == self.NEW:
            for name in self.NEW_FIELDS:
                field = getattr(self, name)
                if not (field.data or "").strip():
                    field.errors = [*field.errors, _l("新受益人必须填写此项")]
                    ok = False
            if self.consent_on.data is None and not self.consent_on.errors:
                self.consent_on.errors = [_l("新受益人必须填写此项")]
                ok = False
        return ok


class WishForm(BeneficiaryFields):
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题")), Length(max=200)])
    item = StringField(_l("心愿物品"), validators=[DataRequired(_l("请填写心愿物品")),
                                                 Length(max=100)])
    price = AmountField(_l("价格（元）"), validators=[DataRequired(_l("请填写价格"))])
    category = SelectField(_l("类别"), choices=[(c, c) for c in CATEGORIES],
                           validate_choice=True)
    region = StringField(_l("地区（省/市/县/乡镇/社区）"),
                         validators=[DataRequired(_l("请填写地区")), Length(max=200)])
    story = TextAreaField(_l("故事（公开，只用化名）"), validators=[Length(max=2000)])


class EditNeedForm(FlaskForm):
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题")), Length(max=200)])
    amount = AmountField(_l("金额（元）"), validators=[DataRequired(_l("请填写金额"))])
    story = TextAreaField(_l("故事（公开，只用化名）"), validators=[Length(max=2000)])
    beneficiary = SelectField(_l("受益人"), coerce=int, validate_choice=True)


class DecisionForm(FlaskForm):
    decision = SelectField(_l("审核结果"), choices=[
        ("verify", _l("通过")), ("reject", _l("驳回")), ("send_back", _l("退回修改"))],
        validate_choice=True)
    reason = TextAreaField(_l("理由或需要修改的内容（驳回和退回时必填）"),
                           validators=[Length(max=1000)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.decision.data in ("reject", "send_back") and not (self.reason.data or "").strip():
            self.reason.errors = [*self.reason.errors, _l("驳回或退回时必须写明理由")]
            ok = False
        return ok


class FlagForm(FlaskForm):
    status = SelectField(_l("判断"), choices=[("allowed", _l("同一人，允许")),
                                            ("duplicate", _l("重复"))], validate_choice=True)


class GrantRequestForm(FlaskForm):
    """A 小急难 grant request to a community fund for one verified micro-grant need."""

    fund = SelectField(_l("社区基金"), coerce=int, validate_choice=True)
    amount = AmountField(_l("申请金额（元，不超过基金的单笔上限）"),
                         validators=[DataRequired(_l("请填写申请金额"))])
    reason = TextAreaField(_l("申请理由（基金管理员审批时看到）"),
                           validators=[DataRequired(_l("请写明申请理由")), Length(max=300)])
