"""Consumer pages: filing wizard (wizard.py), my cases, the case page and its actions.

Each action loads the case (404 unless it is the consumer's own), validates its form, calls
one operation of odr.disputes.operations and commits once. The operations check the move
again; a button shown here is only a convenience.
"""

import functools
from typing import NamedTuple

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from odr import casepage, downloads
from odr import display as rows
from odr.auth.decorators import check_capability
from odr.auth.models import UserRole
from odr.consumer import forms
from odr.consumer.timeline import (
    actor_label,
    local_dt,
    request_labels,
    timeline,
    who_must_act,
    who_must_act_in,
)
from odr.database import plain_rows
from odr.disputes import deadlines, permissions, sessions, turns
from odr.disputes import operations as ops
from odr.disputes.choices import AgreementStatus
from odr.disputes.evidence import store_evidence
from odr.disputes.models import (
    Agreement,
    Complaint,
    Draft,
    Enterprise,
    Evidence,
    Message,
    Offer,
    Record,
)
from odr.disputes.states import (
    CLOSED_STATES,
    OPEN_STATES,
    TRANSITIONS,
    DomainError,
    Invalid,
    NotFound,
    Role,
    State,
)
from odr.extensions import db, login_manager
from odr.forms import add_errors, refused
from odr.types import utcnow
from odr.urls import id_urls, same_site_path

bp = Blueprint("consumer", __name__)

PAGE_SIZE = 20

# Files of a case are served to its parties and its mediator, whatever their account role.
OPEN_TO_CASE_PARTIES = {
    "consumer.evidence",
    "consumer.record",
    "consumer.record_status",
    "consumer.session_ics",
}


@bp.before_request
def _gate():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint in OPEN_TO_CASE_PARTIES:
        return None
    if current_user.role != UserRole.CONSUMER:
        abort(403)
    check_capability()
    return None


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """An upload bigger than a request may be: back to the page it came from, which still
    holds everything typed before (the draft or the case)."""
    flash(
        _("The upload is too large: a file may be at most 10 MB. Send fewer files at a time."),
        "danger",
    )
    return redirect(same_site_path(request.referrer) or url_for("consumer.cases"))


# -- loading -----------------------------------------------------------------------------


