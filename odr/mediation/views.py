"""Mediator pages: the queue, the acceptance decision and the mediation workspace.

Each view loads the case, checks that the user is a mediator of it (404 otherwise),
validates its form, calls one operation and commits once.
"""

import io
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice

from odr.auth.decorators import gate_blueprint
from odr.auth.models import User, UserRole
from odr.disputes import operations as ops
from odr.disputes import records
from odr.disputes.evidence import evidence_path
from odr.disputes.models import (
    Agreement,
    CaseEvent,
    Complaint,
    Evidence,
    MediationBody,
    Message,
    Offer,
    Record,
)
from odr.disputes.permissions import can, is_body_head, role_in_case
from odr.disputes.states import Invalid, Move, Role, State, action_label
from odr.extensions import db
from odr.mediation import forms
from odr.mediation import queue as q
from odr.mediation.sessions import schedule_session, sessions_of
from odr.merchant import rows as rows_kit

bp = Blueprint("mediation", __name__)
gate_blueprint(bp, UserRole.MEDIATOR)

STATE_FILTERS = ("pending_acceptance", "mediating", "suspended", "closed")


# -- helpers -----------------------------------------------------------------------------


def load_case(complaint_id: int) -> Complaint:
    """The case, if the current user is a mediator of it; 404 otherwise."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or role_in_case(current_user, complaint) != Role.MEDIATOR:
        abort(404)
    return complaint


def form_errors(form, exc: Invalid) -> None:
    """Put an operation's field errors on the form (unknown fields go to a flash)."""
    shown = False
    for name, message in (exc.fields or {}).items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
            shown = True
    if not shown:
        flash(str(exc.message), "danger")


