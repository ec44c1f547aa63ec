"""Consultations, reports and suggestions: the regulator sees and handles every request
(the pages are shared with the office staff: odr/request_handling.py)."""

from odr import request_handling as handling
from odr.admin.views import bp


@bp.route("/requests")
def requests():
    return handling.render_list("admin")


@bp.route("/requests/<int:request_id>")
def request_detail(request_id: int):
    return handling.render_detail("admin", request_id)


@bp.route("/requests/<int:request_id>/<action>", methods=["POST"])
def request_act(request_id: int, action: str):
    return handling.act("admin", request_id, action)
