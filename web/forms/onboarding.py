"""Forms of onboarding: the application, staff invitations and accepting one."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length

from core.errors import UserError
from core.identifiers import validate_uscc
from core.regions import KNOWN
from needs.uploads import check_upload


def region_choices(counties: bool = True) -> list[tuple[str, str]]:
    """Every known 市, and each 县 under it: the 省/市/县 picker (works without script)."""
    choices = []
    for province, cities in KNOWN.items():
        for city, county_names in cities.items():
            choices.append((f"{province}/{city}", f"{province}{city}"))
            if counties:
                choices += [(f"{province}/{city}/{c}", f"{province}{city}{c}")
                            for c in county_names]
    return choices


def _uscc(form, field):
    try:
        field.data = validate_uscc(field.data)
    except UserError as exc:
        raise ValidationError(exc.message(str(get_locale()))) from exc


def _certificate(form, field):
    upload = field.data
    if upload is None or not hasattr(upload, "read"):
        return
    try:
        form.checked_certificate = check_upload(upload.read(), upload.filename)
    except UserError as exc:
        raise ValidationError(exc.message(str(get_locale()))) from exc


class ApplicationForm(FlaskForm):
    kind = SelectField(_l("申请类型"), choices=[("organisation", _l("慈善组织 / 社工站")),
                                               ("enterprise", _l("爱心企业"))])
    name = StringField(_l("名称（与登记证书一致）"),
                       validators=[DataRequired(_l("请填写名称")), Length(max=120)])
    region = SelectField(_l("所在地区"), choices=[])
    uscc = StringField(_l("统一社会信用代码"),
                       validators=[DataRequired(_l("请填写统一社会信用代码")), _uscc])
    certificate = FileField(_l("登记证书（PDF 或图片）"),
                            validators=[FileRequired(_l("请上传登记证书")), _certificate])
    contact_name = StringField(_l("联系人"), validators=[DataRequired(_l("请填写联系人")),
                                                      Length(max=100)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(_l("请填写联系电话")),
                                                         Length(max=30)])
    contact_email = EmailField(_l("联系邮箱"), validators=[DataRequired(_l("请填写电子邮箱")),
                                                        Length(max=200)])
    public_fundraising = BooleanField(_l("本机构具有公开募捐资格（公募资格）"))
    public_fundraising_cert = StringField(_l("公募资格证书编号"), validators=[Length(max=60)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = region_choices()
        self.checked_certificate = None


class InviteForm(FlaskForm):
    email = EmailField(_l("工作人员的电子邮箱"),
                       validators=[DataRequired(_l("请填写电子邮箱")), Length(max=200)])


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("姓名或昵称"), validators=[Length(max=100)])
    password = PasswordField(_l("密码（至少 10 个字符）"), validators=[Length(max=200)])
