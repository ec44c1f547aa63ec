"""Mediator pages: the queue, the acceptance decision and the mediation workspace.

Each view loads the case, checks that the user is a mediator of it (404 otherwise),
validates its form, calls one operation and commits once.
"""

from typing import NamedTuple

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice

from odr import casepage, downloads, viewcache
from odr import display as rows_kit
from odr.auth.decorators import gate_blueprint
from odr.auth.models import User, UserRole
from odr.disputes import guidance, joint, records
from odr.disputes import operations as ops
from odr.disputes.choices import Request
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
from odr.disputes.sessions import schedule_session
from odr.disputes.states import TRANSITIONS, Invalid, Move, Role, State, action_label
from odr.extensions import db
from odr.mediation import forms
from odr.mediation import queue as q
from odr.urls import id_urls, same_site_path

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


RUNNING_CLOCK = (State.PENDING_ACCEPTANCE, State.MEDIATING)


def body_name(row) -> str:
    """The display name of a row's body (MediationBody.display_name on the joined names)."""
    if row.body_name_en and rows_kit.locale_key() == "en":
        return row.body_name_en
    return row.body_name


def respondent(c) -> str:
    """Complaint.respondent_display on a row's columns."""
    return c.enterprise_name if c.enterprise_id else (c.respondent_name or "")


def assignment(c, heads: set[int]) -> tuple[list[SelectChoice], int | None] | None:
    """(the mediators offered, the one selected) where the reader may assign the queue's
    case: a head of its body, in the states ASSIGN is open in (as permissions.can decides
    for a mediator of the body); else None. `heads`: the bodies an active reader heads
    (none for a reader whose account is not active)."""
    if c.body_id not in heads:
        return None
    if c.state not in TRANSITIONS[Move.ASSIGN][0]:
        return None
    choices, suggestion = mediator_choices(c.body_id)
    selected = c.mediator_id
    if selected is None and suggestion is not None:
        selected = suggestion.id
    return choices, selected


def hand_down_choices(rows: list, user_bodies: frozenset[int]) -> dict[int, list[SelectChoice]]:
    """{case id: the offices it may be handed down to} of the raised cases that may be
    handed down (hand_down_form's choices); the template places the form. `user_bodies`:
    the bodies the reader is a member of."""
    out = {}
    for row in rows:
        c = row.complaint
        if c.raised_to_body_id not in user_bodies or c.state != State.PENDING_ACCEPTANCE:
            continue
        parent = c.raised_to_body_id
        below = memo(("below", parent), lambda p=parent: q.descendant_bodies({p}))
        choices = [SelectChoice(b.id, b.display_name()) for b in below if b.id != c.body_id]
        if choices:
            out[c.id] = choices
    return out


_bodies = MediationBody.__table__.c
_BODIES = sa.select(
    _bodies.id, _bodies.name.label("body_name"), _bodies.name_en.label("body_name_en")
).where(_bodies.id.in_(sa.bindparam("ids", expanding=True)))


def body_names(ids: set[int]) -> dict[int, str]:
    """{id: display name} of the bodies."""
    if not ids:
        return {}
    found = db.session.execute(_BODIES, {"ids": sorted(ids)})
    return {b.id: body_name(b) for b in found}


class QueueLine(NamedTuple):
    """One case of the queue with the values its row shows, computed in the view (a
    template global called per row costs more than the work)."""

    complaint: sa.Row
    urgency: int
    days_left: int | None
    url: str  # the workspace
    action_url: str  # the row's button: the acceptance decision while pending, else the workspace
    assign_url: str | None  # where the assignment form posts (with `assign`)
    css: str  # the row's class: table-danger (overdue), table-warning (due soon) or ""
    respondent: str
    colour: str
    label: Markup
    assign: tuple[list[SelectChoice], int | None] | None  # assignment()
    assign_label: str
    clock: rows_kit.Clock | None  # of a running clock
    turn: rows_kit.TurnCell | None  # what the case waits for from the mediator


_URGENCY_CLASSES = {q.OVERDUE: "table-danger", q.DUE_SOON: "table-warning"}


def queue_lines(found: list, heads: set[int]) -> list[QueueLine]:
    locale = rows_kit.locale_key()
    labels = rows_kit.state_labels()
    assign_label = _("Mediator of %(reference)s")
    workspace_url = id_urls("mediation.workspace", "complaint_id")
    acceptance_url = id_urls("mediation.acceptance", "complaint_id")
    assign_url = id_urls("mediation.assign", "complaint_id")
    if not current_user.active:  # asked once, not on every row (a proxy's lookup each)
        heads = frozenset()
    out = []
    for row in found:
        c = row.complaint
        clock = None
        if c.deadline_at and c.state in RUNNING_CLOCK:
            clock = rows_kit.clock_parts(c.deadline_at, row.days_left, locale)
        url = workspace_url(c.id)
        assign = assignment(c, heads)
        out.append(
            QueueLine(
                c,
                row.urgency,
                row.days_left,
                url,
                acceptance_url(c.id) if c.state == State.PENDING_ACCEPTANCE else url,
                assign_url(c.id) if assign else None,
                _URGENCY_CLASSES.get(row.urgency, ""),
                respondent(c),
                rows_kit.state_colour(c.state),
                labels[c.state],
                assign,
                assign_label % {"reference": c.reference},
                clock,
                rows_kit.turn_cell(c.turn, c.deadline_at, None, locale)
                if "turn" in c._fields
                else None,
            )
        )
    return out