def own_case(complaint_id: int) -> Complaint:
    """The consumer's own case; any other case does not exist for them."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or permissions.role_in_case(current_user, complaint) != Role.CONSUMER:
        abort(404)
    return complaint


def _fail(complaint: Complaint, exc: DomainError):
    """A rule said no (the case moved on, the offer is gone): say so on the case page."""
    return refused(exc, url_for("consumer.case", complaint_id=complaint.id))


def _field_errors(form, exc: Invalid) -> None:
    add_errors(form, exc.fields)
    if not exc.fields:
        form.form_errors.append(str(exc.message))


# -- my cases ----------------------------------------------------------------------------

STATE_FILTERS = ("open", "closed", *[s.value for s in State])


class CaseRow(NamedTuple):
    """One line of the case list, every value computed in the view."""

    id: int
    url: str
    reference: str
    state: str
    colour: str
    label: Markup
    respondent: str
    subject: str
    filed: Markup
    who: str | None
    clock: rows.Clock | None  # the deadline's clock (macros.clock) where someone must act
    turn: rows.TurnCell | None  # what the case waits for from the consumer


LIST_TEXTS = {"filed": _l("Filed %(when)s")}


@functools.cache
def _list_statement(
    kind: str, direction: str, visible: str = permissions.OWN, my_turn: bool = False
):
    """The case list's query, built once for each filter kind and direction, with the
    consumer, the state and the cursor as bound parameters; the cases are those the user
    may see (permissions.visible_condition of the user's kind of visibility). Columns, not
    entities: the enterprise's name joined in, no ORM object per row."""
    query = (
        db.select(
            Complaint.id,
            Complaint.reference,
            Complaint.state,
            Complaint.subject,
            Complaint.filed_at,
            Complaint.deadline_at,
            Complaint.clock_days_left,
            Complaint.enterprise_id,
            Complaint.respondent_name,
            Complaint.performance_due,
            Enterprise.name,
            # Whose turn, in this query (turns.py): no query per row.
            turns.step_column(Role.CONSUMER, Complaint),
            # Whether there are drafts to list (the drafts query is then skipped when not).
            db.select(Draft.id)
            .where(Draft.consumer_id == db.bindparam("consumer_id"))
            .exists()
            .label("has_drafts"),
        )
        .outerjoin(Enterprise, Enterprise.id == Complaint.enterprise_id)
        .where(permissions.visible_condition(visible, Complaint))
    )
    if my_turn:
        query = query.where(turns.waiting_on(Role.CONSUMER, Complaint))
    if kind == "open":
        query = query.where(Complaint.state.in_(OPEN_STATES))
    elif kind == "closed":
        query = query.where(Complaint.state.in_(CLOSED_STATES))
    elif kind == "one":
        query = query.where(Complaint.state == db.bindparam("state"))
    if direction == "after":
        query = query.where(Complaint.id > db.bindparam("cursor")).order_by(Complaint.id.asc())
    else:
        if direction == "before":
            query = query.where(Complaint.id < db.bindparam("cursor"))
        query = query.order_by(Complaint.id.desc())
    return query.limit(PAGE_SIZE + 1)


# The most recent drafts are listed above the cases; more are a link away.
DRAFTS_SHOWN = 5


@bp.route("/cases")
def cases():
    state = request.args.get("state", "")
    if state not in STATE_FILTERS:
        state = ""
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int)
    kind = state if state in ("", "open", "closed") else "one"
    my_turn = request.args.get("turn") == "1"
    visible, params = permissions.visibility(current_user)
    params["consumer_id"] = current_user.id
    if kind == "one":
        params["state"] = State(state)
    if after:
        params["cursor"] = after
        found = plain_rows(
            db.session.execute(_list_statement(kind, "after", visible, my_turn), params)
        )
        has_newer = len(found) > PAGE_SIZE
        found = list(reversed(found[:PAGE_SIZE]))
        has_older = True
    else:
        if before:
            params["cursor"] = before
        found = plain_rows(
            db.session.execute(
                _list_statement(kind, "before" if before else "first", visible, my_turn), params
            )
        )
        has_older = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        has_newer = bool(before)
    drafts, more_drafts = [], 0
    all_drafts = request.args.get("drafts") == "all"
    if (not found and not my_turn) or (found and found[0].has_drafts):
        drafts = db.session.scalars(
            db.select(Draft)
            .where(Draft.consumer_id == current_user.id)
            .order_by(Draft.updated_at.desc(), Draft.id.desc())
            .limit(None if all_drafts else DRAFTS_SHOWN + 1)
        ).all()
        if len(drafts) > DRAFTS_SHOWN and not all_drafts:
            drafts = drafts[:DRAFTS_SHOWN]
            more_drafts = db.session.scalar(
                db.select(db.func.count(Draft.id)).where(Draft.consumer_id == current_user.id)
            )
    labels = rows.state_labels()
    filed = rows.translated("consumer.list", LIST_TEXTS)["filed"]
    locale = rows.locale_key()
    case_url = id_urls("consumer.case", "complaint_id")
    case_rows = []
    for row in found:
        case_state = row.state
        who = (
            who_must_act_in(case_state, row.clock_days_left) if case_state in OPEN_STATES else None
        )
        case_rows.append(
            CaseRow(
                row.id,
                case_url(row.id),
                row.reference,
                case_state.value,
                rows.state_colour(case_state),
                labels[case_state],
                row.name if row.enterprise_id else (row.respondent_name or ""),
                row.subject,
                filed % {"when": rows.local_day(row.filed_at, locale=locale)},
                who,
                rows.clock_parts(row.deadline_at, locale=locale)
                if who and row.deadline_at
                else None,
                rows.turn_cell(row.turn, row.deadline_at, row.performance_due, locale),
            )
        )
    return render_template(
        "consumer/cases.html",
        cases=case_rows,
        drafts=drafts,
        more_drafts=more_drafts,
        state=state,
        my_turn=my_turn,
        state_options=[(s.value, labels[s]) for s in State],
        older=found[-1].id if found and has_older else None,
        newer=found[0].id if found and has_newer else None,
    )


