"""Forms of the giving pages (Flask-WTF: each carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional


class GiveForm(FlaskForm):
    # Typed in yuan, parsed by Money in the view (never a float); absent for a whole need.
    amount = StringField(_l("捐赠金额（元）"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=60)])
    contact = StringField(_l("手机号或电子邮箱"), validators=[Optional(), Length(max=120)])
    show_name = BooleanField(_l("公开我的姓名（否则显示为 张**）"))
    # Only for a whole need (a wish, a student-year): should the money arrive after the
    # hold lapsed and someone else took the wish.
    if_taken = RadioField(_l("如果款项到账时保留期已过、心愿已被他人认领"), default="refund",
                          choices=[("refund", _l("原路退款给我")),
                                   ("redirect", _l("转入该项目的总基金"))],
                          validators=[Optional()])


class StatementForm(FlaskForm):
    statement = FileField(_l("银行对账单（CSV 或 XLSX）"),
                          validators=[FileRequired(_l("请选择对账单文件"))])


class ConfirmForm(FlaskForm):
    """An empty form: only the CSRF token of a one-click confirmation."""


class ReturnForm(FlaskForm):
    """Where a gift on a closed need goes: "need:<code>", "fund:<code>" or "refund"; the
    choices are filled in by the view from what is open now."""
    target = RadioField(_l("请选择"), choices=[],
                        validators=[DataRequired(_l("请选择转捐的需求、基金，或申请退款"))])


class BankRefundForm(FlaskForm):
    bank_ref = StringField(_l("退款银行流水号"),
                           validators=[DataRequired(_l("请填写退款的银行流水号")), Length(max=120)])
