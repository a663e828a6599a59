"""Forms of the accounts pages (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请填写电子邮箱")),
                                                  Length(max=200)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码")),
                                                   Length(max=200)])


class SignUpForm(FlaskForm):
    name = StringField(_l("姓名或昵称"), validators=[DataRequired(_l("请填写姓名")),
                                                 Length(max=100)])
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请填写电子邮箱")),
                                                  Length(max=200)])
    password = PasswordField(_l("密码（至少 10 个字符）"),
                             validators=[DataRequired(_l("请填写密码")), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请填写电子邮箱")),
                                                  Length(max=200)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码（至少 10 个字符）"),
                             validators=[DataRequired(_l("请填写密码")), Length(max=200)])


class ApiTokenForm(FlaskForm):
    name = StringField(_l("令牌名称（例如所用的系统）"),
                       validators=[DataRequired(_l("请填写令牌名称")), Length(max=60)])
    scope = SelectField(_l("权限范围"), choices=[("read", _l("只读")), ("write", _l("读写"))],
                        validate_choice=True)


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the URL."""