@bp.route("/")
def queue():
    state = request.args.get("state") or None
    if state not in STATE_FILTERS:
        state = None
    scope = "mine" if request.args.get("scope") == "mine" else "all"
    cursor = request.args.get("cursor") or None
    raised_cursor = request.args.get("raised") or None
    my_turn = request.args.get("turn") == "1" and state != "closed"
    # The reader's bodies, read once for the page's statements and forms.
    bodies = user_bodies, heads = q.bodies_of(current_user)
    rows, next_cursor = q.queue_page(
        current_user, state=state, scope=scope, cursor=cursor, my_turn=my_turn, bodies=bodies
    )
    raised, raised_next = [], None
    if state in (None, "pending_acceptance"):
        raised, raised_next = q.raised_page(current_user, cursor=raised_cursor, bodies=bodies)
    workloads = {body_id: workload(body_id) for body_id in sorted(heads)}
    return render_template(
        "mediation/queue.html",
        rows=queue_lines(rows, heads),
        raised=raised,
        hand_down=hand_down_choices(raised, user_bodies),
        body_name=body_name,
        respondent=respondent,
        running_clock=RUNNING_CLOCK,
        overdue=q.OVERDUE,
        due_soon=q.DUE_SOON,
        state=state,
        scope=scope,
        my_turn=my_turn,
        cursor=cursor,
        next_cursor=next_cursor,
        raised_cursor=raised_cursor,
        raised_next=raised_next,
        filters=STATE_FILTERS,
        pull_up=forms.ActionForm(prefix="pull") if raised else None,
        workloads=workloads,
        bodies=body_names(user_bodies),
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
    return redirect(same_site_path(request.referrer) or url_for("mediation.queue"))


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
            joint_group=joint.joint_of(complaint.id),
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
        # The parties' requests for changes to the current proposal, with their reasons.
        "change_requests": ops.change_requests(complaint, agreements[0].id) if agreements else [],
        "records": records.records_of(complaint),
    }


def render_workspace(complaint: Complaint, status: int = 200, **bound):
    def form(name, cls, prefix):
        return bound.get(name) or cls(prefix=prefix)

    agreement_form = bound.get("agreement_form") or forms.AgreementForm(prefix="agr")
    data = workspace_data(complaint)
    journey = casepage.journey(
        complaint,
        Role.MEDIATOR,
        current_user.id,
        records=data["records"],
        record_url=lambda code: url_for("mediation.record", complaint_id=complaint.id, code=code),
        may_write=complaint.state.is_open,
        messages_anchor="#message-form",
    )
    return (
        render_template(
            "mediation/workspace.html",
            complaint=complaint,
            journey=journey,
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
            joint_group=joint.joint_of(complaint.id),
            guide=guidance.for_filing(
                enterprise_id=complaint.enterprise_id,
                issue=complaint.issue,
                amount=complaint.amount,
                figures=viewcache.snapshot("guidance"),
            ),
            **data,
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
            until=form.until.data,
            mode=form.mode.data,
            place=form.place.data,
            link=form.link.data,
            note=form.note.data,
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
    return downloads.send_evidence(item)


@bp.route("/cases/<int:complaint_id>/records/<code>.pdf")
def record(complaint_id: int, code: str):
    complaint = load_case(complaint_id)
    found = records.find_record(code)
    if found is None or found.complaint_id != complaint.id:
        abort(404)
    return send_record(found, complaint)


def send_record(found: Record, complaint: Complaint):
    return downloads.send_record(found, complaint.reference)


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


def _complaint_requests(complaint: Complaint) -> str:
    labels = []
    for value in complaint.requests or []:
        try:
            labels.append(str(Request(value).label))
        except ValueError:
            labels.append(str(value))
    return ", ".join(labels)


def _signature_of(agreement: Agreement, party: str):
    return next((s for s in agreement.signatures if s.party == party), None)


@bp.context_processor
def helpers():
    return {
        "event_label": _event_label,
        "actor_label": _actor_label,
        "complaint_requests": _complaint_requests,
        "signing_parties": ops.signing_parties,
        "signature_of": _signature_of,
    }


import odr.mediation.joint  # noqa: E402,F401