# -- the case page -----------------------------------------------------------------------


BLANK_FORMS = {
    "message_form": lambda: forms.MessageForm(prefix="msg", formdata=None),
    "accept_form": lambda: forms.ConfirmForm(prefix="accept", formdata=None),
    "reject_form": lambda: forms.RejectForm(prefix="reject", formdata=None),
    "escalate_form": lambda: forms.EscalateForm(prefix="escalate", formdata=None),
    "withdraw_form": lambda: forms.WithdrawForm(prefix="withdraw", formdata=None),
    "sign_form": lambda: forms.SignForm(formdata=None),
    "performance_form": lambda: forms.PerformanceForm(prefix="perf", formdata=None),
    "rating_form": lambda: forms.RatingForm(prefix="rate", formdata=None),
    "changes_form": lambda: forms.ChangesForm(prefix="changes", formdata=None),
    "reopen_form": lambda: forms.ReopenForm(prefix="reopen", formdata=None),
    "evidence_form": lambda: forms.CaseEvidenceForm(prefix="ev", formdata=None),
}


class CaseForms:
    """The case page's forms, each made when the page first shows it (most pages show two
    or three of the nine): the submitted one with its errors, or a blank one."""

    def __init__(self, submitted: dict):
        unknown = set(submitted) - set(BLANK_FORMS)
        if unknown:
            raise TypeError(f"not a form of the case page: {', '.join(sorted(unknown))}")
        self.__dict__.update(submitted)

    def __getattr__(self, name: str):
        try:
            make = BLANK_FORMS[name]
        except KeyError:
            raise AttributeError(name) from None
        form = make()
        setattr(self, name, form)
        return form


def _present(cid) -> list:
    """Whether the case has messages, offers, an agreement, evidence and records: one
    EXISTS each, so that the page asks only for the lists that have something in them."""
    return [
        db.select(Message.id)
        .where(Message.complaint_id == cid, Message.internal.is_(False))
        .exists()
        .label("messages"),
        db.select(Offer.id).where(Offer.complaint_id == cid).exists().label("offers"),
        db.select(Agreement.id)
        .where(Agreement.complaint_id == cid, Agreement.status != AgreementStatus.SUPERSEDED)
        .exists()
        .label("agreement"),
        db.select(Evidence.id).where(Evidence.complaint_id == cid).exists().label("evidence"),
        db.select(Record.id).where(Record.complaint_id == cid).exists().label("records"),
    ]


def _consumer_turn():
    """The consumer's step on the case (turns.step_column), read with the case: the
    journey's banner then needs no statement of its own."""
    return turns.step_column(Role.CONSUMER, Complaint)


@functools.cache
def _page_statements() -> dict:
    """The case page's queries, built once with the case's id as a bound parameter."""
    cid = db.bindparam("cid")
    return {
        # The case, its enterprise (respondent_display) and what it has, in one query.
        "case": db.select(Complaint, *_present(Complaint.id), _consumer_turn())
        .options(joinedload(Complaint.enterprise))
        .where(Complaint.id == cid),
        "present": db.select(*_present(Complaint.id), _consumer_turn()).where(Complaint.id == cid),
        "messages": db.select(Message)
        .where(Message.complaint_id == cid, Message.internal.is_(False))
        .order_by(Message.id),
        "offers": db.select(Offer).where(Offer.complaint_id == cid).order_by(Offer.id.desc()),
        "agreement": db.select(Agreement)
        .options(joinedload(Agreement.signatures))  # shown with it: one query, not two
        .where(Agreement.complaint_id == cid, Agreement.status != AgreementStatus.SUPERSEDED)
        .order_by(Agreement.id.desc())
        .limit(1),
        "evidence": db.select(Evidence).where(Evidence.complaint_id == cid).order_by(Evidence.id),
        "records": db.select(Record).where(Record.complaint_id == cid).order_by(Record.id),
    }


