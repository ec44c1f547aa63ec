"""Forms of the consumer pages. They check presence and length; the domain
(odr.disputes.operations.validate_complaint / resolve_respondent) checks the rest."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from odr.disputes.choices import Issue, PerformanceStatus, Remedy, Request, SubjectKind
from odr.forms import MultiCheckboxField, options

NOT_LISTED = "other"


class CsrfForm(FlaskForm):
    """A bare POST button (delete a draft, remove a file): CSRF only."""


# -- the filing wizard --------------------------------------------------------------------


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Enterprise name or credit code"), validators=[Length(max=100)])


class RespondentForm(FlaskForm):
    enterprise_id = RadioField(
        _l("Which business is it?"), choices=[], validate_choice=False, validators=[Optional()]
    )
    respondent_name = StringField(
        _l("Name of the business"), validators=[Optional(), Length(max=200)]
    )
    respondent_credit_code = StringField(
        _l("Unified social credit code (if you know it)"),
        validators=[Optional(), Length(max=18)],
    )
    respondent_region_code = SelectField(
        _l("Region where the business is"), choices=[], validators=[Optional()]
    )
    green_channel = BooleanField(
        _l("Use the green channel: send my complaint directly to the enterprise first"),
        default=True,
    )
    platform_name = StringField(
        _l("Platform (if you bought from a seller on an online platform)"),
        validators=[Optional(), Length(max=200)],
    )
    platform_region_code = SelectField(
        _l("Region where the platform operator is domiciled"), choices=[], validators=[Optional()]
    )
    seller_address_unusable = BooleanField(
        _l("The seller shows no address on the platform, or cannot be reached at it")
    )
    q = StringField(validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Continue"))


class PurchaseForm(FlaskForm):
    subject_kind = RadioField(
        _l("Goods or a service?"),
        choices=options(SubjectKind.choices()),
        default="goods",
        validators=[InputRequired()],
    )
    subject = StringField(_l("What did you buy?"), validators=[DataRequired(), Length(max=200)])
    purchase_date = StringField(_l("Date of purchase"), validators=[DataRequired()])
    purchase_place = StringField(
        _l("Where: shop name and address"), validators=[Optional(), Length(max=300)]
    )
    purchase_url = StringField(
        _l("Or the web address (URL) of the shop or product"),
        validators=[Optional(), Length(max=500)],
    )
    amount = StringField(
        _l("Amount paid (yuan)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Continue"))


class ClaimForm(FlaskForm):
    issue = SelectField(_l("What went wrong?"), choices=[], validators=[DataRequired()])
    requests = MultiCheckboxField(
        _l("What do you ask for?"), choices=options(Request.choices()), validators=[Optional()]
    )
    claimed_amount = StringField(
        _l("Amount you claim (yuan)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Continue"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.issue.choices = options([("", _l("— choose —")), *Issue.choices()])


class FactsForm(FlaskForm):
    facts = TextAreaField(
        _l("What happened?"),
        validators=[DataRequired(), Length(max=10_000)],
        render_kw={"rows": 8},
    )
    complainant_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    complainant_phone = StringField(
        _l("Your phone"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "tel"},
    )
    complainant_address = StringField(
        _l("Your address"),
        validators=[DataRequired(), Length(max=300)],
        render_kw={"autocomplete": "street-address"},
    )
    submit = SubmitField(_l("Continue"))


class EvidenceForm(FlaskForm):
    files = MultipleFileField(
        _l("Add files (photos, receipts, screenshots, PDF)"),
        render_kw={"accept": "image/jpeg,image/png,image/gif,image/webp,image/heic,.pdf"},
    )


class ReviewForm(FlaskForm):
    confirm = BooleanField(
        _l(
            "I confirm that the identity I give is my own and that what I have written is "
            "true. A complaint under a false or another person's identity is not accepted."
        ),
        validators=[DataRequired(message=_l("Please confirm before you submit."))],
    )
    submit = SubmitField(_l("Submit complaint"))


# -- the case page ------------------------------------------------------------------------


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Your message"), validators=[DataRequired(), Length(max=10_000)], render_kw={"rows": 3}
    )
    submit = SubmitField(_l("Send"))


class ConfirmForm(FlaskForm):
    """A button with CSRF only (accept an offer)."""

    submit = SubmitField(_l("Accept this offer"))


class RejectForm(FlaskForm):
    """Rejecting, optionally with a counter-offer: a remedy and an amount (the operation
    asks for both or neither) and a note."""

    counter_remedy = SelectField(_l("What you would accept instead"), validators=[Optional()])
    counter_amount = StringField(
        _l("Amount you would accept (CNY)"), validators=[Optional(), Length(max=20)]
    )
    counter_proposal = TextAreaField(
        _l("Note to the enterprise (optional)"),
        validators=[Optional(), Length(max=10_000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Reject this offer"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter_remedy.choices = [("", _l("No counter-offer")), *Remedy.choices()]


class ChangesForm(FlaskForm):
    reasons = TextAreaField(
        _l("What should change, and why"),
        validators=[DataRequired(), Length(max=4000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Ask the mediator for changes"))


class ReopenForm(FlaskForm):
    reason = TextAreaField(
        _l("What was not done (optional)"),
        validators=[Optional(), Length(max=10_000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Ask for mediation again"))


class EscalateForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you ask for mediation? (optional)"),
        validators=[Optional(), Length(max=10_000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Ask for mediation"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you withdraw? (optional)"),
        validators=[Optional(), Length(max=10_000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Withdraw the complaint"))


class SignForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired()])


class PerformanceForm(FlaskForm):
    status = RadioField(
        _l("Did the enterprise do what it agreed?"),
        choices=options(
            [
                (PerformanceStatus.CONFIRMED, _l("Yes, it was done")),
                (PerformanceStatus.BREACHED, _l("No, report a breach")),
            ]
        ),
        validators=[InputRequired(message=_l("Choose one."))],
    )
    note = TextAreaField(
        _l("Note (optional)"), validators=[Optional(), Length(max=10_000)], render_kw={"rows": 2}
    )
    submit = SubmitField(_l("Report"))


class RatingForm(FlaskForm):
    rating = RadioField(
        _l("How satisfied are you with how your case was handled?"),
        choices=options(
            [
                (5, _l("5 — very satisfied")),
                (4, _l("4 — satisfied")),
                (3, _l("3 — neutral")),
                (2, _l("2 — dissatisfied")),
                (1, _l("1 — very dissatisfied")),
            ]
        ),
        validators=[InputRequired(message=_l("Choose 1 to 5 stars."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Send rating"))


class CaseEvidenceForm(FlaskForm):
    files = MultipleFileField(
        _l("Add evidence"),
        render_kw={"accept": "image/jpeg,image/png,image/gif,image/webp,image/heic,.pdf"},
    )
    submit = SubmitField(_l("Upload"))


# -- consultations, reports and suggestions ----------------------------------------------


class ConsultationForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    text = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=10_000)])
    region_code = SelectField(_l("Your region"), choices=[], validators=[Optional()])


class ReportForm(FlaskForm):
    enterprise_id = SelectField(_l("Reported enterprise"), choices=[], validators=[Optional()])
    respondent_name = StringField(
        _l("Name of a party not listed"), validators=[Optional(), Length(max=200)]
    )
    region_code = SelectField(
        _l("Region of the reported party"), choices=[], validators=[Optional()]
    )
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    text = TextAreaField(
        _l("What happened (facts, time, place)"),
        validators=[DataRequired(), Length(max=10_000)],
    )
    real_name = BooleanField(_l("Real-name report: tell me the outcome"), default=True)


class SuggestionForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    text = TextAreaField(_l("Your suggestion"), validators=[DataRequired(), Length(max=10_000)])


# -- joint complaints ----------------------------------------------------------------------


class JointStartForm(FlaskForm):
    enterprise_id = SelectField(
        _l("Enterprise"), choices=[], validators=[DataRequired()], validate_choice=False
    )
    issue = SelectField(_l("What went wrong?"), choices=[], validators=[DataRequired()])
    subject = StringField(
        _l("Goods or service (for example: the prepaid gym card)"),
        validators=[DataRequired(), Length(max=200)],
    )
    facts = TextAreaField(
        _l("What happened to all of you"), validators=[DataRequired(), Length(max=10_000)]
    )
    green_channel = BooleanField(_l("Settle directly with the enterprise first"), default=True)
    submit = SubmitField(_l("Start the joint complaint"))

    def __init__(self, *args, enterprises=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise_id.choices = options(
            [("", "—"), *[(str(e.id), e.name) for e in enterprises]]
        )
        self.issue.choices = options(Issue.choices())


class JointClaimForm(FlaskForm):
    """A member's own claim in a joint complaint."""

    purchase_date = StringField(_l("Date of purchase"), validators=[DataRequired()])
    amount = StringField(_l("Amount paid (CNY)"), validators=[InputRequired(), Length(max=20)])
    claimed_amount = StringField(
        _l("Amount you claim (CNY)"), validators=[InputRequired(), Length(max=20)]
    )
    requests = MultiCheckboxField(_l("What you ask for"), choices=[])
    complainant_address = StringField(_l("Your address"), validators=[Length(max=300)])
    facts = TextAreaField(_l("Your own story"), validators=[DataRequired(), Length(max=10_000)])
    submit = SubmitField(_l("Join with my claim"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests.choices = options(Request.choices())


class ElectForm(FlaskForm):
    member_ids = MultiCheckboxField(_l("Representatives (at most two)"), choices=[])
    submit = SubmitField(_l("Elect"))
