"""Consumer warnings (消费提示): the regulator writes them and publishes them on /warnings."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.admin.forms import CsrfForm, WarningForm
from odr.admin.views import bp
from odr.disputes import supervision
from odr.disputes.models import ConsumerWarning
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.forms import add_errors


@bp.route("/warnings")
def warnings():
    items = db.session.scalars(
        db.select(ConsumerWarning).order_by(ConsumerWarning.id.desc()).limit(200)
    ).all()
    return render_template("admin/warnings.html", items=items, csrf_form=CsrfForm())


def _edit(warning: ConsumerWarning | None):
    form = WarningForm(obj=warning) if request.method == "GET" else WarningForm()
    if request.method == "POST" and form.validate():
        try:
            warning = supervision.save_warning(
                current_user, warning, title=form.title.data, body=form.body.data
            )
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            if request.form.get("publish") == "1":
                supervision.publish_warning(current_user, warning)
            db.session.commit()
            flash(
                _("The warning was published.")
                if warning.published_at
                else _("The warning was saved as a draft."),
                "success",
            )
            return redirect(url_for("admin.warnings"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/warning_form.html", form=form, warning=warning), status


@bp.route("/warnings/new", methods=["GET", "POST"])
def warning_new():
    return _edit(None)


@bp.route("/warnings/<int:warning_id>/edit", methods=["GET", "POST"])
def warning_edit(warning_id: int):
    return _edit(supervision.get_warning(warning_id))


@bp.route("/warnings/<int:warning_id>/publish", methods=["POST"])
def warning_publish(warning_id: int):
    warning = supervision.get_warning(warning_id)
    if CsrfForm().validate():
        publish = request.form.get("publish") == "1"
        supervision.publish_warning(current_user, warning, publish)
        db.session.commit()
        flash(
            _("The warning was published.") if publish else _("The warning was withdrawn."),
            "success",
        )
    return redirect(url_for("admin.warnings"))
