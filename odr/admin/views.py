"""Regulator console."""

from flask import Blueprint, render_template

from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole

bp = Blueprint("admin", __name__)
gate_blueprint(bp, UserRole.ADMIN)


@bp.route("/")
def dashboard():
    return render_template("errors/error.html", status=200, message="dashboard")
