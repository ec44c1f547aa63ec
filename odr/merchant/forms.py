"""Forms of the enterprise pages. Domain rules are checked by the operations; the forms
only carry what was typed and check its shape."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from odr.auth.models import DEFAULT_SCOPES, TokenScope
from odr.disputes.choices import Remedy
from odr.forms import MultiCheckboxField, options

REQUIRED = _l("This field is required.")


def length(most: int, least: int = 0) -> Length:
    """Length with messages of our own (in both languages)."""
    if least > 0:
        return Length(least, most, message=_l("Between %(min)d and %(max)d characters."))
    return Length(max=most, message=_l("At most %(max)d characters."))


class PrefixedForm(FlaskForm):
    """A form that shares its page with others: its field names and ids carry a prefix,
    so that no two elements of the page have the same id."""

    prefix_name = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)


class ApplyForm(FlaskForm):
    name = StringField(
        _l("Registered name of the enterprise"),
        validators=[DataRequired(REQUIRED), length(200)],
    )
    name_en = StringField(
        _l("Name in English (optional)"),
        validators=[Optional(), length(200)],
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(REQUIRED), length(30)],
    )
    region_code = SelectField(
        _l("Region where the enterprise is registered"),
        validators=[DataRequired(REQUIRED)],
        choices=[],
        validate_choice=False,  # the application checks the region and says so
    )
    address = StringField(_l("Address"), validators=[DataRequired(REQUIRED), length(300)])
    contact_phone = StringField(
        _l("Customer-service phone"), validators=[DataRequired(REQUIRED), length(32)]
    )
    owner_name = StringField(
        _l("Your name (the account owner)"), validators=[DataRequired(REQUIRED), length(100)]
    )
    owner_email = EmailField(
        _l("Your e-mail (used to sign in)"), validators=[DataRequired(REQUIRED), length(254)]
    )
    owner_password = PasswordField(
        _l("Password"), validators=[DataRequired(REQUIRED), length(200, 8)]
    )
    owner_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("owner_password", message=_l("The passwords differ.")),
        ],
    )
    licence = FileField(_l("Business licence (PDF or image, at most 10 MB)"))
    commitment = BooleanField(
        _l(
            "We commit to handle consumer complaints promptly, within the time limits, and to "
            "honour the settlements we agree."
        )
    )
    submit = SubmitField(_l("Submit the application"))


class AssignForm(FlaskForm):
    assignee_id = SelectField(_l("Assign to"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Assign"))


class MessageForm(PrefixedForm):
    prefix_name = "message"
    body = TextAreaField(
        _l("Message to the consumer"), validators=[DataRequired(REQUIRED), length(10000)]
    )
    submit = SubmitField(_l("Send"))


class OfferForm(PrefixedForm):
    prefix_name = "offer"
    remedy = SelectField(
        _l("Remedy"), choices=[], validators=[DataRequired(REQUIRED)], validate_choice=False
    )
    amount = StringField(_l("Amount (CNY)"), validators=[InputRequired(REQUIRED), length(20)])
    terms = TextAreaField(
        _l("Terms of the offer"), validators=[DataRequired(REQUIRED), length(10000)]
    )
    performance_due = DateField(
        _l("Performed by (date)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    expires_on = DateField(
        _l("Open for acceptance until (date, optional)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    # Shown only when the offer pays ¥0 of a refund or compensation (operations.offer_warnings).
    confirm_zero = BooleanField(_l("Yes, the offer pays ¥0.00"))
    submit = SubmitField(_l("Send the offer"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remedy.choices = Remedy.choices()


class DeclineForm(PrefixedForm):
    prefix_name = "decline"
    reason = TextAreaField(
        _l("Why you decline to settle"), validators=[DataRequired(REQUIRED), length(10000)]
    )
    submit = SubmitField(_l("Decline and send to mediation"))


class ChangesForm(PrefixedForm):
    prefix_name = "changes"
    reasons = TextAreaField(
        _l("What should change, and why"), validators=[DataRequired(REQUIRED), length(4000)]
    )
    submit = SubmitField(_l("Ask the mediator for changes"))


class PerformanceForm(PrefixedForm):
    prefix_name = "performance"
    note = TextAreaField(
        _l("How it was performed (optional)"), validators=[Optional(), length(10000)]
    )
    submit = SubmitField(_l("Confirm that we have performed"))


class EvidenceForm(PrefixedForm):
    prefix_name = "evidence"
    file = FileField(_l("File (PDF or image, at most 10 MB)"))
    submit = SubmitField(_l("Upload"))


class InviteForm(FlaskForm):
    name = StringField(_l("Agent's name"), validators=[DataRequired(REQUIRED), length(100)])
    email = EmailField(_l("Agent's e-mail"), validators=[DataRequired(REQUIRED), length(254)])
    submit = SubmitField(_l("Send the invitation"))


class TokenForm(PrefixedForm):
    prefix_name = "token"
    name = StringField(
        _l("Name of the token (e.g. the system that uses it)"),
        validators=[DataRequired(REQUIRED), length(100)],
    )
    scopes = MultiCheckboxField(
        _l("What the token may do"),
        choices=options((s.value, s.label) for s in TokenScope),
        default=sorted(str(s) for s in DEFAULT_SCOPES),
    )
    submit = SubmitField(_l("Create token"))


class WebhookForm(PrefixedForm):
    prefix_name = "webhook"
    url = StringField(
        _l("Receiving address (URL)"), validators=[DataRequired(REQUIRED), length(500)]
    )
    secret = StringField(
        _l("Signing secret (leave empty to have one made)"),
        validators=[Optional(), length(100)],
    )
    submit = SubmitField(_l("Register the endpoint"))


class SignForm(FlaskForm):
    """The agreement signing form; its markup is written by hand (a fixed contract)."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])


class JointOfferForm(PrefixedForm):
    """The enterprise's one answer to a joint complaint: a share of each member's claim,
    or an amount per member (fields amount-<case id>, read by the view)."""

    prefix_name = "joint"
    remedy = SelectField(
        _l("Remedy"), choices=[], validators=[DataRequired(REQUIRED)], validate_choice=False
    )
    mode = SelectField(
        _l("How much"),
        choices=options(
            [
                ("share", _l("A share of each member's claim")),
                ("amounts", _l("An amount per member")),
            ]
        ),
        validators=[DataRequired(REQUIRED)],
    )
    share_percent = StringField(_l("Share of each claim (%)"), validators=[length(10)])
    terms = TextAreaField(
        _l("Terms of the offer"), validators=[DataRequired(REQUIRED), length(10000)]
    )
    performance_due = DateField(
        _l("Performed by (date)"), validators=[Optional()], format="%Y-%m-%d"
    )
    submit = SubmitField(_l("Send the offer to every member"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remedy.choices = options(Remedy.choices())
