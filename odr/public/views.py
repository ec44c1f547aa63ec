"""Public pages: home, notifications, enterprise scoreboard, record verification."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from odr.auth.models import UserRole
from odr.disputes.models import ConsumerWarning, Notification
from odr.disputes.notifications import (
    case_anchor,
    mark_all_read,
    mark_read,
    notices_of,
    notification_text,
)
from odr.disputes.states import NotFound
from odr.extensions import db
from odr.urls import same_site_path

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    warnings = db.session.scalars(
        db.select(ConsumerWarning)
        .where(ConsumerWarning.published_at.is_not(None))
        .order_by(ConsumerWarning.published_at.desc())
        .limit(3)
    ).all()
    return render_template("public/home.html", warnings=warnings)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading the page's icon link."""
    return redirect(url_for("static", filename="img/favicon.svg"), 301)


@bp.route("/healthz")
def healthz():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}


# Where a notice leads: the case page of the reader's role, at the part it is about.
CASE_PAGES = {
    UserRole.CONSUMER: ("consumer.case", "complaint_id"),
    UserRole.ENTERPRISE: ("merchant.case", "case_id"),
    UserRole.MEDIATOR: ("mediation.workspace", "complaint_id"),
}
NOTICES_SHOWN = 100


def notice_url(notice: Notification) -> str | None:
    page = CASE_PAGES.get(current_user.role)
    if page is None or notice.complaint_id is None:
        return None
    anchor = case_anchor(notice.kind)
    return url_for(page[0], **{page[1]: notice.complaint_id}) + (f"#{anchor}" if anchor else "")


@bp.route("/notifications")
@login_required
def notifications():
    unread = request.args.get("unread") == "1"
    items = notices_of(current_user.id, unread_only=unread, limit=NOTICES_SHOWN)[:NOTICES_SHOWN]
    rows = [
        {
            "id": n.id,
            "at": n.created_at,
            "text": notification_text(n.kind, n.params or {}),
            "url": notice_url(n),
            "read": n.read_at is not None,
        }
        for n in items
    ]
    return render_template("public/notifications.html", items=rows, unread=unread)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def notification_read(notification_id: int):
    try:
        mark_read(current_user.id, notification_id)
    except NotFound:
        abort(404)
    db.session.commit()
    return redirect(url_for("public.notifications", unread=request.args.get("unread")))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def notifications_read():
    mark_all_read(current_user.id)
    db.session.commit()
    return redirect(same_site_path(request.referrer) or url_for("public.notifications"))


from odr.public import scoreboard, verify  # noqa: E402, F401  (routes on bp)
