"""The intake pages. Each view loads, checks the part the user plays (404 for a record they
may not see), validates its form, calls one operation of odr.disputes.intake and commits."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from odr import viewcache
from odr.auth.decorators import gate_blueprint
from odr.auth.models import User, UserRole
from odr.disputes import enterprises, guidance, intake
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    Enterprise,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.disputes.models.organisation import BodyKind
from odr.disputes.permissions import (
    cases_visible_to,
    nameable,
    nameable_enterprise,
    role_in_case,
)
from odr.disputes.states import OPEN_STATES, DomainError, Invalid, NotFound, Role, action_label
from odr.extensions import db
from odr.forms import add_errors, options
from odr.intake import forms

bp = Blueprint("intake", __name__)
gate_blueprint(bp, UserRole.INTAKE)

LIST_SIZE = 30


def _caller(form, *, address=True) -> dict:
    caller = {
        "name": form.caller_name.data,
        "phone": form.caller_phone.data,
        "email": form.caller_email.data,
        "locale": form.caller_locale.data,
    }
    if address:
        caller["address"] = form.caller_address.data
    else:
        caller["address"] = form.caller_address.data or None
    return caller


# Domain field names -> form field names (the caller's particulars are nested).
CALLER_FIELDS = {f"caller.{k}": f"caller_{k}" for k in ("name", "phone", "address", "email")}


def _errors(form, exc: Invalid) -> None:
    add_errors(form, {CALLER_FIELDS.get(k, k): v for k, v in exc.fields.items()})
    if not exc.fields:
        form.form_errors.append(str(exc))


# -- home: the workload ----------------------------------------------------------------------


@bp.route("/")
def home():
    me = current_user
    mine = db.session.scalars(
        db.select(Complaint)
        .where(Complaint.taken_by_id == me.id)
        .options(joinedload(Complaint.enterprise), joinedload(Complaint.consumer))
        .order_by(Complaint.id.desc())
        .limit(LIST_SIZE)
    ).all()
    held = db.session.scalars(
        db.select(Complaint)
        .where(cases_visible_to(me), Complaint.state.in_(OPEN_STATES))
        .options(joinedload(Complaint.enterprise))
        .order_by(Complaint.id.desc())
        .limit(LIST_SIZE)
    ).all()
    consultations = intake.consultations_page(me, size=LIST_SIZE)
    return render_template(
        "intake/home.html",
        load=intake.workload(me),
        mine=mine,
        held=held,
        consultations=consultations,
        office=me.intake_body,
        station=me.station,
    )


# -- filing for a caller ---------------------------------------------------------------------


def _regions():
    rows = db.session.execute(
        db.select(Region.code, Region.name)
        .where(Region.level.in_([RegionLevel.COUNTY, RegionLevel.CITY]))
        .order_by(Region.code)
    ).all()
    return [("", _("— choose —"))] + [(code, f"{name} ({code})") for code, name in rows]


def _enterprise_choices(form) -> None:
    """The enterprises matching the seat's search (and the one chosen before), or none."""
    found: list[Enterprise] = []
    text = (form.q.data or "").strip()
    if text:
        found = db.session.scalars(
            db.select(Enterprise)
            .where(nameable(), enterprises.matching(text))
            .order_by(Enterprise.name)
            .limit(20)
        ).all()
    chosen = form.enterprise_id.data
    if chosen and all(str(e.id) != chosen for e in found):
        enterprise = nameable_enterprise(chosen)
        if enterprise is not None:
            found.insert(0, enterprise)
    form.enterprise_id.choices = options(
        [("", _("— not listed: name it below —"))]
        + [(str(e.id), f"{e.name} ({e.credit_code})") for e in found]
    )


@bp.route("/complaints/new", methods=["GET", "POST"])
def file_complaint():
    form = forms.IntakeComplaintForm()
    form.respondent_region_code.choices = options(_regions())
    _enterprise_choices(form)
    if request.method == "POST" and form.find.data:
        if form.enterprise_id.choices[1:] and not form.enterprise_id.data:
            form.enterprise_id.data = form.enterprise_id.choices[1].value
        elif not form.enterprise_id.choices[1:]:
            form.q.errors = [_("No listed enterprise matches: name the business below.")]
        return render_template("intake/file.html", form=form, guide=_guide(form))
    if form.validate_on_submit():
        data = {
            "caller": _caller(form),
            "channel": form.channel.data,
            "note": form.note.data,
            "enterprise_id": form.enterprise_id.data or None,
            "respondent_name": form.respondent_name.data,
            "respondent_region_code": form.respondent_region_code.data,
            "green_channel": form.green_channel.data,
            "subject_kind": form.subject_kind.data,
            "subject": form.subject.data,
            "purchase_date": form.purchase_date.data,
            "purchase_place": form.purchase_place.data,
            "amount": form.amount.data,
            "issue": form.issue.data,
            "requests": form.requests.data,
            "claimed_amount": form.claimed_amount.data,
            "facts": form.facts.data,
        }
        try:
            complaint, _event = intake.file_for_caller(current_user, data)
        except Invalid as exc:
            db.session.rollback()
            _errors(form, exc)
        else:
            reference = complaint.reference
            db.session.commit()
            flash(
                _(
                    "Complaint %(reference)s is filed; the caller was sent the link.",
                    reference=reference,
                ),
                "success",
            )
            return redirect(url_for("intake.case", complaint_id=complaint.id))
    return render_template("intake/file.html", form=form, guide=_guide(form))


