"""The office pages: mediators handle the consultations, reports and suggestions of their
body at /office/requests (blueprint `office`), through the pages the regulator uses too
(odr/request_handling.py)."""

from flask import Blueprint

from odr import request_handling as handling
from odr.auth.decorators import gate_blueprint
from odr.auth.models import UserRole

bp = Blueprint("office", __name__)
gate_blueprint(bp, UserRole.MEDIATOR)


@bp.route("/requests")
def requests():
    return handling.render_list("office")


@bp.route("/requests/<int:request_id>")
def request_detail(request_id: int):
    return handling.render_detail("office", request_id)


@bp.route("/requests/<int:request_id>/<action>", methods=["POST"])
def request_act(request_id: int, action: str):
    return handling.act("office", request_id, action)
