from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


def _strip(value):
    """A pasted or autocompleted address often brings a space along."""
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()], filters=[_strip])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=32)])
    region_code = SelectField(_l("Your region"), validators=[Optional()], choices=[])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    sms_notices = BooleanField(_l("Also send me notices by SMS"))
    submit = SubmitField(_l("Create account"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()], filters=[_strip])
    submit = SubmitField(_l("Send me a link"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class ClaimForm(FlaskForm):
    """A caller the hotline filed for creates their account from the link."""

    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create my account and open the case"))


class ClaimLinkForm(FlaskForm):
    """A signed-in consumer adds the case to their account."""

    submit = SubmitField(_l("Add the case to my account"))
