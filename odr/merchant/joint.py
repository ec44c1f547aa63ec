"""The enterprise's grouped case page of a joint complaint: every member's claim on one page
and one answer for all (an offer on each member's case, or a decline), and the group's
agreement signed once. Each action calls one function of odr/disputes/joint.py."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr import display as rows
from odr.disputes import formats
from odr.disputes import joint as groups
from odr.disputes.states import DomainError, Invalid, State
from odr.extensions import db
from odr.forms import add_errors, refused
from odr.merchant.forms import DeclineForm, JointOfferForm, SignForm
from odr.merchant.views import bp
from odr.urls import id_urls

# Claims shown a page at a time: a group of a thousand members stays one quick page.
PAGE_SIZE = 100


def _load(joint_id: int):
    """The group and the view of it (with the page of its members asked for), if the
    signed-in user is staff of its enterprise and it was submitted; else 404."""
    page = max(request.args.get("page", 1, type=int), 1)
    joint = groups.get_joint(joint_id)
    seen = (
        groups.view(current_user, joint, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        if joint
        else None
    )
    if seen is None or seen["part"] != "enterprise":
        abort(404)
    return joint, seen


def _page(joint, seen, status=200, offer_form=None, decline_form=None, amounts=None):
    """Every value of a row computed here (a template call per row costs more than the
    work): the page of claims, and the totals of the whole group."""
    page = max(request.args.get("page", 1, type=int), 1)
    totals = groups.totals(joint.id)
    amounts = amounts or {}
    label_of = _("Amount offered to %(reference)s")
    members = [
        {
            **row,
            "purchase_date": m["purchase_date"] or "",
            "negotiating": m["active"] and m["state"] == State.NEGOTIATING,
            "input_label": label_of % {"reference": m["reference"]},
            "offered": amounts.get(m["complaint_id"], ""),
        }
        for m, row in rows.joint_member_rows(seen["members"], id_urls("merchant.case", "case_id"))
    ]
    pages = max((totals["all"] + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return (
        render_template(
            "merchant/joint.html",
            group=seen,
            totals=totals,
            members=members,
            claimed_total=formats.money(totals["claimed"]),
            open_count=totals["by_state"].get(State.NEGOTIATING, 0),
            offer_form=offer_form or JointOfferForm(formdata=None),
            decline_form=decline_form or DeclineForm(formdata=None),
            can_sign=totals["by_state"].get(State.MEDIATING, 0) > 0,
            page=page,
            pages=pages,
        ),
        status,
    )


@bp.route("/joint/<int:joint_id>")
def joint_case(joint_id: int):
    joint, seen = _load(joint_id)
    return _page(joint, seen)


def _refused(joint_id, exc: DomainError):
    return refused(exc, url_for("merchant.joint_case", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/offers", methods=["POST"])
def joint_offer(joint_id: int):
    joint, seen = _load(joint_id)
    form = JointOfferForm()
    amounts = {
        int(key.split("-", 1)[1]): value.strip()
        for key, value in request.form.items()
        if key.startswith("amount-") and key.split("-", 1)[1].isdigit() and value.strip()
    }
    if not form.validate_on_submit():
        return _page(joint, seen, 422, offer_form=form, amounts=amounts)
    share = form.share_percent.data if form.mode.data == "share" else None
    given = None
    if form.mode.data == "amounts":
        given = [{"complaint_id": cid, "amount": amount} for cid, amount in amounts.items()]
        if not given:
            form.form_errors.append(_("Give an amount for at least one member."))
            return _page(joint, seen, 422, offer_form=form, amounts=amounts)
    elif not share:
        form.share_percent.errors = [_("This field is required.")]
        return _page(joint, seen, 422, offer_form=form, amounts=amounts)
    try:
        offers = groups.offer(
            current_user,
            joint,
            remedy=form.remedy.data,
            terms=form.terms.data,
            performance_due=form.performance_due.data,
            share_percent=share,
            amounts=given,
        )
    except Invalid as exc:
        db.session.rollback()
        add_errors(form, exc.fields)
        joint, seen = _load(joint_id)
        return _page(joint, seen, 422, offer_form=form, amounts=amounts)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(
        _("Your offer was sent to %(n)s members.", n=len(offers)),
        "success",
    )
    return redirect(url_for("merchant.joint_case", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/decline", methods=["POST"])
def joint_decline(joint_id: int):
    joint, seen = _load(joint_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _page(joint, seen, 422, decline_form=form)
    try:
        groups.decline(current_user, joint, reason=form.reason.data)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("You declined to settle; the members' cases went to mediation."), "success")
    return redirect(url_for("merchant.joint_case", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/sign", methods=["POST"])
def joint_sign(joint_id: int):
    joint, _seen = _load(joint_id)
    form = SignForm()
    if not form.validate_on_submit() or not current_user.check_password(form.password.data or ""):
        flash(_("The password is not correct."), "danger")
        return redirect(url_for("merchant.joint_case", joint_id=joint_id))
    try:
        groups.sign_agreement(current_user, joint, ip_address=request.remote_addr)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("You have signed the agreement."), "success")
    return redirect(url_for("merchant.joint_case", joint_id=joint_id))
