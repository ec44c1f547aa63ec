"""Consumer service stations and intake accounts: the regulator registers stations under
offices and creates the accounts of hotline seats and station staff."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.admin.forms import CsrfForm, IntakeUserForm, StationForm
from odr.admin.views import bp
from odr.auth.models import User, UserRole
from odr.disputes import intake
from odr.disputes.models import MediationBody, Region, RegionLevel, ServiceStation
from odr.disputes.models.organisation import BodyKind
from odr.disputes.states import Invalid, NotFound
from odr.extensions import db
from odr.forms import add_errors, options


def _offices():
    return db.session.scalars(
        db.select(MediationBody)
        .where(MediationBody.kind == BodyKind.OFFICE, MediationBody.active.is_(True))
        .order_by(MediationBody.region_code, MediationBody.id)
    ).all()


def _stations():
    return db.session.scalars(db.select(ServiceStation).order_by(ServiceStation.id)).all()


def _forms(station_form=None, user_form=None):
    offices, stations = _offices(), _stations()
    station_form = station_form or StationForm(formdata=None)
    station_form.office_id.choices = options((str(b.id), b.display_name()) for b in offices)
    regions = db.session.execute(
        db.select(Region.code, Region.name)
        .where(Region.level != RegionLevel.STATION)
        .order_by(Region.code)
    ).all()
    station_form.region_code.choices = options(
        [("", _("— the office's region —"))] + [(c, f"{c} {n}") for c, n in regions]
    )
    user_form = user_form or IntakeUserForm(formdata=None)
    user_form.place.choices = options(
        [(f"office:{b.id}", _("Hotline of %(office)s", office=b.display_name())) for b in offices]
        + [
            (f"station:{s.id}", _("Station %(station)s", station=s.display_name()))
            for s in stations
            if s.active
        ]
    )
    return station_form, user_form, stations


def _render(station_form=None, user_form=None, status=200):
    station_form, user_form, stations = _forms(station_form, user_form)
    staff = db.session.scalars(
        db.select(User).where(User.role == UserRole.INTAKE).order_by(User.id)
    ).all()
    return (
        render_template(
            "admin/stations.html",
            stations=stations,
            staff=staff,
            station_form=station_form,
            user_form=user_form,
            toggle=CsrfForm(),
        ),
        status,
    )


@bp.route("/stations")
def stations():
    return _render()


@bp.route("/stations", methods=["POST"])
def station_create():
    form = StationForm(request.form)
    _forms(station_form=form)
    if form.validate():
        try:
            intake.register_station(current_user, form.data)
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("The service station is registered."), "success")
            return redirect(url_for("admin.stations"))
    return _render(station_form=form, status=422)


@bp.route("/stations/<int:station_id>/active", methods=["POST"])
def station_active(station_id: int):
    station = db.session.get(ServiceStation, station_id)
    if station is None:
        raise NotFound(_("No such service station."))
    if CsrfForm(request.form).validate():
        intake.set_station_active(current_user, station, request.form.get("active") == "1")
        db.session.commit()
        flash(_("The station's status is changed."), "success")
    return redirect(url_for("admin.stations"))


@bp.route("/intake-staff", methods=["POST"])
def intake_user_create():
    form = IntakeUserForm(request.form)
    _forms(user_form=form)
    if form.validate():
        kind, _sep, place_id = (form.place.data or "").partition(":")
        try:
            intake.create_intake_user(
                current_user,
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                office_id=place_id if kind == "office" else None,
                station_id=place_id if kind == "station" else None,
                locale=form.locale.data,
            )
        except Invalid as exc:
            add_errors(
                form, {"place" if k.endswith("_id") else k: v for k, v in exc.fields.items()}
            )
        else:
            db.session.commit()
            flash(_("The intake account was created."), "success")
            return redirect(url_for("admin.stations"))
    form.password.data = ""
    return _render(user_form=form, status=422)


@bp.route("/intake-staff/<int:user_id>/active", methods=["POST"])
def intake_user_active(user_id: int):
    if CsrfForm(request.form).validate():
        intake.set_intake_user_active(current_user, user_id, request.form.get("active") == "1")
        db.session.commit()
        flash(_("The intake account's status is changed."), "success")
    return redirect(url_for("admin.stations"))
