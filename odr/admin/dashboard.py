from flask import render_template

from odr.admin.views import bp


@bp.route("/")
def dashboard():
    return render_template("errors/error.html", status=200, message="dashboard")
