"""The organisation's form recording a payout (拨付) of a need's money: amount in yuan,
paid to whom, memo, the date it was paid; a one-time key makes a double submit one payout."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, Length

from core.clock import now
from web.filters import BEIJING
from web.forms.charity import AmountField, _key


class DisbursementForm(FlaskForm):
    key = HiddenField(default=_key)
    amount = AmountField(_l("拨付金额（元）"), validators=[DataRequired(_l("请填写拨付金额"))])
    paid_to = StringField(_l("收款方（机构或供应商，不写儿童姓名）"),
                          validators=[DataRequired(_l("必须写明收款方")), Length(max=200)])
    memo = StringField(_l("用途说明（公开）"), validators=[Length(max=300)])
    paid_on = DateField(_l("拨付日期"), default=lambda: beijing_today(),
                        validators=[DataRequired(_l("请填写拨付日期"))])


def beijing_today() -> date:
    return now().astimezone(BEIJING).date()


def paid_at(day: date) -> datetime:
    """Today (in Beijing) means now; another day is noon of that day in Beijing (a later
    one is refused by the service)."""
    if day == beijing_today():
        return now()
    return datetime.combine(day, time(12), tzinfo=BEIJING).astimezone(UTC)