def render_case(complaint: Complaint, *, status: int = 200, present=None, **submitted):
    """The case page; `submitted` replaces a blank form with the one that had errors.
    `present` (from own_page_case) says which of the case's lists have rows, and the
    consumer's step on the case (turn)."""
    user = current_user._get_current_object()  # not the proxy, for the checks below
    statements = _page_statements()
    bound = {"cid": complaint.id}
    if present is None:
        present = db.session.execute(statements["present"], bound).one()

    def rows_of(name: str) -> list:
        if not getattr(present, name):
            return []
        return db.session.scalars(statements[name], bound).all()

    agreement = (
        db.session.scalars(statements["agreement"], bound).unique().first()
        if present.agreement
        else None
    )
    signed_by_me = agreement is not None and any(
        s.party == "consumer" for s in agreement.signatures
    )
    state = complaint.state
    who = who_must_act(complaint)
    records = rows_of("records")
    may_write = state.is_open or state in (State.SETTLED, State.MEDIATED)
    journey = casepage.journey(
        complaint,
        Role.CONSUMER,
        user.id,
        records=records,
        record_url=lambda code: url_for("consumer.record", complaint_id=complaint.id, code=code),
        may_write=may_write,
        step=present.turn,
    )
    context = {
        "journey": journey,
        "c": complaint,
        "state_label": rows.state_label(state),
        "state_colour": rows.state_colour(state),
        "who": who,
        "deadline_at": complaint.deadline_at if who and state.is_open else None,
        "events": timeline(complaint),
        "messages": rows_of("messages"),
        "offers": rows_of("offers"),
        "agreement": agreement,
        "signed_by_me": signed_by_me,
        "evidence": rows_of("evidence"),
        "records": records,
        "may": {move.value: permissions.can(user, move, complaint) for move in TRANSITIONS},
        "may_write": may_write,
        "performance_asked": ops.performance_asked(complaint, deadlines.local_date(utcnow())),
        "actor_label": actor_label,
        "request_labels": request_labels,
        "local_dt": local_dt,
        "local_day": rows.local_day,
        "enum_label": enum_label,
        "forms": CaseForms(submitted),
    }
    return render_template("consumer/case.html", **context), status


def enum_label(member) -> Markup:
    """A labelled enum member's label (Issue, Remedy, ...), translated once per language."""
    return rows.labels_of(type(member))[member]


@bp.route("/cases/<int:complaint_id>", methods=["GET", "POST"])
def case(complaint_id: int):
    if request.method == "POST":
        return _sign(own_case(complaint_id))
    found = db.session.execute(_page_statements()["case"], {"cid": complaint_id}).first()
    complaint = found[0] if found is not None else None
    if complaint is None or permissions.role_in_case(current_user, complaint) != Role.CONSUMER:
        abort(404)
    return render_case(complaint, present=found)


def _sign(complaint: Complaint):
    """The signature form (<form id="sign-agreement" method="post">) posts to the case page."""
    form = forms.SignForm()
    if not form.validate_on_submit():
        return render_case(complaint, status=422, sign_form=form)
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
        _field_errors(form, exc)
        return render_case(own_case(complaint.id), status=422, sign_form=form)
    except DomainError as exc:
        return _fail(complaint, exc)
    db.session.commit()
    if complaint.state == State.MEDIATED:
        flash(
            _("You signed the agreement. Both parties have signed: the case is closed."), "success"
        )
    else:
        flash(_("You signed the agreement. Waiting for the enterprise to sign."), "success")
    return redirect(url_for("consumer.case", complaint_id=complaint.id))


