"""Consultations, reports and suggestions: filed and followed by consumers at
/consumer/requests (blueprint `requests`). Office staff handle them at /office/requests
(odr/mediation/office.py), the regulator at /admin/requests (odr/admin/requests.py)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole
from odr.consumer.forms import ConsultationForm, ReportForm, SuggestionForm
from odr.disputes import requests as service
from odr.disputes.deadlines import local_date
from odr.disputes.models import Enterprise, EnterpriseStatus, Region, RegionLevel, RequestKind
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.forms import add_errors, options

requests_bp = Blueprint("requests", __name__)
gate_blueprint(requests_bp, UserRole.CONSUMER)

FORMS = {
    RequestKind.CONSULTATION: ConsultationForm,
    RequestKind.REPORT: ReportForm,
    RequestKind.SUGGESTION: SuggestionForm,
}
INTROS = {
    RequestKind.CONSULTATION: "consultation",
    RequestKind.REPORT: "report",
    RequestKind.SUGGESTION: "suggestion",
}


def _kind(value) -> RequestKind:
    try:
        return RequestKind(value)
    except ValueError:
        abort(404)


def _region_choices(blank: str):
    rows = db.session.execute(
        db.select(Region.code, Region.name, Region.name_en)
        .where(Region.level != RegionLevel.STATION)
        .order_by(Region.code)
    ).all()
    return [("", blank)] + [(code, f"{name} ({code})") for code, name, _en in rows]


def _enterprise_choices():
    rows = db.session.execute(
        db.select(Enterprise.id, Enterprise.name, Enterprise.credit_code)
        .where(Enterprise.status != EnterpriseStatus.PENDING)
        .order_by(Enterprise.name)
        .limit(1000)
    ).all()
    return [("", _("— not listed: give the name below —"))] + [
        (str(i), f"{name} ({code})") for i, name, code in rows
    ]


def _form(kind: RequestKind, formdata=None):
    form = FORMS[kind](formdata=formdata)
    if kind == RequestKind.REPORT:
        form.enterprise_id.choices = options(_enterprise_choices())
        form.region_code.choices = options(_region_choices(_("— choose —")))
    elif kind == RequestKind.CONSULTATION:
        form.region_code.choices = options(_region_choices(_("— my registered region —")))
    return form


# -- the consumer ------------------------------------------------------------------------


@requests_bp.route("/")
def index():
    kind = request.args.get("kind") or None
    if kind is not None:
        kind = _kind(kind)
    return render_template(
        "requests/index.html",
        items=service.for_user(current_user, kind),
        kind=kind,
        kinds=list(RequestKind),
        kind_label=service.kind_label,
        outcome_label=service.outcome_label,
        clock_days=service.CLOCK_DAYS,
    )


@requests_bp.route("/new/<kind>", methods=["GET", "POST"])
def new(kind: str):
    kind = _kind(kind)
    if request.method == "GET":
        form = _form(kind)
        if kind == RequestKind.REPORT and request.args.get("enterprise_id"):
            form.enterprise_id.data = request.args["enterprise_id"]
        status = 200
    else:
        form = _form(kind, request.form)
        status = 422
        if form.validate():
            data = {k: v for k, v in form.data.items() if k != "csrf_token"}
            try:
                item = service.file_request(current_user, kind, data)
            except Invalid as exc:
                add_errors(form, exc.fields)
            else:
                db.session.commit()
                flash(
                    _(
                        "Received: %(reference)s. We will answer by %(date)s.",
                        reference=item.reference,
                        date=local_date(item.deadline_at).isoformat(),
                    ),
                    "success",
                )
                return redirect(url_for("requests.detail", request_id=item.id))
    return (
        render_template(
            "requests/new.html",
            form=form,
            kind=kind,
            kind_label=service.kind_label,
            clock_days=service.CLOCK_DAYS[kind],
        ),
        status,
    )


@requests_bp.route("/<int:request_id>")
def detail(request_id: int):
    item = service.get_for(current_user, request_id)
    return render_template(
        "requests/detail.html",
        item=item,
        kind_label=service.kind_label,
        outcome_label=service.outcome_label,
        show_outcome=item.kind != RequestKind.REPORT or item.real_name,
    )