def one_line_ending(text: str | None) -> str | None:
    """Browsers send textarea lines with CRLF: store them as the parties will read them."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if text else text


def to_workspace(complaint: Complaint, anchor: str | None = None):
    return redirect(
        url_for("mediation.workspace", complaint_id=complaint.id) + (f"#{anchor}" if anchor else "")
    )


def memo(key, compute):
    """Once per request: the queue asks for the same body's mediators on every row."""
    cache = g.setdefault("mediation_memo", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def workload(body_id: int) -> list[tuple[User, int]]:
    return memo(("workload", body_id), lambda: q.workload(body_id))


def mediator_choices(body_id: int | None) -> tuple[list[SelectChoice], User | None]:
    if body_id is None:
        return [], None
    return memo(("choices", body_id), lambda: _mediator_choices(body_id))


def _mediator_choices(body_id: int) -> tuple[list[SelectChoice], User | None]:
    load = workload(body_id)
    suggestion = q.least_busy(load)
    choices = []
    for mediator, count in load:
        label = _("%(name)s (%(n)s open cases)", name=mediator.name, n=count)
        if suggestion is not None and mediator.id == suggestion.id:
            label = _("%(label)s — suggested", label=label)
        choices.append(SelectChoice(mediator.id, label))
    return choices, suggestion


def assign_form(complaint: Complaint, formdata=None) -> forms.AssignForm | None:
    """The head's form to assign or reassign the case, the suggestion preselected."""
    if not is_body_head(current_user, complaint.body_id) or not can(
        current_user, Move.ASSIGN, complaint
    ):
        return None
    form = forms.AssignForm(formdata=formdata, prefix=f"assign{complaint.id}")
    choices, suggestion = mediator_choices(complaint.body_id)
    form.mediator_id.choices = choices
    if formdata is None:
        if complaint.mediator_id is None and suggestion is not None:
            form.mediator_id.data = suggestion.id
        else:
            form.mediator_id.data = complaint.mediator_id
    return form


def hand_down_form(complaint: Complaint, formdata=None) -> forms.HandDownForm | None:
    """A parent office hands an overdue case of a child office down to another office
    below it."""
    if complaint.raised_to_body_id not in current_user.body_ids:
        return None
    if complaint.state != State.PENDING_ACCEPTANCE:
        return None
    form = forms.HandDownForm(formdata=formdata, prefix=f"down{complaint.id}")
    below = memo(
        ("below", complaint.raised_to_body_id),
        lambda: q.descendant_bodies({complaint.raised_to_body_id}),
    )
    form.body_id.choices = [
        SelectChoice(b.id, b.display_name()) for b in below if b.id != complaint.body_id
    ]
    if not form.body_id.choices:
        return None
    return form


# -- the queue ---------------------------------------------------------------------------


QUEUE_TEXTS = {
    "paused": _l("Clock paused"),
    "left": _l("%(n)s working days left"),
    "acceptance": _l("Acceptance (7 working days)"),
    "mediation": _l("Mediation (45 working days)"),
    "mediator_of": _l("Mediator of %(reference)s"),
}


@dataclass(slots=True)
class QueueRow:
    """What one queue row prints, computed once (the template only places it)."""

    id: int
    reference: str
    url: str
    subject: str
    respondent: str
    urgency: int
    state: str
    state_label: str
    colour: str
    body: str
    mediator: str | None
    decide_url: str | None
    clock: str = ""  # "paused", "running" or "" (none)
    clock_kind: str = ""
    deadline: str = ""
    clock_class: str = ""
    clock_text: str = ""
    # The head's assignment form: the <option>s (suggestion or mediator selected), its label.
    assign_options: str | None = None
    assign_label: str = ""
    assign_url: str = ""

    @property
    def overdue(self) -> bool:
        return self.urgency == q.OVERDUE

    @property
    def due_soon(self) -> bool:
        return self.urgency == q.DUE_SOON


def assign_options(body_id: int | None, selected: int | None) -> Markup:
    """The <option>s of the assignment select, as WTForms prints them, once per body and
    selected mediator in a request."""

    def build():
        choices, _suggestion = mediator_choices(body_id)
        option = Markup('<option {}value="{}">{}</option>')
        return Markup("").join(
            option.format(Markup("selected ") if c.value == selected else "", c.value, c.label)
            for c in choices
        )

    return memo(("options", body_id, selected), build)


def queue_rows(rows: list, heads: set[int]) -> list[QueueRow]:
    user = current_user._get_current_object()
    texts = rows_kit.translated("queue", QUEUE_TEXTS)
    states = rows_kit.labels_of(State)
    workspace_url = rows_kit.url_maker("mediation.workspace", "complaint_id")
    decide_url = rows_kit.url_maker("mediation.acceptance", "complaint_id")
    assign_url = rows_kit.url_maker("mediation.assign", "complaint_id")
    out = []
    for row in rows:
        c = row.complaint
        item = QueueRow(
            id=c.id,
            reference=c.reference,
            url=workspace_url(c.id),
            subject=c.subject,
            respondent=c.respondent_display,
            urgency=row.urgency,
            state=c.state.value,
            state_label=states[c.state],
            colour=rows_kit.state_colour(c.state),
            body=c.body.display_name() if c.body else "—",
            mediator=c.mediator.name if c.mediator else None,
            decide_url=decide_url(c.id) if c.state == State.PENDING_ACCEPTANCE else None,
        )
        if c.state == State.SUSPENDED:
            item.clock = "paused"
            item.clock_text = texts["paused"]
            if c.clock_days_left is not None:
                item.clock_text += Markup(" · ") + texts["left"] % {"n": c.clock_days_left}
        elif c.deadline_at and c.state in (State.PENDING_ACCEPTANCE, State.MEDIATING):
            left = rows_kit.days_left(c.deadline_at)
            item.clock = "running"
            item.clock_kind = texts[
                "acceptance" if c.state == State.PENDING_ACCEPTANCE else "mediation"
            ]
            item.deadline = rows_kit.local_day(c.deadline_at)
            item.clock_class = rows_kit.clock_class(left)
            item.clock_text = rows_kit.clock_text(left)
        if c.body_id in heads and c.state.is_open and can(user, Move.ASSIGN, c):
            _choices, suggestion = mediator_choices(c.body_id)
            selected = c.mediator_id
            if selected is None and suggestion is not None:
                selected = suggestion.id
            item.assign_options = assign_options(c.body_id, selected)
            item.assign_label = texts["mediator_of"] % {"reference": c.reference}
            item.assign_url = assign_url(c.id)
        out.append(item)
    return out


@bp.route("/")
def queue():
    state = request.args.get("state") or None
    if state not in STATE_FILTERS:
        state = None
    scope = "mine" if request.args.get("scope") == "mine" else "all"
    cursor = request.args.get("cursor") or None
    raised_cursor = request.args.get("raised") or None
    rows, next_cursor = q.queue_page(current_user, state=state, scope=scope, cursor=cursor)
    raised, raised_next = [], None
    if state in (None, "pending_acceptance"):
        raised, raised_next = q.raised_page(current_user, cursor=raised_cursor)
    heads = q.head_bodies(current_user)
    hand_down = {}
    for row in raised:
        form = hand_down_form(row.complaint)
        if form is not None:
            hand_down[row.complaint.id] = form
    workloads = {body_id: workload(body_id) for body_id in sorted(heads)}
    bodies = {
        b.id: b
        for b in db.session.scalars(
            db.select(MediationBody).where(MediationBody.id.in_(current_user.body_ids or {0}))
        )
    }
    return render_template(
        "mediation/queue.html",
        rows=queue_rows(rows, heads),
        raised=queue_rows(raised, set()),
        state=state,
        scope=scope,
        cursor=cursor,
        next_cursor=next_cursor,
        raised_cursor=raised_cursor,
        raised_next=raised_next,
        filters=STATE_FILTERS,
        hand_down=hand_down,
        pull_up=forms.ActionForm(prefix="pull"),
        workloads=workloads,
        bodies=bodies,
        is_head=bool(heads),
        State=State,
    )


@bp.route("/cases/<int:complaint_id>/assign", methods=["POST"])
def assign(complaint_id: int):
    complaint = load_case(complaint_id)
    form = assign_form(complaint, formdata=request.form)
    if form is None:
        abort(403)
    if form.validate():
        try:
            ops.assign_mediator(current_user, complaint, mediator_id=form.mediator_id.data)
        except Invalid as exc:
            db.session.rollback()
            flash(str(exc.fields.get("mediator_id") or exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Case %(reference)s assigned.", reference=complaint.reference), "success")
    else:
        flash(_("Choose a mediator of this body."), "danger")
    return redirect(request.referrer or url_for("mediation.queue"))


@bp.route("/cases/<int:complaint_id>/pull-up", methods=["POST"])
def pull_up(complaint_id: int):
    """A parent office takes an overdue case of a child office itself."""
    complaint = load_case(complaint_id)
    if complaint.raised_to_body_id not in current_user.body_ids:
        abort(404)
    form = forms.ActionForm(prefix="pull")
    if not form.validate():
        abort(400)
    ops.accept_case(current_user, complaint)
    db.session.commit()
    flash(
        _("Case %(reference)s accepted by your office.", reference=complaint.reference), "success"
    )
    return to_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/hand-down", methods=["POST"])
def hand_down(complaint_id: int):
    complaint = load_case(complaint_id)
    form = hand_down_form(complaint, formdata=request.form)
    if form is None:
        abort(404)
    if not form.validate():
        flash(_("Choose the office and give a reason."), "danger")
        return redirect(url_for("mediation.queue"))
    try:
        ops.transfer_case(
            current_user,
            complaint,
            body_id=form.body_id.data,
            reason=one_line_ending(form.reason.data),
        )
    except Invalid as exc:
        db.session.rollback()
        flash(str(exc.fields.get("body_id") or exc.message), "danger")
        return redirect(url_for("mediation.queue"))
    db.session.commit()
    flash(_("Case %(reference)s handed down.", reference=complaint.reference), "success")
    return redirect(url_for("mediation.queue"))


# -- acceptance --------------------------------------------------------------------------


def transfer_form(complaint: Complaint, formdata=None) -> forms.TransferForm:
    form = forms.TransferForm(formdata=formdata, prefix="transfer")
    groups = q.transfer_targets(complaint.body_id)
    form.body_id.choices = groups
    return form


def render_acceptance(complaint, *, accept=None, refuse=None, transfer=None, status=200):
    return (
        render_template(
            "mediation/acceptance.html",
            complaint=complaint,
            accept_form=accept or forms.ActionForm(prefix="accept"),
            refuse_form=refuse or forms.RefuseForm(prefix="refuse"),
            transfer_form=transfer or transfer_form(complaint),
            raised=complaint.raised_to_body_id in current_user.body_ids
            and complaint.body_id not in current_user.body_ids,
        ),
        status,
    )


@bp.route("/cases/<int:complaint_id>/acceptance")
def acceptance(complaint_id: int):
    complaint = load_case(complaint_id)
    if complaint.state != State.PENDING_ACCEPTANCE:
        return to_workspace(complaint)
    return render_acceptance(complaint)


@bp.route("/cases/<int:complaint_id>/accept", methods=["POST"])
def accept(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.ActionForm(prefix="accept")
    if not form.validate():
        return render_acceptance(complaint, accept=form, status=400)
    ops.accept_case(current_user, complaint)
    db.session.commit()
    flash(_("Case %(reference)s accepted for mediation.", reference=complaint.reference), "success")
    return to_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/refuse", methods=["POST"])
def refuse(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.RefuseForm(prefix="refuse")
    if not form.validate():
        return render_acceptance(complaint, refuse=form, status=422)
    try:
        ops.refuse_case(
            current_user,
            complaint,
            reason=one_line_ending(form.reason.data),
            explanation=one_line_ending(form.explanation.data),
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_acceptance(complaint, refuse=form, status=422)
    db.session.commit()
    flash(
        _("Case %(reference)s refused; the decision was issued.", reference=complaint.reference),
        "success",
    )
    return to_workspace(complaint, "records")


@bp.route("/cases/<int:complaint_id>/transfer", methods=["POST"])
def transfer(complaint_id: int):
    complaint = load_case(complaint_id)
    form = transfer_form(complaint, formdata=request.form)
    if not form.validate():
        return render_acceptance(complaint, transfer=form, status=422)
    try:
        ops.transfer_case(
            current_user,
            complaint,
            body_id=form.body_id.data,
            reason=one_line_ending(form.reason.data),
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_acceptance(complaint, transfer=form, status=422)
    db.session.commit()
    flash(_("Case %(reference)s transferred.", reference=complaint.reference), "success")
    return redirect(url_for("mediation.queue"))


# -- the workspace -----------------------------------------------------------------------


def workspace_data(complaint: Complaint) -> dict:
    cid = complaint.id
    messages = db.session.scalars(
        db.select(Message).where(Message.complaint_id == cid).order_by(Message.id)
    ).all()
    agreements = db.session.scalars(
        db.select(Agreement).where(Agreement.complaint_id == cid).order_by(Agreement.id.desc())
    ).all()
    return {
        "events": db.session.scalars(
            db.select(CaseEvent).where(CaseEvent.complaint_id == cid).order_by(CaseEvent.id)
        ).all(),
        "thread": [m for m in messages if not m.internal],
        "notes": [m for m in messages if m.internal],
        "offers": db.session.scalars(
            db.select(Offer).where(Offer.complaint_id == cid).order_by(Offer.id)
        ).all(),
        "evidence": db.session.scalars(
            db.select(Evidence).where(Evidence.complaint_id == cid).order_by(Evidence.id)
        ).all(),
        "agreement": agreements[0] if agreements else None,
        "old_agreements": agreements[1:],
        "sessions": sessions_of(complaint),
        "records": records.records_of(complaint),
    }


def render_workspace(complaint: Complaint, status: int = 200, **bound):
    def form(name, cls, prefix):
        return bound.get(name) or cls(prefix=prefix)

    agreement_form = bound.get("agreement_form") or forms.AgreementForm(prefix="agr")
    return (
        render_template(
            "mediation/workspace.html",
            complaint=complaint,
            can=lambda move: can(current_user, move, complaint),
            Move=Move,
            State=State,
            message_form=form("message_form", forms.MessageForm, "msg"),
            note_form=form("note_form", forms.NoteForm, "note"),
            session_form=form("session_form", forms.SessionForm, "sess"),
            suspend_form=form("suspend_form", forms.SuspendForm, "susp"),
            resume_form=forms.ActionForm(prefix="resume"),
            agreement_form=agreement_form,
            terminate_form=form("terminate_form", forms.TerminateForm, "term"),
            case_file_form=forms.ActionForm(prefix="casefile"),
            assign_form=bound.get("assign_form") or assign_form(complaint),
            is_head=is_body_head(current_user, complaint.body_id),
            **workspace_data(complaint),
        ),
        status,
    )


@bp.route("/cases/<int:complaint_id>")
def workspace(complaint_id: int):
    complaint = load_case(complaint_id)
    return render_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/messages", methods=["POST"])
def post_message(complaint_id: int):
    complaint = load_case(complaint_id)
    internal = request.form.get("kind") == "note"
    form = forms.NoteForm(prefix="note") if internal else forms.MessageForm(prefix="msg")
    key = "note_form" if internal else "message_form"
    if not form.validate():
        return render_workspace(complaint, 422, **{key: form})
    try:
        ops.post_message(
            current_user, complaint, one_line_ending(form.body.data), internal=internal
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, **{key: form})
    db.session.commit()
    flash(_("Note saved.") if internal else _("Message sent."), "success")
    return to_workspace(complaint, "notes" if internal else "thread")


@bp.route("/cases/<int:complaint_id>/sessions", methods=["POST"])
def schedule(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.SessionForm(prefix="sess")
    if not form.validate():
        return render_workspace(complaint, 422, session_form=form)
    try:
        schedule_session(
            current_user,
            complaint,
            day=form.day.data,
            at=form.time.data,
            mode=form.mode.data,
            place=form.place.data,
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, session_form=form)
    db.session.commit()
    flash(_("Session scheduled; both parties were notified."), "success")
    return to_workspace(complaint, "sessions")


@bp.route("/cases/<int:complaint_id>/suspend", methods=["POST"])
def suspend(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.SuspendForm(prefix="susp")
    if not form.validate():
        return render_workspace(complaint, 422, suspend_form=form)
    kinds = forms.SUSPENSION_KINDS
    # The ground is written in the case's language: the parties read it on their timeline.
    with force_locale(complaint.language or "zh_CN"):
        reason = _(
            "%(ground)s: %(details)s",
            ground=kinds[form.kind.data],
            details=form.reason.data.strip(),
        )
    try:
        ops.suspend(current_user, complaint, reason=reason)
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, suspend_form=form)
    db.session.commit()
    flash(_("Mediation suspended; the clock is paused."), "success")
    return to_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/resume", methods=["POST"])
def resume(complaint_id: int):
    complaint = load_case(complaint_id)
    if not forms.ActionForm(prefix="resume").validate():
        abort(400)
    ops.resume(current_user, complaint)
    db.session.commit()
    flash(_("Mediation resumed; the clock runs again."), "success")
    return to_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/agreement", methods=["POST"])
def propose(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.AgreementForm(prefix="agr")
    if not form.validate():
        return render_workspace(complaint, 422, agreement_form=form)
    try:
        ops.propose_agreement(
            current_user,
            complaint,
            terms=one_line_ending(form.terms.data),
            amount=form.amount.data,
            performance_due=form.performance_due.data,
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, agreement_form=form)
    db.session.commit()
    flash(_("Agreement proposed; both parties were asked to sign it."), "success")
    return to_workspace(complaint, "agreement")


@bp.route("/cases/<int:complaint_id>/terminate", methods=["POST"])
def terminate(complaint_id: int):
    complaint = load_case(complaint_id)
    form = forms.TerminateForm(prefix="term")
    if not form.validate():
        return render_workspace(complaint, 422, terminate_form=form)
    try:
        ops.terminate(
            current_user,
            complaint,
            reason=one_line_ending(form.reason.data),
            explanation=one_line_ending(form.explanation.data),
        )
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, terminate_form=form)
    db.session.commit()
    flash(_("Mediation terminated; the decision was issued."), "success")
    return to_workspace(complaint, "records")


@bp.route("/cases/<int:complaint_id>/reassign", methods=["POST"])
def reassign(complaint_id: int):
    complaint = load_case(complaint_id)
    form = assign_form(complaint, formdata=request.form)
    if form is None:
        abort(403)
    if not form.validate():
        return render_workspace(complaint, 422, assign_form=form)
    try:
        ops.assign_mediator(current_user, complaint, mediator_id=form.mediator_id.data)
    except Invalid as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_workspace(complaint, 422, assign_form=form)
    db.session.commit()
    flash(_("Case %(reference)s assigned.", reference=complaint.reference), "success")
    return to_workspace(complaint)


@bp.route("/cases/<int:complaint_id>/case-file", methods=["POST"])
def issue_case_file(complaint_id: int):
    complaint = load_case(complaint_id)
    if not forms.ActionForm(prefix="casefile").validate():
        abort(400)
    records.issue_case_file(current_user, complaint)
    db.session.commit()
    flash(_("The case file was issued."), "success")
    return to_workspace(complaint, "records")


@bp.route("/cases/<int:complaint_id>/evidence/<int:evidence_id>")
def evidence(complaint_id: int, evidence_id: int):
    complaint = load_case(complaint_id)
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.complaint_id != complaint.id:
        abort(404)
    path = evidence_path(item)
    if not path.is_file():
        abort(404)
    return send_file(
        path, mimetype=item.content_type, as_attachment=True, download_name=item.filename
    )


@bp.route("/cases/<int:complaint_id>/records/<code>.pdf")
def record(complaint_id: int, code: str):
    complaint = load_case(complaint_id)
    found = records.find_record(code)
    if found is None or found.complaint_id != complaint.id:
        abort(404)
    return send_record(found, complaint)


def send_record(found: Record, complaint: Complaint):
    response = send_file(
        io.BytesIO(records.record_bytes(found)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{complaint.reference}-{found.kind}-{found.code}.pdf",
        etag=found.sha256,
        max_age=0,
    )
    response.headers["X-Record-SHA256"] = found.sha256
    return response


# -- template helpers --------------------------------------------------------------------


_event_label = action_label  # one translation of timeline actions for every page


def _actor_label(role: str | None) -> str:
    return {
        "consumer": _("Consumer"),
        "enterprise": _("Enterprise"),
        "mediator": _("Mediator"),
        "system": _("System"),
        "admin": _("Regulator"),
    }.get(role or "", role or "")


def _offer_status(status: str) -> str:
    return {
        "open": _("Awaiting answer"),
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "superseded": _("Superseded"),
        "lapsed": _("Lapsed"),
    }.get(status, status)


def _agreement_status(status: str) -> str:
    return {
        "proposed": _("Awaiting signatures"),
        "signed": _("Signed by both parties"),
        "superseded": _("Superseded"),
    }.get(status, status)


def _session_mode(mode: str) -> str:
    return str(forms.SESSION_MODES.get(mode, mode))


def _complaint_requests(complaint: Complaint) -> str:
    from odr.disputes.choices import Request

    labels = []
    for value in complaint.requests or []:
        try:
            labels.append(str(Request(value).label))
        except ValueError:
            labels.append(str(value))
    return ", ".join(labels)


def _signing_parties(complaint: Complaint) -> list[str]:
    return ["consumer", "enterprise"] if complaint.enterprise_id is not None else ["consumer"]


def _signature_of(agreement: Agreement, party: str):
    return next((s for s in agreement.signatures if s.party == party), None)


@bp.context_processor
def helpers():
    return {
        "event_label": _event_label,
        "actor_label": _actor_label,
        "offer_status": _offer_status,
        "agreement_status": _agreement_status,
        "session_mode": _session_mode,
        "complaint_requests": _complaint_requests,
        "signing_parties": _signing_parties,
        "signature_of": _signature_of,
    }
