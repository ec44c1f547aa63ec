"""The page chrome every HTML page carries: head links, navigation and footer.

Most of base.html is the same for every reader of one language and one role, yet rendering it
costs some twenty gettext and url_for calls a request. chrome() renders those parts (the
macros of templates/_layout.html) once per language, role and script root, and returns them
as Markup; base.html adds only what is the reader's own: the unread count, the name and the
CSRF token of the sign-out form.
"""

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

_MAX_ENTRIES = 64  # languages × roles × script roots: a handful; bounded all the same


@dataclass(frozen=True, slots=True)
class Chrome:
    lang: str  # the <html lang> value
    portal: str  # "ODR portal", after every page title
    default_title: str
    head: Markup
    nav_start: Markup
    nav_end: Markup
    foot: Markup
    notifications: str
    notifications_url: str
    logout_url: str
    sign_out: str


_cache: dict[tuple, Chrome] = {}


def chrome() -> Chrome:
    locale = str(get_locale())
    user = current_user._get_current_object()
    if user.is_authenticated:
        staff_role = user.staff_role
        key = (locale, request.script_root, str(user.role), staff_role and str(staff_role))
    else:
        key = (locale, request.script_root, None, None)
    parts = _cache.get(key)
    if parts is None:
        parts = _build(key)
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[key] = parts
    return parts


def _build(key: tuple) -> Chrome:
    locale, _script_root, role, staff_role = key
    macros = current_app.jinja_env.get_template("_layout.html").module
    authenticated = role is not None
    return Chrome(
        lang="en" if locale == "en" else "zh-CN",
        portal=_("ODR portal"),
        default_title=_("Online Dispute Resolution"),
        # A macro of an autoescaped template returns Markup: its values are escaped.
        head=macros.head(),
        nav_start=macros.nav_start(authenticated, role, staff_role, locale == "en"),
        nav_end=macros.nav_end(authenticated),
        foot=macros.foot(),
        notifications=_("Notifications"),
        notifications_url=url_for("public.notifications"),
        logout_url=url_for("auth.logout"),
        sign_out=_("Sign out"),
    )
