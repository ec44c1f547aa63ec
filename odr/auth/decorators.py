"""Role gates for blueprints and views."""

from functools import wraps

from flask import abort
from flask_login import current_user

from odr.auth.models import UserRole


def role_required(*roles: UserRole):
    """Gate a view (or, through before_request, a blueprint) on the account's role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            check_role(*roles)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def check_role(*roles: UserRole) -> None:
    from odr.extensions import login_manager

    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    if current_user.role not in roles:
        abort(403)


def gate_blueprint(bp, *roles: UserRole) -> None:
    @bp.before_request
    def _gate():
        from odr.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None
