"""The case page of the enterprise: facts, evidence, thread, offers, decline, performance,
the mediation agreement's signature, the timeline and the records."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr import casepage, downloads
from odr.auth.models import User
from odr.disputes import operations as ops
from odr.disputes.models import (
    Agreement,
    CaseEvent,
    Complaint,
    Evidence,
    Message,
    Offer,
    Record,
)
from odr.disputes.permissions import can, can_see_contact, role_in_case
from odr.disputes.states import AGREED_STATES, DomainError, Invalid, Move, Role, action_label
from odr.extensions import db
from odr.merchant import queries
from odr.merchant.forms import (
    AssignForm,
    ChangesForm,
    DeclineForm,
    EvidenceForm,
    MessageForm,
    OfferForm,
    PerformanceForm,
    SignForm,
)
from odr.merchant.views import assignee_choices, bp


def load_case(case_id: int) -> Complaint:
    """The case, if the signed-in user is staff of its enterprise; else 404."""
    complaint = db.session.get(Complaint, case_id)
    if complaint is None or role_in_case(current_user, complaint) != Role.ENTERPRISE:
        abort(404)
    return complaint


_label = action_label  # one translation of timeline actions for every page


def render_case(complaint: Complaint, status: int = 200, **forms):
    blank = {"formdata": None}
    forms = {
        "message_form": forms.get("message_form") or MessageForm(**blank),
        "offer_form": forms.get("offer_form") or OfferForm(**blank),
        "decline_form": forms.get("decline_form") or DeclineForm(**blank),
        "performance_form": forms.get("performance_form") or PerformanceForm(**blank),
        "changes_form": forms.get("changes_form") or ChangesForm(**blank),
        "evidence_form": forms.get("evidence_form") or EvidenceForm(**blank),
        "sign_errors": forms.get("sign_errors") or [],
    }
    events = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.id)
    ).all()
    messages = db.session.scalars(
        db.select(Message)
        .where(Message.complaint_id == complaint.id, Message.internal.is_(False))
        .order_by(Message.id)
    ).all()
    offers = db.session.scalars(
        db.select(Offer).where(Offer.complaint_id == complaint.id).order_by(Offer.id.desc())
    ).all()
    evidence = db.session.scalars(
        db.select(Evidence).where(Evidence.complaint_id == complaint.id).order_by(Evidence.id)
    ).all()
    records = db.session.scalars(
        db.select(Record).where(Record.complaint_id == complaint.id).order_by(Record.id)
    ).all()
    agreement = db.session.scalar(
        db.select(Agreement)
        .where(Agreement.complaint_id == complaint.id, Agreement.status == "proposed")
        .order_by(Agreement.id.desc())
        .limit(1)
    )
    signed_agreement = db.session.scalar(
        db.select(Agreement)
        .where(Agreement.complaint_id == complaint.id, Agreement.status == "signed")
        .order_by(Agreement.id.desc())
        .limit(1)
    )
    # Every person named on the page, in one query.
    people_ids = (
        {e.actor_id for e in events}
        | {m.author_id for m in messages}
        | {o.made_by_id for o in offers}
        | {e.uploaded_by_id for e in evidence}
    ) - {None}
    people = (
        {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(people_ids)))}
        if people_ids
        else {}
    )
    staff = queries.staff_of(complaint.enterprise_id)
    assign_form = AssignForm(formdata=None)
    assign_form.assignee_id.choices = assignee_choices(staff)
    assign_form.assignee_id.data = str(complaint.assignee_id or "none")
    we_signed = agreement is not None and any(s.party == "enterprise" for s in agreement.signatures)
    can_write = complaint.state.is_open or complaint.state in AGREED_STATES
    journey = casepage.journey(
        complaint,
        Role.ENTERPRISE,
        current_user.id,
        records=records,
        record_url=lambda code: url_for("merchant.record_pdf", case_id=complaint.id, code=code),
        may_write=can_write,
        messages_anchor="#message-form",
    )
    return (
        render_template(
            "merchant/case.html",
            complaint=complaint,
            journey=journey,
            events=events,
            messages=messages,
            offers=offers,
            evidence=evidence,
            records=records,
            agreement=agreement,
            signed_agreement=signed_agreement,
            we_signed=we_signed,
            people=people,
            staff={u.id: u for u in staff},
            assign_form=assign_form,
            show_contact=can_see_contact(current_user, complaint),
            can_offer=can(current_user, Move.MAKE_OFFER, complaint),
            can_decline=can(current_user, Move.DECLINE, complaint),
            can_sign=can(current_user, Move.SIGN_AGREEMENT, complaint)
            and agreement is not None
            and not we_signed,
            can_perform=can(current_user, Move.REPORT_PERFORMANCE, complaint)
            and complaint.performance_status is not None
            and str(complaint.performance_status) == "pending",
            can_write=can_write,
            event_label=_label,
            **forms,
        ),
        status,
    )


def _invalid(complaint: Complaint, form, exc: Invalid, key: str):
    """An operation refused the input: show its messages on the form, keep what was typed."""
    db.session.rollback()
    complaint = db.session.get(Complaint, complaint.id)
    for field, message in exc.fields.items():
        if field in form:
            form[field].errors = [*form[field].errors, message]
        else:
            flash(str(message), "danger")
    if not exc.fields:
        flash(str(exc.message), "danger")
    return render_case(complaint, 422, **{key: form})


def _done(complaint: Complaint, message: str, anchor: str = ""):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("merchant.case", case_id=complaint.id) + anchor)


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
def case(case_id: int):
    """The case page. A POST here is the signature of the mediation agreement."""
    complaint = load_case(case_id)
    if request.method == "GET":
        return render_case(complaint)
    form = SignForm()
    if not form.validate_on_submit():
        errors = form.password.errors or [_("Please try again.")]
        return render_case(complaint, 422, sign_errors=list(errors))
    try:
        ops.sign_agreement(
            current_user,
            complaint,
            password=form.password.data,
            require_password=True,
            ip_address=request.remote_addr,
        )
    except Invalid as exc:
        db.session.rollback()
        complaint = db.session.get(Complaint, case_id)
        messages = list(exc.fields.values()) or [str(exc.message)]
        return render_case(complaint, 422, sign_errors=messages)
    return _done(complaint, _("You have signed the agreement."), "#agreement")


@bp.route("/cases/<int:case_id>/messages", methods=["POST"])
def post_message(case_id: int):
    complaint = load_case(case_id)
    form = MessageForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, message_form=form)
    try:
        ops.post_message(current_user, complaint, form.body.data)
    except Invalid as exc:
        return _invalid(complaint, form, exc, "message_form")
    return _done(complaint, _("Message sent."), "#thread")


@bp.route("/cases/<int:case_id>/offers", methods=["POST"])
def make_offer(case_id: int):
    complaint = load_case(case_id)
    form = OfferForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, offer_form=form)
    warnings = ops.offer_warnings(form.remedy.data, form.amount.data)
    if warnings and not form.confirm_zero.data:
        # Asked once: the box appears with the warning, ticked it sends the offer.
        form.confirm_zero.errors = [w["message"] for w in warnings]
        return render_case(complaint, 422, offer_form=form)
    try:
        ops.make_offer(
            current_user,
            complaint,
            remedy=form.remedy.data,
            amount=form.amount.data,
            terms=form.terms.data,
            performance_due=form.performance_due.data,
            expires_on=form.expires_on.data,
        )
    except Invalid as exc:
        return _invalid(complaint, form, exc, "offer_form")
    return _done(complaint, _("Your offer was sent to the consumer."), "#offers")


@bp.route("/cases/<int:case_id>/agreement/changes", methods=["POST"])
def ask_for_changes(case_id: int):
    complaint = load_case(case_id)
    form = ChangesForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, changes_form=form)
    try:
        ops.ask_for_changes(current_user, complaint, reasons=form.reasons.data)
    except Invalid as exc:
        return _invalid(complaint, form, exc, "changes_form")
    return _done(complaint, _("Your request for changes was sent to the mediator."), "#agreement")


@bp.route("/cases/<int:case_id>/decline", methods=["POST"])
def decline(case_id: int):
    complaint = load_case(case_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, decline_form=form)
    try:
        ops.decline(current_user, complaint, reason=form.reason.data)
    except Invalid as exc:
        return _invalid(complaint, form, exc, "decline_form")
    return _done(complaint, _("You declined to settle; the case went to mediation."))


@bp.route("/cases/<int:case_id>/performance", methods=["POST"])
def performance(case_id: int):
    complaint = load_case(case_id)
    form = PerformanceForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, performance_form=form)
    try:
        ops.report_performance(current_user, complaint, status="confirmed", note=form.note.data)
    except Invalid as exc:
        return _invalid(complaint, form, exc, "performance_form")
    return _done(complaint, _("Performance confirmed."))


@bp.route("/cases/<int:case_id>/evidence", methods=["POST"])
def upload_evidence(case_id: int):
    complaint = load_case(case_id)
    form = EvidenceForm()
    if not form.validate_on_submit():
        return render_case(complaint, 422, evidence_form=form)
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", None):
        form.file.errors = [*form.file.errors, _("Please attach the file.")]
        return render_case(complaint, 422, evidence_form=form)
    try:
        ops.add_evidence(current_user, complaint, storage.stream, storage.filename)
    except DomainError as exc:
        if exc.status not in (413, 415, 422):
            raise
        db.session.rollback()
        complaint = db.session.get(Complaint, case_id)
        form.file.errors = [*form.file.errors, str(exc.message)]
        return render_case(complaint, 422, evidence_form=form)
    return _done(complaint, _("The file was added to the case."), "#evidence")


@bp.route("/cases/<int:case_id>/evidence/<int:evidence_id>")
def evidence_file(case_id: int, evidence_id: int):
    complaint = load_case(case_id)
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.complaint_id != complaint.id:
        abort(404)
    return downloads.send_evidence(item)


@bp.route("/cases/<int:case_id>/records/<code>.pdf")
def record_pdf(case_id: int, code: str):
    complaint = load_case(case_id)
    record = db.session.scalar(
        db.select(Record).where(Record.code == code, Record.complaint_id == complaint.id)
    )
    if record is None:
        abort(404)
    return downloads.send_record(record, complaint.reference)