def _guide(form):
    """How similar cases ended, once the enterprise or the issue is known (no personal
    data), so the seat can tell the caller what to expect."""
    if not form.issue.data:
        return None
    try:
        return guidance.for_filing(
            enterprise_id=form.enterprise_id.data or None,
            issue=form.issue.data,
            amount=form.amount.data or None,
            figures=viewcache.snapshot("guidance"),
        )
    except Invalid:
        return None


# -- one case --------------------------------------------------------------------------------


def _office_choices(exclude_id: int | None):
    offices = db.session.scalars(
        db.select(MediationBody)
        .where(MediationBody.active.is_(True), MediationBody.kind == BodyKind.OFFICE)
        .order_by(MediationBody.region_code, MediationBody.id)
    ).all()
    return options(
        [("", _("— choose —"))]
        + [(str(b.id), b.display_name()) for b in offices if b.id != exclude_id]
    )


def _load_case(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or role_in_case(current_user, complaint) != Role.INTAKE:
        raise NotFound(_("No such case."))
    return complaint


@bp.route("/cases/<int:complaint_id>", methods=["GET", "POST"])
def case(complaint_id: int):
    complaint = _load_case(complaint_id)
    transfer = forms.TransferForm(prefix="transfer")
    transfer.body_id.choices = _office_choices(complaint.intake_body_id)
    resend = forms.ResendForm(prefix="resend")
    if request.method == "POST":
        try:
            if transfer.submit.data and transfer.validate():
                intake.transfer_complaint(
                    current_user, complaint, body_id=transfer.body_id.data, note=transfer.note.data
                )
                db.session.commit()
                flash(_("The case was passed to the other office's hotline."), "success")
                return redirect(url_for("intake.case", complaint_id=complaint_id))
            if resend.submit.data and resend.validate():
                intake.resend_claim_link(current_user, complaint, email=resend.email.data)
                db.session.commit()
                flash(_("The link was sent to the caller again."), "success")
                return redirect(url_for("intake.case", complaint_id=complaint_id))
        except Invalid as exc:
            db.session.rollback()
            _errors(transfer if transfer.submit.data else resend, exc)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
    events = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.id)
    ).all()
    caller = db.session.get(User, complaint.consumer_id)
    return render_template(
        "intake/case.html",
        complaint=complaint,
        events=events,
        action_label=action_label,
        awaiting_claim=bool(caller and caller.claim_pending),
        transfer=transfer,
        resend=resend,
    )


# -- consultations ---------------------------------------------------------------------------


@bp.route("/consultations/new", methods=["GET", "POST"])
def new_consultation():
    form = forms.ConsultationForm()
    if form.validate_on_submit():
        try:
            consultation = intake.log_consultation(
                current_user,
                {
                    "caller": _caller(form, address=False),
                    "channel": form.channel.data,
                    "topic": form.topic.data,
                    "question": form.question.data,
                    "answer": form.answer.data,
                },
            )
        except Invalid as exc:
            db.session.rollback()
            _errors(form, exc)
        else:
            db.session.commit()
            flash(_("The consultation is logged."), "success")
            return redirect(url_for("intake.consultation", consultation_id=consultation.id))
    return render_template("intake/consultation_new.html", form=form)


@bp.route("/consultations/<int:consultation_id>", methods=["GET", "POST"])
def consultation(consultation_id: int):
    item = intake.load_consultation(current_user, consultation_id)
    transfer = forms.TransferForm(prefix="transfer")
    transfer.body_id.choices = _office_choices(item.intake_body_id)
    if transfer.validate_on_submit():
        try:
            intake.transfer_consultation(
                current_user, item, body_id=transfer.body_id.data, note=transfer.note.data
            )
        except Invalid as exc:
            db.session.rollback()
            _errors(transfer, exc)
        else:
            db.session.commit()
            flash(_("The consultation was passed to the other office's hotline."), "success")
            return redirect(url_for("intake.consultation", consultation_id=consultation_id))
    return render_template("intake/consultation.html", item=item, transfer=transfer)
