"""Regulator console: the blueprint; the pages live in the modules imported below."""

from flask import Blueprint

from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole

bp = Blueprint("admin", __name__)
gate_blueprint(bp, UserRole.ADMIN)

from odr.admin import (  # noqa: E402, F401  (routes on bp)
    bodies,
    calendar,
    dashboard,
    enterprises,
    requests,
    stations,
    warnings,
)
