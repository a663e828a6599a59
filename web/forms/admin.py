"""Forms of the admin pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.users import ROLES
from web.converters import MAX_ID
from web.forms.onboarding import region_choices


class DecisionForm(FlaskForm):
    """Approve (no fields) — a form only for its CSRF token."""


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("不通过的原因"),
                           validators=[DataRequired(_l("请填写不通过的原因")), Length(max=500)])


class GrantForm(FlaskForm):
    role = SelectField(_l("角色"), choices=[(r, r) for r in ROLES])
    organisation_id = SelectField(_l("机构"), choices=[], default="")
    enterprise_id = SelectField(_l("企业"), choices=[], default="")
    fund_id = SelectField(_l("社区基金"), choices=[], default="")
    region = SelectField(_l("审核地区（市或县）"), choices=[], default="")

    def __init__(self, *args, organisations=(), enterprises=(), funds=(), **kwargs):
        super().__init__(*args, **kwargs)
        from needs.vocabulary import label
        self.role.choices = [(r, label("role", r)) for r in ROLES]
        none = [("", "—")]
        self.organisation_id.choices = none + [(str(o.id), o.name) for o in organisations]
        self.enterprise_id.choices = none + [(str(e.id), e.name) for e in enterprises]
        self.fund_id.choices = none + [(str(f.id), f.name) for f in funds]
        self.region.choices = none + region_choices()


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    actor = IntegerField(_l("操作人编号"), validators=[Optional(),
                                                  NumberRange(min=1, max=MAX_ID)])
    action = StringField(_l("操作"), validators=[Optional(), Length(max=60)])
    target = StringField(_l("对象"), validators=[Optional(), Length(max=80)])
    since = DateField(_l("起始日期"), validators=[Optional()])
    until = DateField(_l("截止日期"), validators=[Optional()])
