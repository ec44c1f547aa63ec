"""Forms of the intake pages. They check presence and length; the domain
(odr.disputes.intake and operations.validate_complaint) checks the rest."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from odr.disputes.choices import INTAKE_CHANNELS, Issue, Request, SubjectKind
from odr.forms import options


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (macros.field renders it as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _channels():
    return options((c.value, c.label) for c in INTAKE_CHANNELS)


class CallerFields:
    caller_name = StringField(_l("Caller's name"), validators=[DataRequired(), Length(max=100)])
    caller_phone = StringField(
        _l("Caller's mobile phone"),
        validators=[Optional(), Length(max=32)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    caller_email = EmailField(
        _l("Caller's e-mail (optional)"),
        validators=[Optional(), Email(), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    caller_locale = SelectField(
        _l("Caller's language"),
        choices=options([("zh_CN", "中文"), ("en", "English")]),
        default="zh_CN",
    )
    channel = RadioField(
        _l("How did the caller reach you?"),
        choices=[],
        default="phone",
        validators=[InputRequired()],
    )


class IntakeComplaintForm(CallerFields, FlaskForm):
    caller_address = StringField(
        _l("Caller's address"), validators=[DataRequired(), Length(max=300)]
    )
    q = StringField(_l("Enterprise name or credit code"), validators=[Optional(), Length(max=100)])
    find = SubmitField(_l("Find the enterprise"))
    enterprise_id = SelectField(
        _l("Enterprise complained about"), choices=[], validate_choice=False
    )
    respondent_name = StringField(
        _l("Or the name of a business that is not listed"),
        validators=[Optional(), Length(max=200)],
    )
    respondent_region_code = SelectField(
        _l("Region where that business is"), choices=[], validators=[Optional()]
    )
    green_channel = BooleanField(
        _l("Green channel: send it to the enterprise first when it is an ODR enterprise"),
        default=True,
    )
    subject_kind = RadioField(
        _l("Goods or a service?"),
        choices=options(SubjectKind.choices()),
        default="goods",
        validators=[InputRequired()],
    )
    subject = StringField(_l("What was bought?"), validators=[DataRequired(), Length(max=200)])
    purchase_date = StringField(
        _l("Date of purchase"), validators=[DataRequired()], render_kw={"type": "date"}
    )
    purchase_place = StringField(
        _l("Where: shop name and address"), validators=[Optional(), Length(max=300)]
    )
    amount = StringField(
        _l("Amount paid (yuan)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    issue = SelectField(_l("What went wrong?"), choices=[], validators=[DataRequired()])
    requests = MultiCheckboxField(
        _l("What does the caller ask for?"),
        choices=options(Request.choices()),
        validators=[Optional()],
    )
    claimed_amount = StringField(
        _l("Amount claimed (yuan)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    facts = TextAreaField(
        _l("What happened, in the caller's words"),
        validators=[DataRequired(), Length(max=10_000)],
        render_kw={"rows": 5},
    )
    note = TextAreaField(
        _l("Notes of the call (seen by staff and the mediator)"),
        validators=[Optional(), Length(max=10_000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("File the complaint and send the caller the link"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = _channels()
        self.issue.choices = options([("", _l("— choose —")), *Issue.choices()])


class ConsultationForm(CallerFields, FlaskForm):
    caller_address = StringField(
        _l("Caller's address (optional)"), validators=[Optional(), Length(max=300)]
    )
    topic = SelectField(_l("Topic"), choices=[], validators=[DataRequired()])
    question = TextAreaField(
        _l("Question"), validators=[DataRequired(), Length(max=10_000)], render_kw={"rows": 4}
    )
    answer = TextAreaField(
        _l("Answer given"), validators=[DataRequired(), Length(max=10_000)], render_kw={"rows": 4}
    )
    submit = SubmitField(_l("Log the consultation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = _channels()
        self.topic.choices = options([("", _l("— choose —")), *Issue.choices()])


class TransferForm(FlaskForm):
    body_id = SelectField(_l("Office whose hotline takes it over"), choices=[])
    note = TextAreaField(
        _l("Why"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2}
    )
    submit = SubmitField(_l("Pass it on"))


class ResendForm(FlaskForm):
    email = EmailField(
        _l("Also send it to this e-mail address (optional)"),
        validators=[Optional(), Email(), Length(max=254)],
    )
    submit = SubmitField(_l("Send the caller the link again"))
