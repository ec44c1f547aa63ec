"""The mediator's page of a joint complaint: every member case at their body on one page,
accepted at once, and one agreement text proposed with an amount per member. Each action
calls one function of odr/disputes/joint.py (as the API does); each member then signs or
not on their own case, and the mediator ends the others' mediation there."""

from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr import display as rows
from odr.disputes import formats
from odr.disputes import joint as groups
from odr.disputes.states import DomainError, Invalid, State
from odr.extensions import db
from odr.forms import refused
from odr.mediation import forms
from odr.mediation.views import bp, one_line_ending
from odr.urls import id_urls

# Members shown a page at a time: a group of a thousand members stays one quick page.
PAGE_SIZE = 100


def _load(joint_id: int):
    """The group and the page of its members asked for, if the signed-in mediator's body
    holds one of its cases; else 404."""
    page = max(request.args.get("page", 1, type=int), 1)
    joint = groups.get_joint(joint_id)
    seen = (
        groups.view(current_user, joint, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        if joint
        else None
    )
    if seen is None or seen["part"] != "mediator":
        abort(404)
    return joint, seen


def _page(joint, seen, status=200, agreement_form=None, amounts=None):
    page = max(request.args.get("page", 1, type=int), 1)
    totals = groups.totals(joint.id)
    amounts = amounts or {}
    mine = {c.id for c in groups.mediator_cases(current_user, joint, {State.MEDIATING})}
    waiting = len(groups.mediator_cases(current_user, joint, {State.PENDING_ACCEPTANCE}))
    label_of = _("Amount agreed for %(reference)s")
    members = [
        {
            **row,
            "representative": m["representative"],
            "claimed_value": m["claimed_amount"],
            "settled": formats.money(m["settled_amount"]) if m["settled_amount"] else "",
            "mediating": m["active"] and m["complaint_id"] in mine,
            "input_label": label_of % {"reference": m["reference"]},
            "agreed": amounts.get(m["complaint_id"], ""),
        }
        for m, row in rows.joint_member_rows(
            seen["members"], id_urls("mediation.workspace", "complaint_id")
        )
    ]
    pages = max((totals["all"] + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return (
        render_template(
            "mediation/joint.html",
            group=seen,
            totals=totals,
            members=members,
            claimed_total=formats.money(totals["claimed"]),
            waiting=waiting,
            mediating=len(mine),
            accept_form=forms.ActionForm(prefix="accept", formdata=None),
            agreement_form=agreement_form or forms.JointAgreementForm(prefix="jagr", formdata=None),
            page=page,
            pages=pages,
        ),
        status,
    )


@bp.route("/joint/<int:joint_id>")
def joint_group(joint_id: int):
    joint, seen = _load(joint_id)
    return _page(joint, seen)


def _refused(joint_id, exc: DomainError):
    return refused(exc, url_for("mediation.joint_group", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/accept", methods=["POST"])
def joint_accept(joint_id: int):
    joint, _seen = _load(joint_id)
    if not forms.ActionForm(prefix="accept").validate():
        abort(400)
    joint = groups.get_joint(joint_id, lock=True)
    try:
        accepted = groups.accept(current_user, joint)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("%(n)s member cases accepted for mediation.", n=len(accepted)), "success")
    return redirect(url_for("mediation.joint_group", joint_id=joint_id))


def _typed_amounts() -> dict[int, str]:
    return {
        int(key.split("-", 1)[1]): value.strip()
        for key, value in request.form.items()
        if key.startswith("amount-") and key.split("-", 1)[1].isdigit() and value.strip()
    }


@bp.route("/joint/<int:joint_id>/agreement", methods=["POST"])
def joint_agreement(joint_id: int):
    joint, seen = _load(joint_id)
    form = forms.JointAgreementForm(prefix="jagr")
    typed = _typed_amounts()
    if not form.validate():
        return _page(joint, seen, 422, agreement_form=form, amounts=typed)
    given = []
    for case_id, value in typed.items():
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0:
            form.form_errors.append(_("Enter each amount as a number of yuan, 0 or more."))
            return _page(joint, seen, 422, agreement_form=form, amounts=typed)
        given.append({"complaint_id": case_id, "amount": amount})
    if not given:
        form.form_errors.append(_("Give an amount for at least one member."))
        return _page(joint, seen, 422, agreement_form=form, amounts=typed)
    joint = groups.get_joint(joint_id, lock=True)
    try:
        proposed = groups.propose_agreement(
            current_user,
            joint,
            terms=one_line_ending(form.terms.data),
            amounts=given,
            performance_due=form.performance_due.data,
        )
    except Invalid as exc:
        db.session.rollback()
        for name, message in (exc.fields or {}).items():
            target = getattr(form, name, None)
            if target is not None and hasattr(target, "errors"):
                target.errors = [*list(target.errors or []), message]
            else:
                form.form_errors.append(message)
        if not exc.fields:
            form.form_errors.append(str(exc.message))
        joint, seen = _load(joint_id)
        return _page(joint, seen, 422, agreement_form=form, amounts=typed)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(
        _(
            "The agreement was proposed to %(n)s members; each signs it on their own case.",
            n=len(proposed),
        ),
        "success",
    )
    return redirect(url_for("mediation.joint_group", joint_id=joint_id))
