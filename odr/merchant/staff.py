"""The owner's staff page: invite agents, send an invitation again, remove an agent."""

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from odr.disputes import staff as staff_ops
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.merchant import queries
from odr.merchant.forms import InviteForm
from odr.merchant.views import apply_errors, bp, owner_required


def _render(form=None, status=200):
    staff = queries.staff_of(current_user.enterprise_id)
    pending = {u.id for u in staff if not u.active and staff_ops.invitation_pending(u)}
    return (
        render_template(
            "merchant/staff.html",
            staff=staff,
            pending=pending,
            form=form or InviteForm(formdata=None),
            enterprise=current_user.enterprise,
        ),
        status,
    )


@bp.route("/staff")
@owner_required
def staff():
    return _render()


@bp.route("/staff/invite", methods=["POST"])
@owner_required
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    try:
        agent = staff_ops.invite_agent(
            current_user, email=form.email.data, name=form.name.data, locale=str(get_locale())
        )
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, {k: v for k, v in exc.fields.items() if k != "password"})
        return _render(form, 422)
    db.session.commit()
    flash(_("An invitation was sent to %(email)s.", email=agent.email), "success")
    return redirect(url_for("merchant.staff"))


@bp.route("/staff/<int:user_id>/reinvite", methods=["POST"])
@owner_required
def reinvite(user_id: int):
    try:
        agent = staff_ops.reinvite_agent(current_user, user_id)
    except Invalid as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return redirect(url_for("merchant.staff"))
    db.session.commit()
    flash(_("A new invitation was sent to %(email)s.", email=agent.email), "success")
    return redirect(url_for("merchant.staff"))


@bp.route("/staff/<int:user_id>/remove", methods=["POST"])
@owner_required
def remove(user_id: int):
    agent = staff_ops.remove_agent(current_user, user_id)
    db.session.commit()
    flash(_("%(name)s can no longer sign in.", name=agent.name), "success")
    return redirect(url_for("merchant.staff"))
