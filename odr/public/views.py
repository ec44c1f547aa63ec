"""Public pages: home, notifications, enterprise scoreboard, record verification."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from odr.disputes.models import ConsumerWarning, Notification
from odr.disputes.notifications import notification_text
from odr.extensions import db
from odr.types import utcnow

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


@bp.route("/notifications")
@login_required
def notifications():
    items = db.session.scalars(
        db.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(100)
    ).all()
    return render_template("public/notifications.html", items=items, text=notification_text)


@bp.route("/notifications/read", methods=["POST"])
@login_required
def notifications_read():
    db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(request.referrer or url_for("public.notifications"))


from odr.public import scoreboard, verify  # noqa: E402, F401  (routes on bp)
