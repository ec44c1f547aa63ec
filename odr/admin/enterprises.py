"""Enterprise applications and decisions (approve, suspend, reinstate, exit)."""

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from odr import downloads
from odr.admin.forms import DecisionForm
from odr.admin.views import bp
from odr.auth.models import User
from odr.disputes import enterprises as enterprise_ops
from odr.disputes.evidence import ALLOWED
from odr.disputes.models import Complaint, Enterprise, EnterpriseEvent, EnterpriseStatus
from odr.disputes.states import OPEN_STATES, Invalid
from odr.extensions import db

PAGE_SIZE = 50
DECISION_BUTTONS = {
    "approve": _l("Approve"),
    "suspend": _l("Suspend"),
    "reinstate": _l("Reinstate"),
    "exit": _l("End the membership"),
}
HISTORY_LABELS = {
    "apply": _l("Application submitted"),
    "approve": _l("Approved"),
    "suspend": _l("Suspended"),
    "reinstate": _l("Reinstated"),
    "exit": _l("Left the ODR programme"),
    "invite_agent": _l("Agent invited"),
    "reinvite_agent": _l("Invitation sent again"),
    "remove_agent": _l("Agent removed"),
    "token_created": _l("API token created"),
    "token_revoked": _l("API token revoked"),
    "webhook_added": _l("Webhook endpoint registered"),
    "webhook_deactivated": _l("Webhook endpoint deactivated"),
}
MIME_BY_EXTENSION = {extension: mime for mime, extension in ALLOWED.items()}


def _enterprise(enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


@bp.route("/enterprises")
def enterprises():
    """Applications and enterprises, by status, newest first (keyset paging on id)."""
    status = request.args.get("status", "")
    if status not in EnterpriseStatus.__members__.values():
        status = ""
    q = (request.args.get("q") or "").strip()[:100]
    before = request.args.get("before", type=int)
    query = (
        db.select(Enterprise)
        .options(selectinload(Enterprise.region))
        .order_by(Enterprise.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if status:
        query = query.where(Enterprise.status == status)
    if q:
        query = query.where(
            db.or_(
                Enterprise.name.icontains(q, autoescape=True),
                Enterprise.credit_code == q.upper(),
            )
        )
    if before:
        query = query.where(Enterprise.id < before)
    items = db.session.scalars(query).all()
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    counts = dict(
        db.session.execute(
            db.select(Enterprise.status, db.func.count(Enterprise.id)).group_by(Enterprise.status)
        ).all()
    )
    return render_template(
        "admin/enterprises.html",
        items=items,
        status=status,
        q=q,
        counts={str(k): v for k, v in counts.items()},
        statuses=list(EnterpriseStatus),
        next_before=items[-1].id if more and items else None,
    )


def _render_detail(enterprise: Enterprise, form=None, status: int = 200):
    events = db.session.scalars(
        db.select(EnterpriseEvent)
        .where(EnterpriseEvent.enterprise_id == enterprise.id)
        .order_by(EnterpriseEvent.id.desc())
    ).all()
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = (
        {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    staff = db.session.scalars(
        db.select(User).where(User.enterprise_id == enterprise.id).order_by(User.id)
    ).all()
    case_counts = db.session.execute(
        db.select(
            db.func.count(Complaint.id),
            db.func.sum(db.case((Complaint.state.in_(sorted(OPEN_STATES)), 1), else_=0)),
        ).where(Complaint.enterprise_id == enterprise.id)
    ).one()
    actions = [
        action
        for action, (allowed, _target) in enterprise_ops.DECISIONS.items()
        if enterprise.status in allowed
    ]
    return (
        render_template(
            "admin/enterprises_detail.html",
            enterprise=enterprise,
            events=events,
            actors=actors,
            staff=staff,
            actions=actions,
            form=form or DecisionForm(formdata=None),
            cases_total=case_counts[0] or 0,
            cases_open=case_counts[1] or 0,
            licence_ok=_licence_file(enterprise) is not None,
            decision_button=lambda action: DECISION_BUTTONS.get(action, action),
            history_label=lambda action: HISTORY_LABELS.get(action, action),
            status_label=_status_label,
        ),
        status,
    )


def _status_label(value: str | None):
    try:
        return EnterpriseStatus(value).label
    except ValueError:
        return value or ""


@bp.route("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int):
    return _render_detail(_enterprise(enterprise_id))


@bp.route("/enterprises/<int:enterprise_id>/decide", methods=["POST"])
def enterprise_decide(enterprise_id: int):
    enterprise = _enterprise(enterprise_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_detail(enterprise, form, 422)
    action = form.action.data
    try:
        enterprise_ops.decide(current_user, enterprise, action, form.reason.data)
    except Invalid as exc:
        db.session.rollback()
        enterprise = _enterprise(enterprise_id)
        message = exc.fields.get("reason") or exc.fields.get("action") or str(exc.message)
        form.reason.errors = [*form.reason.errors, message]
        return _render_detail(enterprise, form, 422)
    db.session.commit()
    flash(
        _(
            "%(name)s is now: %(status)s. The owner was informed by e-mail.",
            name=enterprise.name,
            status=enterprise.status.label,
        ),
        "success",
    )
    return redirect(url_for("admin.enterprise", enterprise_id=enterprise.id))


def _licence_file(enterprise: Enterprise) -> Path | None:
    if not enterprise.licence_path:
        return None
    directory = Path(current_app.config["UPLOAD_DIR"]).resolve()
    path = (directory / enterprise.licence_path).resolve()
    if directory not in path.parents or not path.is_file():
        return None
    return path


@bp.route("/enterprises/<int:enterprise_id>/licence")
def enterprise_licence(enterprise_id: int):
    enterprise = _enterprise(enterprise_id)
    path = _licence_file(enterprise)
    if path is None:
        abort(404)
    return downloads.send_download(
        path,
        filename=f"licence-{enterprise.credit_code}{path.suffix}",
        mimetype=MIME_BY_EXTENSION.get(path.suffix, "application/octet-stream"),
    )
