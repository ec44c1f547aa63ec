"""Role gates for blueprints and views. Every gate asks the one capability check
(permissions.may_act) before a change: a suspended enterprise's staff may read their cases
but not act on them, on the web as through the API."""

from functools import wraps

from flask import abort, request
from flask_login import current_user, logout_user

from odr.auth.models import UserRole
from odr.disputes.permissions import may_act
from odr.extensions import login_manager

# Reading never changes anything; every other method is an action.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def role_required(*roles: UserRole):
    """Gate a view (or, through before_request, a blueprint) on the account's role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            check_role(*roles)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def check_capability() -> None:
    """403 for a change asked by an account that may not act (see permissions.may_act)."""
    if request.method not in SAFE_METHODS and not may_act(current_user):
        abort(403)


def signed_in_response():
    """The login redirect for a visitor, or for an account disabled since it signed in
    (which is signed out); None for an active account."""

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.active:
        logout_user()
        return login_manager.unauthorized()
    return None


def check_role(*roles: UserRole) -> None:
    response = signed_in_response()
    if response is not None:
        abort(response)
    if current_user.role not in roles:
        abort(403)
    check_capability()


def gate_blueprint(bp, *roles: UserRole) -> None:
    @bp.before_request
    def _gate():
        response = signed_in_response()
        if response is not None:
            return response
        if current_user.role not in roles:
            abort(403)
        check_capability()
        return None
