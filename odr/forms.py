"""Form helpers, and the forms of pages that more than one role package shows (the request
handlers' pages: odr/request_handling.py). Web only: operations never receive a form."""

from flask import abort, flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from odr.disputes.states import DomainError, NotFound
from odr.extensions import db


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (macros.field renders it as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def options(pairs) -> list[SelectChoice]:
    """Choices as WTForms wants them: (value, label) pairs made SelectChoice."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def add_errors(form, errors: dict) -> None:
    """Put the domain's per-field messages on the form's fields (others on the form)."""
    for name, message in errors.items():
        target = form._fields.get(name)
        if target is not None:
            target.errors = [*list(target.errors), message]
        else:
            form.form_errors.append(message)


# -- the request handlers (the regulator and the office staff) ---------------------------


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=10_000)])


class ExtendForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the extension"), validators=[DataRequired(), Length(max=2000)]
    )


class DecideForm(FlaskForm):
    outcome = RadioField(
        _l("Decision"),
        choices=options([("filed", _l("File a case (立案)")), ("not_filed", _l("Do not file"))]),
        validators=[InputRequired()],
    )
    answer = TextAreaField(
        _l("Explanation (sent to a real-name reporter)"),
        validators=[DataRequired(), Length(max=10_000)],
    )


def refused(exc: DomainError, back: str):
    """A rule said no to a form's action (the case moved on, the offer is gone): nothing of
    it is kept; what the reader may not see is 404, anything else is said on the page
    `back` (a URL) the action came from."""
    db.session.rollback()
    if isinstance(exc, NotFound):
        abort(404)
    flash(str(exc.message), "danger")
    return redirect(back)
