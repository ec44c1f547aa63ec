"""Mediator forms. Each form of the workspace has its own prefix so that field ids never
clash on the one page (e.g. #agr-terms, #term-reason-0)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from odr.disputes.sessions import MODE_LABELS
from odr.disputes.states import RefusalReason, TerminationReason

SESSION_MODES = MODE_LABELS
SUSPENSION_KINDS = {
    "testing": _l("Testing or appraisal of the goods"),
    "recusal": _l("Recusal of the mediator"),
}


def choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def refusal_choices():
    return [SelectChoice(r.value, f"{r.value} — {r.label}") for r in RefusalReason]


def termination_choices(include_expiry: bool = False):
    # T5 (45 working days passed) is decided by the clock, never by hand.
    return [
        SelectChoice(t.value, f"{t.value} — {t.label}")
        for t in TerminationReason
        if include_expiry or t != TerminationReason.T5
    ]


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (accept, resume, issue the case file)."""

    submit = SubmitField(_l("Confirm"))


class RefuseForm(FlaskForm):
    reason = RadioField(_l("Reason for refusal"), validators=[InputRequired()], choices=[])
    explanation = TextAreaField(
        _l("Written explanation to the parties"),
        validators=[DataRequired(), Length(max=5000)],
    )
    submit = SubmitField(_l("Refuse the case"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = refusal_choices()


class TransferForm(FlaskForm):
    body_id = SelectField(_l("Competent body"), coerce=int, validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason for the transfer"), validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Transfer the case"))


class HandDownForm(FlaskForm):
    body_id = SelectField(_l("Hand down to"), coerce=int, validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Hand down"))


class AssignForm(FlaskForm):
    mediator_id = SelectField(_l("Mediator"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Assign"))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=10000)])
    submit = SubmitField(_l("Send to both parties"))


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Private note"), validators=[DataRequired(), Length(max=10000)])
    submit = SubmitField(_l("Save note"))


class SessionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    time = TimeField(_l("Starts at (Beijing time)"), validators=[InputRequired()])
    until = TimeField(_l("Ends at (optional)"), validators=[Optional()])
    mode = RadioField(
        _l("Form of the session"),
        choices=choices(SESSION_MODES),
        default="online",
        validators=[InputRequired()],
    )
    place = StringField(
        _l("Place (address and room)"),
        validators=[Optional(), Length(max=300)],
    )
    link = StringField(
        _l("Link of the online session"),
        validators=[Optional(), Length(max=500)],
    )
    note = TextAreaField(
        _l("Note to the parties (what to bring, how to join)"),
        validators=[Optional(), Length(max=1000)],
    )
    submit = SubmitField(_l("Schedule the session"))


class SuspendForm(FlaskForm):
    kind = RadioField(
        _l("Ground for suspension"), choices=choices(SUSPENSION_KINDS), validators=[InputRequired()]
    )
    reason = TextAreaField(_l("Details"), validators=[DataRequired(), Length(max=900)])
    submit = SubmitField(_l("Suspend the mediation"))


class AgreementForm(FlaskForm):
    terms = TextAreaField(
        _l("Terms of the agreement (one clause a line)"),
        validators=[DataRequired(), Length(max=10000)],
    )
    amount = DecimalField(
        _l("Amount the respondent pays (CNY)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=999_999_999_999)],
    )
    performance_due = DateField(_l("Performance due date"), validators=[Optional()])
    submit = SubmitField(_l("Propose the agreement"))


class TerminateForm(FlaskForm):
    reason = RadioField(_l("Reason for termination"), validators=[InputRequired()], choices=[])
    explanation = TextAreaField(
        _l("Written explanation to the parties"), validators=[Optional(), Length(max=5000)]
    )
    submit = SubmitField(_l("Terminate the mediation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = termination_choices()
