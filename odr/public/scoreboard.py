"""The public enterprise scoreboard and consumer warnings."""

from flask import render_template

from odr.public.views import bp


@bp.route("/enterprises")
def scoreboard():
    return render_template("errors/error.html", status=200, message="scoreboard")
