"""Mediation bodies and their mediators: create, move, deactivate; mediator accounts."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.admin.forms import (
    LEVEL_LABELS,
    BodyForm,
    CsrfForm,
    MediatorForm,
    MoveBodyForm,
    MoveMediatorForm,
)
from odr.admin.views import bp
from odr.disputes import routing, supervision
from odr.disputes.models import BodyMembership, Complaint, MediationBody, Region, RegionLevel
from odr.disputes.states import OPEN_STATES, Invalid
from odr.extensions import db
from odr.forms import add_errors, options


def _all_bodies() -> list[MediationBody]:
    return db.session.scalars(db.select(MediationBody).order_by(MediationBody.id)).all()


def body_tree(bodies: list[MediationBody]) -> list[tuple[MediationBody, int]]:
    """The bodies in tree order, each with its depth (children under their parent)."""
    children: dict[int | None, list[MediationBody]] = {}
    ids = {b.id for b in bodies}
    for body in bodies:
        parent = body.parent_id if body.parent_id in ids else None
        children.setdefault(parent, []).append(body)
    ordered: list[tuple[MediationBody, int]] = []
    seen: set[int] = set()

    def walk(parent_id, depth):
        for body in sorted(children.get(parent_id, []), key=lambda b: (b.region_code, b.id)):
            if body.id in seen:
                continue
            seen.add(body.id)
            ordered.append((body, depth))
            walk(body.id, depth + 1)

    walk(None, 0)
    ordered += [(b, 0) for b in bodies if b.id not in seen]  # a cycle should never exist
    return ordered


def _body_choices(exclude: MediationBody | None = None, *, top=True, active_only=False):
    choices = [("", _("— none (top level) —"))] if top else []
    for body, depth in body_tree(_all_bodies()):
        if exclude is not None and body.id == exclude.id:
            continue
        if active_only and not body.active:
            continue
        choices.append((str(body.id), "· " * depth + body.display_name()))
    return choices


def _region_choices():
    rows = db.session.execute(
        db.select(Region.code, Region.name, Region.name_en)
        .where(Region.level != RegionLevel.STATION)
        .order_by(Region.code)
    ).all()
    return [(code, f"{code} {name}") for code, name, _en in rows]


def _body_form(formdata=None) -> BodyForm:
    form = BodyForm(formdata=formdata)
    form.region_code.choices = options(_region_choices())
    form.parent_id.choices = options(_body_choices())
    return form


def _counts():
    members = dict(
        db.session.execute(
            db.select(BodyMembership.body_id, db.func.count(BodyMembership.id))
            .where(BodyMembership.active.is_(True))
            .group_by(BodyMembership.body_id)
        ).all()
    )
    open_cases = dict(
        db.session.execute(
            db.select(Complaint.body_id, db.func.count(Complaint.id))
            .where(Complaint.state.in_(OPEN_STATES), Complaint.body_id.is_not(None))
            .group_by(Complaint.body_id)
        ).all()
    )
    return members, open_cases


def _render_list(form, status=200):
    members, open_cases = _counts()
    return (
        render_template(
            "admin/bodies.html",
            tree=body_tree(_all_bodies()),
            form=form,
            members=members,
            open_cases=open_cases,
            level_labels={k.value: v for k, v in LEVEL_LABELS.items()},
            unstaffed=routing.unstaffed_bodies(),
        ),
        status,
    )


@bp.route("/bodies")
def bodies():
    return _render_list(_body_form())


@bp.route("/bodies", methods=["POST"])
def body_create():
    form = _body_form(request.form)
    if form.validate():
        try:
            body = supervision.create_body(
                current_user,
                name=form.name.data,
                name_en=form.name_en.data,
                kind=form.kind.data,
                level=form.level.data,
                region_code=form.region_code.data,
                parent_id=form.parent_id.data or None,
                address=form.address.data,
                phone=form.phone.data,
            )
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("The mediation body was created."), "success")
            return redirect(url_for("admin.body", body_id=body.id))
    return _render_list(form, 422)


def _render_body(body, *, move_form=None, mediator_form=None, status=200):
    move_form = move_form or MoveBodyForm(formdata=None, parent_id=str(body.parent_id or ""))
    move_form.parent_id.choices = options(_body_choices(exclude=body))
    mediator_form = mediator_form or MediatorForm(formdata=None)
    move_mediator_choices = _body_choices(top=False, active_only=True)
    return (
        render_template(
            "admin/body.html",
            body=body,
            move_form=move_form,
            mediator_form=mediator_form,
            members=supervision.members(body),
            body_choices=move_mediator_choices,
            open_cases=supervision.open_cases_at(body),
            csrf_form=CsrfForm(),
            level_labels={k.value: v for k, v in LEVEL_LABELS.items()},
        ),
        status,
    )


@bp.route("/bodies/<int:body_id>")
def body(body_id: int):
    return _render_body(supervision.get_body(body_id))


@bp.route("/bodies/<int:body_id>/move", methods=["POST"])
def body_move(body_id: int):
    body = supervision.get_body(body_id)
    form = MoveBodyForm(request.form)
    form.parent_id.choices = options(_body_choices(exclude=body))
    if form.validate():
        try:
            supervision.move_body(current_user, body, form.parent_id.data or None)
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("The body was moved."), "success")
            return redirect(url_for("admin.body", body_id=body.id))
    return _render_body(body, move_form=form, status=422)


@bp.route("/bodies/<int:body_id>/active", methods=["POST"])
def body_active(body_id: int):
    body = supervision.get_body(body_id)
    form = CsrfForm()
    if form.validate():
        active = request.form.get("active") == "1"
        supervision.set_body_active(current_user, body, active)
        db.session.commit()
        flash(
            _("The body is active again.") if active else _("The body was deactivated."),
            "success",
        )
    return redirect(url_for("admin.body", body_id=body.id))


@bp.route("/bodies/<int:body_id>/mediators", methods=["POST"])
def mediator_create(body_id: int):
    body = supervision.get_body(body_id)
    form = MediatorForm(request.form)
    if form.validate():
        try:
            supervision.create_mediator(
                current_user,
                body,
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                head=form.head.data,
                locale=form.locale.data,
            )
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(_("The mediator account was created."), "success")
            return redirect(url_for("admin.body", body_id=body.id))
    form.password.data = ""
    return _render_body(body, mediator_form=form, status=422)


@bp.route("/mediators/<int:user_id>/move", methods=["POST"])
def mediator_move(user_id: int):
    mediator = supervision.get_mediator(user_id)
    form = MoveMediatorForm(request.form)
    form.body_id.choices = options(_body_choices(top=False, active_only=True))
    back = request.form.get("from_body", type=int)
    if form.validate():
        target = supervision.get_body(form.body_id.data)
        supervision.move_mediator(current_user, mediator, target)
        db.session.commit()
        flash(_("%(name)s now works at %(body)s.", name=mediator.name, body=target.name), "success")
        return redirect(url_for("admin.body", body_id=target.id))
    flash(_("Choose the body to move the mediator to."), "danger")
    return redirect(url_for("admin.body", body_id=back) if back else url_for("admin.bodies"))


@bp.route("/mediators/<int:user_id>/active", methods=["POST"])
def mediator_active(user_id: int):
    mediator = supervision.get_mediator(user_id)
    back = request.form.get("from_body", type=int)
    if CsrfForm().validate():
        active = request.form.get("active") == "1"
        supervision.set_mediator_active(current_user, mediator, active)
        db.session.commit()
        flash(
            _("%(name)s can sign in again.", name=mediator.name)
            if active
            else _("%(name)s was deactivated.", name=mediator.name),
            "success",
        )
    return redirect(url_for("admin.body", body_id=back) if back else url_for("admin.bodies"))


@bp.route("/bodies/<int:body_id>/mediators/<int:user_id>/head", methods=["POST"])
def mediator_head(body_id: int, user_id: int):
    body = supervision.get_body(body_id)
    mediator = supervision.get_mediator(user_id)
    if CsrfForm().validate():
        head = request.form.get("head") == "1"
        supervision.set_head(current_user, mediator, body, head)
        db.session.commit()
        flash(
            _("%(name)s is now head of the body.", name=mediator.name)
            if head
            else _("%(name)s is no longer head of the body.", name=mediator.name),
            "success",
        )
    return redirect(url_for("admin.body", body_id=body.id))
