"""Consumer pages: filing wizard, my cases, the case page."""

from flask import Blueprint, render_template

from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole

bp = Blueprint("consumer", __name__)
gate_blueprint(bp, UserRole.CONSUMER)


@bp.route("/cases")
def cases():
    return render_template("consumer/cases.html", cases=[])


@bp.route("/file")
def file_start():
    return render_template("consumer/cases.html", cases=[])
