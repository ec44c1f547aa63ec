"""The holiday calendar: load a year's official schedule, view a year, edit a day."""

from datetime import date

from babel.dates import format_skeleton, get_day_names
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from odr.admin.forms import CalendarDayForm, CalendarUploadForm
from odr.admin.views import bp
from odr.disputes import deadlines, supervision
from odr.disputes.deadlines import local_date
from odr.disputes.models import CalendarOverride
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.forms import add_errors
from odr.types import utcnow


def missing_schedule_year() -> int | None:
    """Next year, from 1 November while its official schedule is not loaded: the console
    warns on its home and on this page (admin/_macros.html, calendar_warning)."""
    return deadlines.missing_schedule(local_date(utcnow()))


@bp.context_processor
def calendar_helpers():
    return {"missing_schedule_year": missing_schedule_year}


def _year() -> int:
    year = request.args.get("year", type=int)
    if year is None or not 2000 <= year <= 2100:
        year = local_date(utcnow()).year
    return year


def _render(year, *, upload=None, day_form=None, status=200):
    if day_form is None:
        picked = request.args.get("day")
        try:
            picked = date.fromisoformat(picked) if picked else None
        except ValueError:
            picked = None
        override = db.session.get(CalendarOverride, picked) if picked else None
        kind = "official"
        if override is not None:
            kind = "workday" if override.is_workday else "holiday"
        day_form = CalendarDayForm(
            formdata=None, day=picked, kind=kind, note=override.note if override else None
        )
    return (
        render_template(
            "admin/calendar.html",
            year=year,
            months=supervision.year_calendar(year),
            month_titles={
                m: format_skeleton("yMMMM", date(year, m, 1), locale=get_locale())
                for m in range(1, 13)
            },
            weekdays=[get_day_names("abbreviated", locale=get_locale())[i] for i in range(7)],
            upload=upload or CalendarUploadForm(formdata=None),
            year_source=deadlines.year_source(year),
            day_form=day_form,
            overrides=db.session.scalars(
                db.select(CalendarOverride)
                .where(
                    CalendarOverride.day >= date(year, 1, 1),
                    CalendarOverride.day <= date(year, 12, 31),
                )
                .order_by(CalendarOverride.day)
            ).all(),
        ),
        status,
    )


def _flash_change(change) -> None:
    """What a loaded schedule did: its days, how many change the calendar in force and how
    many open cases' deadlines moved (each told on its timeline and by a notice)."""
    flash(
        _("Loaded %(off)s days off and %(work)s working days.", off=change.off, work=change.work),
        "success",
    )
    flash(
        _(
            "%(changed)s of them change the calendar in force; the deadlines of %(cases)s "
            "open cases moved.",
            changed=len(change.days),
            cases=len(change.moved),
        ),
        "info",
    )


@bp.route("/calendar")
def calendar():
    return _render(_year())


@bp.route("/calendar/load", methods=["POST"])
def calendar_load():
    form = CalendarUploadForm()
    year = _year()
    if form.validate():
        upload = form.file.data
        try:
            change = supervision.load_calendar(
                current_user, upload.filename or "", upload.read(supervision.MAX_CALENDAR_BYTES + 1)
            )
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            _flash_change(change)
            return redirect(url_for("admin.calendar", year=year))
    return _render(year, upload=form, status=422)


@bp.route("/calendar/day", methods=["POST"])
def calendar_day():
    form = CalendarDayForm()
    year = _year()
    if form.validate():
        try:
            supervision.set_day(current_user, form.day.data, form.kind.data, form.note.data)
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("The day was saved."), "success")
            return redirect(url_for("admin.calendar", year=form.day.data.year))
    return _render(year, day_form=form, status=422)
