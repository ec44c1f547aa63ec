"""Consumer pages of joint complaints (共同投诉): find or start a group against an enterprise,
join with your own claim, elect representatives, submit (a representative), leave. Each
member follows and answers their own case on its case page. Every action calls one function
of odr/disputes/joint.py and commits once; the domain checks the rule again."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr import downloads
from odr.consumer import forms
from odr.consumer.views import bp
from odr.disputes import joint as groups
from odr.disputes.joint_record import group_record_pdf
from odr.disputes.models import Enterprise, EnterpriseStatus
from odr.disputes.states import DomainError, Invalid
from odr.extensions import db
from odr.forms import add_errors, options, refused


def _approved_enterprises():
    return db.session.scalars(
        db.select(Enterprise)
        .where(Enterprise.status == EnterpriseStatus.APPROVED)
        .order_by(Enterprise.name)
        .limit(500)
    ).all()


def _load(joint_id: int):
    joint = groups.get_joint(joint_id)
    if joint is None:
        abort(404)
    seen = groups.view(current_user, joint)
    if seen is None:
        abort(404)
    return joint, seen


@bp.route("/joint")
def joint_list():
    """My groups, and the open groups anyone may join (optionally of one enterprise)."""
    enterprise_id = request.args.get("enterprise_id", type=int)
    return render_template(
        "consumer/joint_list.html",
        mine=groups.groups_of(current_user),
        open_groups=groups.open_groups(enterprise_id, limit=50),
        enterprise_id=enterprise_id,
    )


@bp.route("/joint/new", methods=["GET", "POST"])
def joint_new():
    form = forms.JointStartForm(enterprises=_approved_enterprises())
    if request.method == "GET" and request.args.get("enterprise_id"):
        form.enterprise_id.data = request.args.get("enterprise_id")
    if form.validate_on_submit():
        try:
            joint = groups.start(
                current_user,
                {
                    "enterprise_id": form.enterprise_id.data,
                    "issue": form.issue.data,
                    "subject": form.subject.data,
                    "facts": form.facts.data,
                    "green_channel": form.green_channel.data,
                },
            )
        except Invalid as exc:
            db.session.rollback()
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("Your joint complaint was started. Now give your own claim."), "success")
            return redirect(url_for("consumer.joint_detail", joint_id=joint.id) + "#join")
    status = 422 if request.method == "POST" else 200
    return render_template("consumer/joint_new.html", form=form), status


def _page(joint, seen, status=200, **given):
    claim_form = given.get("claim_form") or forms.JointClaimForm(formdata=None)
    if not claim_form.complainant_address.data:
        claim_form.complainant_address.data = current_user.address
    elect_form = given.get("elect_form") or forms.ElectForm(formdata=None)
    elect_form.member_ids.choices = options(
        (str(m["id"]), m["name"])
        for m in seen["members"]
        if m["active"] and m["complaint_id"] and not m["representative"]
    )
    me = next((m for m in seen["members"] if m["you"]), None)
    return (
        render_template(
            "consumer/joint_detail.html",
            joint=joint,
            group=seen,
            me=me,
            claim_form=claim_form,
            elect_form=elect_form,
            confirm_form=forms.CsrfForm(formdata=None),
        ),
        status,
    )


@bp.route("/joint/<int:joint_id>")
def joint_detail(joint_id: int):
    joint, seen = _load(joint_id)
    return _page(joint, seen)


def _refused(joint_id: int, exc: DomainError):
    return refused(exc, url_for("consumer.joint_detail", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/join", methods=["POST"])
def joint_join(joint_id: int):
    joint = groups.get_joint(joint_id)
    if joint is None:
        abort(404)
    form = forms.JointClaimForm()
    if not form.validate_on_submit():
        joint, seen = _load(joint_id)
        return _page(joint, seen, 422, claim_form=form)
    data = {name: form[name].data for name in ("purchase_date", "amount", "claimed_amount")}
    data.update(
        requests=form.requests.data,
        complainant_address=form.complainant_address.data or None,
        facts=form.facts.data,
    )
    try:
        member = groups.join(current_user, joint, data)
    except Invalid as exc:
        db.session.rollback()
        add_errors(form, exc.fields)
        joint, seen = _load(joint_id)
        return _page(joint, seen, 422, claim_form=form)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("You joined the joint complaint with your own case."), "success")
    return redirect(url_for("consumer.case", complaint_id=member.complaint_id))


@bp.route("/joint/<int:joint_id>/leave", methods=["POST"])
def joint_leave(joint_id: int):
    joint, _seen = _load(joint_id)
    if not forms.CsrfForm().validate_on_submit():
        abort(400)
    try:
        groups.leave(current_user, joint)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("You left the joint complaint; your case was withdrawn."), "success")
    return redirect(url_for("consumer.joint_detail", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/representatives", methods=["POST"])
def joint_elect(joint_id: int):
    joint, seen = _load(joint_id)
    form = forms.ElectForm()
    form.member_ids.choices = options((str(m["id"]), m["name"]) for m in seen["members"])
    if not form.validate_on_submit() or not form.member_ids.data:
        form.member_ids.errors = [*form.member_ids.errors, _("Choose at least one.")]
        return _page(joint, seen, 422, elect_form=form)
    try:
        groups.elect(current_user, joint, form.member_ids.data)
    except Invalid as exc:
        db.session.rollback()
        add_errors(form, exc.fields)
        return _page(joint, seen, 422, elect_form=form)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("Representatives elected."), "success")
    return redirect(url_for("consumer.joint_detail", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/submit", methods=["POST"])
def joint_submit(joint_id: int):
    joint, _seen = _load(joint_id)
    if not forms.CsrfForm().validate_on_submit():
        abort(400)
    try:
        groups.submit(current_user, joint)
    except DomainError as exc:
        return _refused(joint_id, exc)
    db.session.commit()
    flash(_("The joint complaint was sent to the enterprise."), "success")
    return redirect(url_for("consumer.joint_detail", joint_id=joint_id))


@bp.route("/joint/<int:joint_id>/record.pdf")
def joint_record(joint_id: int):
    joint, seen = _load(joint_id)
    if seen["part"] is None:
        abort(404)
    return downloads.send_download(
        group_record_pdf(joint), filename=f"{joint.reference}.pdf", mimetype="application/pdf"
    )