def _act(complaint_id: int, form_cls, prefix: str, form_key: str, action, success: str):
    """The shape of every case action: validate, one operation, commit, back to the case."""
    complaint = own_case(complaint_id)
    form = form_cls(prefix=prefix)
    if not form.validate_on_submit():
        return render_case(complaint, status=422, **{form_key: form})
    try:
        action(complaint, form)
    except Invalid as exc:
        db.session.rollback()
        _field_errors(form, exc)
        return render_case(own_case(complaint_id), status=422, **{form_key: form})
    except DomainError as exc:
        return _fail(complaint, exc)
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("consumer.case", complaint_id=complaint.id))


@bp.route("/cases/<int:complaint_id>/messages", methods=["POST"])
def message(complaint_id: int):
    return _act(
        complaint_id,
        forms.MessageForm,
        "msg",
        "message_form",
        lambda c, f: ops.post_message(current_user, c, f.body.data),
        _("Your message was sent."),
    )


@bp.route("/cases/<int:complaint_id>/offers/<int:offer_id>/accept", methods=["POST"])
def accept_offer(complaint_id: int, offer_id: int):
    return _act(
        complaint_id,
        forms.ConfirmForm,
        "accept",
        "accept_form",
        lambda c, f: ops.accept_offer(current_user, c, offer_id),
        _("You accepted the offer. The case is settled."),
    )


@bp.route("/cases/<int:complaint_id>/offers/<int:offer_id>/reject", methods=["POST"])
def reject_offer(complaint_id: int, offer_id: int):
    return _act(
        complaint_id,
        forms.RejectForm,
        "reject",
        "reject_form",
        lambda c, f: ops.reject_offer(
            current_user,
            c,
            offer_id,
            counter_proposal=f.counter_proposal.data,
            counter_remedy=f.counter_remedy.data or None,
            counter_amount=f.counter_amount.data or None,
        ),
        _("You rejected the offer. The enterprise has been told."),
    )


@bp.route("/cases/<int:complaint_id>/agreement/changes", methods=["POST"])
def ask_for_changes(complaint_id: int):
    return _act(
        complaint_id,
        forms.ChangesForm,
        "changes",
        "changes_form",
        lambda c, f: ops.ask_for_changes(current_user, c, reasons=f.reasons.data),
        _("Your request for changes was sent to the mediator."),
    )


@bp.route("/cases/<int:complaint_id>/reopen", methods=["POST"])
def reopen(complaint_id: int):
    return _act(
        complaint_id,
        forms.ReopenForm,
        "reopen",
        "reopen_form",
        lambda c, f: ops.reopen(current_user, c, reason=f.reason.data),
        _("Your case was sent to mediation again."),
    )


@bp.route("/cases/<int:complaint_id>/escalate", methods=["POST"])
def escalate(complaint_id: int):
    return _act(
        complaint_id,
        forms.EscalateForm,
        "escalate",
        "escalate_form",
        lambda c, f: ops.escalate(current_user, c, reason=f.reason.data),
        _("Your case was sent to mediation."),
    )


@bp.route("/cases/<int:complaint_id>/withdraw", methods=["POST"])
def withdraw(complaint_id: int):
    return _act(
        complaint_id,
        forms.WithdrawForm,
        "withdraw",
        "withdraw_form",
        lambda c, f: ops.withdraw(current_user, c, reason=f.reason.data),
        _("Your complaint was withdrawn."),
    )


@bp.route("/cases/<int:complaint_id>/performance", methods=["POST"])
def performance(complaint_id: int):
    return _act(
        complaint_id,
        forms.PerformanceForm,
        "perf",
        "performance_form",
        lambda c, f: ops.report_performance(
            current_user, c, status=f.status.data, note=f.note.data
        ),
        _("Thank you: your report was recorded."),
    )


