"""Enterprise pages: application, inbox, case page, staff, tokens, webhooks."""

from flask import Blueprint, render_template

bp = Blueprint("merchant", __name__)


@bp.route("/inbox")
def inbox():
    return render_template("errors/error.html", status=200, message="inbox")


@bp.route("/apply")
def apply():
    return render_template("errors/error.html", status=200, message="apply")
