"""Mediator pages: queue and workspace."""

from flask import Blueprint, render_template

from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole

bp = Blueprint("mediation", __name__)
gate_blueprint(bp, UserRole.MEDIATOR)


@bp.route("/")
def queue():
    return render_template("errors/error.html", status=200, message="queue")
