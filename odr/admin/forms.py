"""Forms of the regulator's console. They check presence and length; the domain
(odr.disputes.supervision, odr.disputes.enterprises) checks the rest."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from odr.disputes.models import BodyKind, RegionLevel
from odr.forms import options

LEVEL_LABELS = {
    RegionLevel.PROVINCE: _l("Province"),
    RegionLevel.CITY: _l("City"),
    RegionLevel.COUNTY: _l("County"),
    RegionLevel.STATION: _l("Local station"),
}


class CsrfForm(FlaskForm):
    """A bare POST button: CSRF only."""


class BodyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=options((k.value, k.label) for k in BodyKind),
        validators=[InputRequired()],
    )
    level = SelectField(
        _l("Level"),
        choices=options((k.value, label) for k, label in LEVEL_LABELS.items()),
        validators=[InputRequired()],
    )
    region_code = SelectField(_l("Region"), choices=[], validators=[InputRequired()])
    parent_id = SelectField(_l("Parent body"), choices=[], validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])


class MoveBodyForm(FlaskForm):
    parent_id = SelectField(_l("New parent body"), choices=[], validators=[Optional()])


class MediatorForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Initial password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    locale = SelectField(
        _l("Language"), choices=options([("zh_CN", "中文"), ("en", "English")]), default="zh_CN"
    )
    head = BooleanField(_l("Head of the body (assigns cases)"))


class MoveMediatorForm(FlaskForm):
    body_id = SelectField(_l("Move to body"), choices=[], validators=[InputRequired()])


class CalendarUploadForm(FlaskForm):
    file = FileField(
        _l("Official schedule file (.json or .csv)"),
        validators=[FileRequired(_l("Choose a file."))],
    )


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Day"), validators=[InputRequired()])
    kind = SelectField(
        _l("This day is"),
        choices=options(
            [
                ("workday", _l("a working day")),
                ("holiday", _l("a day off")),
                ("official", _l("as the official schedule says (remove the override)")),
            ]
        ),
        validators=[InputRequired()],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100)])


class WarningForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20_000)])


class DecisionForm(FlaskForm):
    """The regulator's decision on an enterprise (admin console)."""

    action = HiddenField()
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=2000, message=_l("At most %(max)d characters."))],
    )


class StationForm(FlaskForm):
    """A consumer service station registered under an office."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    office_id = SelectField(_l("Registered under the office"), choices=[])
    region_code = SelectField(_l("Region"), choices=[], validators=[Optional()])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])


class IntakeUserForm(FlaskForm):
    """An intake account: a hotline seat at an office, or a station's staff."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Initial password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    place = SelectField(_l("Seat at"), choices=[], validators=[DataRequired()])
    locale = SelectField(
        _l("Language"), choices=options([("zh_CN", "中文"), ("en", "English")]), default="zh_CN"
    )
