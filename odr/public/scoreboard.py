"""The public enterprise scoreboard and consumer warnings (消费提示). No personal data."""

from flask import abort, render_template

from odr.disputes import stats, supervision
from odr.disputes.models import ConsumerWarning
from odr.extensions import db
from odr.public.views import bp


@bp.route("/enterprises")
def scoreboard():
    return render_template("public/scoreboard.html", rows=stats.enterprise_scoreboard())


@bp.route("/warnings")
def warnings():
    return render_template("public/warnings.html", items=supervision.published_warnings())


@bp.route("/warnings/<int:warning_id>")
def warning(warning_id: int):
    item = db.session.get(ConsumerWarning, warning_id)
    if item is None or item.published_at is None:
        abort(404)
    return render_template("public/warning.html", item=item)
