"""Request hooks, security headers and template helpers shared by every page."""

import functools
from datetime import datetime

from flask import Flask, abort, redirect, request, session, url_for
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from flask_talisman import Talisman

from odr import display
from odr.disputes import formats
from odr.disputes.models import Notification
from odr.extensions import db
from odr.types import utcnow
from odr.urls import same_site_path

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

talisman = Talisman()


def register(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    talisman.init_app(
        app,
        force_https=False,
        strict_transport_security=app.config.get("HSTS", False),
        strict_transport_security_max_age=31536000,
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    @app.before_request
    def refuse_nul_characters():
        """No database column can hold a NUL character (PostgreSQL refuses it with an
        error): a page request carrying one in its query or form is malformed. The JSON
        API validates its own input."""
        if request.path.startswith("/api/"):
            return
        for source in (request.args, request.form):
            for key, value in source.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400)

    @app.before_request
    def remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in app.config["LANGUAGES"]:
            session["lang"] = code
            if current_user.is_authenticated and current_user.locale != code:
                current_user.locale = code
                db.session.commit()
        return redirect(same_site_path(request.referrer) or url_for("public.home"))

    @app.context_processor
    def inject():
        return {
            "get_locale": get_locale,
            "now": utcnow,
            "unread_count": unread_count,
        }

    app.jinja_env.filters["localdt"] = localdt
    app.jinja_env.filters["localdate"] = display.local_day
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.globals["working_days_left"] = display.days_left
    app.jinja_env.globals["html_lang"] = html_lang
    app.jinja_env.filters["unread_badge"] = unread_badge
    # Labels, dates and working days for the shared macros (odr/display.py).
    display.register(app)


def html_lang() -> str:
    return "en" if str(get_locale()) == "en" else "zh-CN"


# The navigation shows up to this many unread notices, then "99+".
UNREAD_SHOWN = 99


def unread_badge(n: int) -> str:
    return f"{UNREAD_SHOWN}+" if n > UNREAD_SHOWN else str(n)


def unread_count() -> int:
    """The signed-in user's unread notices, counted up to UNREAD_SHOWN + 1 only ("99+"): an
    enterprise owner may have a hundred thousand."""
    if not current_user.is_authenticated:
        return 0
    return db.session.scalar(_unread_statement(), {"unread_user": current_user.id})


@functools.cache
def _unread_statement():
    """unread_count's statement, built once with the user bound (building it and its
    subquery on every page cost more than running it)."""
    unread = (
        db.select(Notification.id)
        .where(Notification.user_id == db.bindparam("unread_user"), Notification.read_at.is_(None))
        .limit(UNREAD_SHOWN + 1)
        .subquery()
    )
    return db.select(db.func.count()).select_from(unread)


def localdt(value: datetime | None, fmt: str = formats.DATETIME_FORMAT) -> str:
    """A moment in Asia/Shanghai; in the default pattern followed by the zone's name."""
    if not value:
        return ""
    text = format_datetime(value, fmt)
    return text + formats.moment_zone(get_locale()) if fmt == formats.DATETIME_FORMAT else text


def money_filter(value) -> str:
    return formats.money(value)