@bp.route("/cases/<int:complaint_id>/rating", methods=["POST"])
def rating(complaint_id: int):
    return _act(
        complaint_id,
        forms.RatingForm,
        "rate",
        "rating_form",
        lambda c, f: ops.rate(current_user, c, rating=f.rating.data, comment=f.comment.data),
        _("Thank you for your rating."),
    )


@bp.route("/cases/<int:complaint_id>/evidence", methods=["POST"])
def add_evidence(complaint_id: int):
    complaint = own_case(complaint_id)
    form = forms.CaseEvidenceForm(prefix="ev")
    files = [f for f in request.files.getlist(form.files.name) if f and f.filename]
    if not form.validate_on_submit():
        return render_case(complaint, status=422, evidence_form=form)
    if not files:
        form.files.errors = [_("Choose at least one file.")]
    stored = store_uploads(files, form.files, complaint=complaint)
    db.session.commit()
    if stored:
        flash(_("%(n)s file(s) added.", n=stored), "success")
    if form.files.errors:
        return render_case(own_case(complaint_id), status=422, evidence_form=form)
    return redirect(url_for("consumer.case", complaint_id=complaint.id) + "#evidence")


def store_uploads(files, field, **owner) -> int:
    """Keep each acceptable file; name each refused one, with the reason, on the field.
    store_evidence checks a file completely before it keeps anything of it."""
    stored = 0
    complaint = owner.get("complaint")
    for upload in files:
        try:
            if complaint is not None:  # the operation, which writes it on the timeline
                ops.add_evidence(current_user, complaint, upload.stream, upload.filename)
            else:
                store_evidence(current_user, upload.stream, upload.filename, **owner)
            stored += 1
        except DomainError as exc:
            field.errors = [
                *field.errors,
                _("%(file)s: %(problem)s", file=upload.filename, problem=exc.message),
            ]
    return stored


# -- files of a case (parties and mediator) -----------------------------------------------


def _case_for_files(complaint_id: int, roles: set[Role]) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or permissions.role_in_case(current_user, complaint) not in roles:
        abort(404)
    return complaint


@bp.route("/cases/<int:complaint_id>/evidence/<int:evidence_id>")
def evidence(complaint_id: int, evidence_id: int):
    """An evidence file, for the case's parties and mediator only, always as a download."""
    complaint = _case_for_files(complaint_id, {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR})
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.complaint_id != complaint.id:
        abort(404)
    return _send_evidence(item)


def _send_evidence(item: Evidence):
    return downloads.send_evidence(item)


@bp.route("/cases/<int:complaint_id>/records/<code>.pdf")
def record(complaint_id: int, code: str):
    # Not the regulator: records hold the consumer's address (permissions.can_see_contact).
    complaint = _case_for_files(complaint_id, {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR})
    item = db.session.scalar(
        db.select(Record).where(Record.complaint_id == complaint.id, Record.code == code)
    )
    if item is None:
        abort(404)
    return downloads.send_record(item, complaint.reference)


@bp.route("/cases/<int:complaint_id>/records/<code>/status")
def record_status(complaint_id: int, code: str):
    """Whether a record is rendered yet (the case page asks while it says "being
    prepared"), for the case's parties and mediator."""
    complaint = _case_for_files(complaint_id, {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR})
    item = db.session.scalar(
        db.select(Record).where(Record.complaint_id == complaint.id, Record.code == code)
    )
    if item is None:
        abort(404)
    return {"ready": item.ready}


@bp.route("/cases/<int:complaint_id>/sessions/<int:session_id>.ics")
def session_ics(complaint_id: int, session_id: int):
    """A mediation session as a calendar file, for the case's parties and mediator."""
    complaint = _case_for_files(complaint_id, set(sessions.READERS))
    try:
        item = sessions.session_of(current_user, complaint, session_id)
    except NotFound:
        abort(404)
    return downloads.send_calendar(
        sessions.ics(item, complaint), filename=f"{complaint.reference}-session-{item.id}.ics"
    )


from odr.consumer import joint, wizard  # noqa: E402, F401  (more routes, on bp)
