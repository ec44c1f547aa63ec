"""Public record verification."""

from flask import render_template

from odr.public.views import bp


@bp.route("/verify")
def verify_form():
    return render_template("errors/error.html", status=200, message="verify")
