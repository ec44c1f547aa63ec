"""The filing wizard: respondent, purchase, claim, facts, evidence, review. What the
consumer types is kept in a Draft after every step, so they can leave and come back; a step
with an error re-renders with everything typed. The rules are the domain's: each step runs
operations.validate_complaint / resolve_respondent and shows the errors of its own fields."""

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr import viewcache
from odr.consumer import forms
from odr.consumer.views import _send_evidence, bp, store_uploads
from odr.disputes import deadlines, enterprises, guidance, routing, similar
from odr.disputes import operations as ops
from odr.disputes.choices import Issue, Request, SubjectKind
from odr.disputes.drafts import (
    STEP_FIELDS,
    STEPS,
    delete_draft,
    draft_evidence,
    load_draft,
    new_draft,
    remove_draft_evidence,
    save_step,
    step_index,
    step_of_field,
)
from odr.disputes.models import Draft, Enterprise, Evidence, Region, RegionLevel
from odr.disputes.permissions import nameable, nameable_enterprise
from odr.disputes.states import DomainError, Invalid
from odr.extensions import db
from odr.forms import add_errors
from odr.types import utcnow

NOT_LISTED = forms.NOT_LISTED
SEARCH_LIMIT = 20


def step_titles() -> dict[str, str]:
    return {
        "respondent": _("The business"),
        "purchase": _("What you bought"),
        "claim": _("What you ask for"),
        "facts": _("What happened"),
        "evidence": _("Evidence"),
        "review": _("Review and submit"),
    }


# -- helpers -----------------------------------------------------------------------------


def today() -> date:
    return deadlines.local_date(utcnow())


def region_choices() -> list[tuple[str, str]]:
    regions = db.session.scalars(
        db.select(Region)
        .where(Region.level.in_([RegionLevel.CITY, RegionLevel.COUNTY]))
        .order_by(Region.code)
    ).all()
    choices = [("", _("— choose —"))]
    for region in regions:
        names = [r.display_name() for r in reversed(region.lineage())]
        choices.append((region.code, " ".join(names)))
    return choices


def search_enterprises(q: str) -> list[Enterprise]:
    """Enterprises that can be named as respondent (permissions.nameable), by part of the
    name or by the exact credit code."""
    q = (q or "").strip()
    if not q:
        return []
    return list(
        db.session.scalars(
            db.select(Enterprise)
            .where(nameable(), enterprises.matching(q))
            .order_by(Enterprise.name, Enterprise.id)
            .limit(SEARCH_LIMIT)
        )
    )


def chosen_enterprise(data: dict) -> Enterprise | None:
    value = data.get("enterprise_id")
    if value in (None, "", NOT_LISTED):
        return None
    return nameable_enterprise(value)


def complaint_data(data: dict) -> dict:
    """The draft as operations.file_complaint takes it."""
    out = {k: data.get(k) for fields in STEP_FIELDS.values() for k in fields if k in data}
    choice = data.get("enterprise_id")
    if choice not in (None, "", NOT_LISTED):
        out["enterprise_id"] = choice
        for key in ("respondent_name", "respondent_credit_code", "respondent_region_code"):
            out.pop(key, None)
    else:
        out["enterprise_id"] = None
    out["green_channel"] = bool(data.get("green_channel", True))
    out["seller_address_usable"] = data.get("seller_address_usable") is not False
    out["requests"] = list(data.get("requests") or [])
    for key in ("complainant_name", "complainant_phone", "complainant_address"):
        if not out.get(key):
            out.pop(key, None)
    return out


def domain_errors(data: dict, step: str) -> dict[str, str]:
    """The domain's verdict on the fields of one step."""
    probe = complaint_data(data)
    probe.setdefault("complainant_name", current_user.name)
    probe.setdefault("complainant_phone", current_user.phone)
    probe.setdefault("complainant_address", current_user.address)
    try:
        ops.validate_complaint(probe, today())
    except Invalid as exc:
        return {k: v for k, v in exc.fields.items() if k in STEP_FIELDS[step]}
    return {}


def typed(form, fields) -> dict:
    return {name: form[name].data for name in fields if name in form}


def render_step(step: str, draft: Draft | None, status: int = 200, **context):
    return (
        render_template(
            f"consumer/wizard_{step}.html",
            step=step,
            steps=STEPS,
            titles=step_titles(),
            number=step_index(step) + 1,
            reached=step_index(draft.step) if draft else 0,
            draft=draft,
            then=request.values.get("then"),
            **context,
        ),
        status,
    )


def go(draft: Draft, step: str):
    return redirect(url_for("consumer.wizard", draft_id=draft.id, step=step))


def go_on(draft: Draft, step: str):
    """After a step is saved: the next step, or straight back to the review when the
    consumer came from there to change one answer."""
    if request.form.get("then") == "review" and draft.step == "review":
        return go(draft, "review")
    return go(draft, step)


# -- routes ------------------------------------------------------------------------------


@bp.route("/file", methods=["GET", "POST"])
def file_start():
    return respondent_step(None)


@bp.route("/drafts/<int:draft_id>")
def draft_resume(draft_id: int):
    draft = load_draft(current_user, draft_id)
    return go(draft, draft.step if draft.step in STEPS else STEPS[0])


@bp.route("/drafts/<int:draft_id>/<step>", methods=["GET", "POST"])
def wizard(draft_id: int, step: str):
    draft = load_draft(current_user, draft_id)
    if step not in STEPS:
        abort(404)
    if step_index(step) > step_index(draft.step):
        return go(draft, draft.step)
    return STEP_VIEWS[step](draft)


@bp.route("/drafts/<int:draft_id>/delete", methods=["POST"])
def draft_delete(draft_id: int):
    form = forms.CsrfForm()
    draft = load_draft(current_user, draft_id)
    if form.validate_on_submit():
        delete_draft(draft)
        db.session.commit()
        flash(_("The draft was deleted."), "success")
    return redirect(url_for("consumer.cases"))


@bp.route("/drafts/<int:draft_id>/evidence/<int:evidence_id>")
def draft_evidence_file(draft_id: int, evidence_id: int):
    draft = load_draft(current_user, draft_id)
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.draft_id != draft.id:
        abort(404)
    return _send_evidence(item)


@bp.route("/drafts/<int:draft_id>/evidence/<int:evidence_id>/remove", methods=["POST"])
def draft_evidence_remove(draft_id: int, evidence_id: int):
    form = forms.CsrfForm()
    draft = load_draft(current_user, draft_id)
    if form.validate_on_submit():
        remove_draft_evidence(draft, evidence_id)
        db.session.commit()
        flash(_("The file was removed."), "success")
    back = request.form.get("back")
    step = back if back in ("evidence", "review") else "evidence"
    return go(draft, step)


# -- the steps ---------------------------------------------------------------------------


def respondent_step(draft: Draft | None):
    data = dict(draft.data) if draft else {}
    if request.method == "POST":
        form = forms.RespondentForm()
        q = (form.q.data or "").strip()
    else:
        defaults = {k: data[k] for k in STEP_FIELDS["respondent"] if k in data}
        defaults["seller_address_unusable"] = data.get("seller_address_usable") is False
        if "enterprise_id" in data and data["enterprise_id"] is None:
            defaults["enterprise_id"] = NOT_LISTED if data.get("respondent_name") else None
        form = forms.RespondentForm(data=defaults)
        q = (request.args.get("q", data.get("q")) or "").strip()
    form.q.data = q
    form.respondent_region_code.choices = forms.options(region_choices())
    form.platform_region_code.choices = forms.options(region_choices())
    results = search_enterprises(q)
    chosen = chosen_enterprise({"enterprise_id": form.enterprise_id.data})
    if chosen is not None and chosen not in results:
        results.insert(0, chosen)
    form.enterprise_id.choices = forms.options(
        [(e.id, e.name) for e in results] + [(NOT_LISTED, _("It is not listed"))]
    )
    search = forms.SearchForm(formdata=None, q=q)
    waiting = 0
    if draft is None:
        waiting = db.session.scalar(
            db.select(db.func.count(Draft.id)).where(Draft.consumer_id == current_user.id)
        )
    context = {"form": form, "search": search, "results": results, "q": q, "waiting": waiting}

    if request.method != "POST":
        return render_step("respondent", draft, **context)
    valid = form.validate_on_submit()
    choice = form.enterprise_id.data or ""
    values = {
        "q": q,
        "green_channel": bool(form.green_channel.data),
        "enterprise_id": choice if choice not in ("", NOT_LISTED) else None,
        "respondent_name": (form.respondent_name.data or "").strip(),
        "respondent_credit_code": (form.respondent_credit_code.data or "").strip().upper(),
        "respondent_region_code": form.respondent_region_code.data or "",
        "platform_name": (form.platform_name.data or "").strip(),
        "platform_region_code": form.platform_region_code.data or "",
        "seller_address_usable": not form.seller_address_unusable.data,
    }
    errors: dict[str, str] = {}
    if not choice:
        errors["enterprise_id"] = _("Choose the business, or say that it is not listed.")
    else:
        enterprise = None
        try:
            if choice == NOT_LISTED:
                ops.resolve_respondent({**values, "enterprise_id": None})
            else:
                enterprise = ops.resolve_respondent({"enterprise_id": choice})[0]
        except Invalid as exc:
            errors = dict(exc.fields)
            if choice == NOT_LISTED and "enterprise_id" in errors:
                errors.pop("enterprise_id")
                errors["respondent_name"] = _("Enter the name of the business.")
        try:
            ops.resolve_platform(values, enterprise)
        except Invalid as exc:
            errors.update(exc.fields)
        if "seller_address_usable" in errors:
            errors["seller_address_unusable"] = errors.pop("seller_address_usable")
    add_errors(form, errors)
    if not valid or errors:
        if draft is not None:
            save_step(draft, "respondent", values, advance=False)
            db.session.commit()
        return render_step("respondent", draft, status=422, **context)
    if draft is None:
        draft = new_draft(current_user)
    save_step(draft, "respondent", values)
    db.session.commit()
    return go_on(draft, "purchase")


def _simple_step(
    draft: Draft, step: str, form_cls, template_context=None, defaults=None, prepare=None
):
    """A step of plain fields: re-render with what was typed and every error, else save and
    move on."""
    fields = STEP_FIELDS[step]
    data = dict(draft.data or {})
    if request.method == "POST":
        form = form_cls()
    else:
        initial = dict(defaults or {})
        initial.update({k: data[k] for k in fields if k in data and data[k] not in (None,)})
        form = form_cls(data=initial)
    if prepare is not None:
        prepare(form)
    context = {"form": form, **(template_context or {})}
    if request.method != "POST":
        return render_step(step, draft, **context)
    valid = form.validate_on_submit()
    values = typed(form, fields)
    for key, value in values.items():
        if isinstance(value, str):
            values[key] = value.strip()
    errors = domain_errors({**data, **values}, step)
    # One message a field: the form's own check first, then the domain's.
    add_errors(form, {k: v for k, v in errors.items() if not (k in form and form[k].errors)})
    if not valid or errors:
        save_step(draft, step, values, advance=False)
        db.session.commit()
        return render_step(step, draft, status=422, **context)
    save_step(draft, step, values)
    db.session.commit()
    return go_on(draft, STEPS[step_index(step) + 1])


def purchase_step(draft: Draft):
    def latest_date(form):
        form.purchase_date.render_kw = {"max": today().isoformat()}

    return _simple_step(draft, "purchase", forms.PurchaseForm, prepare=latest_date)


def claim_step(draft: Draft):
    return _simple_step(draft, "claim", forms.ClaimForm)


def facts_step(draft: Draft):
    defaults = {
        "complainant_name": current_user.name,
        "complainant_phone": current_user.phone,
        "complainant_address": current_user.address,
    }
    return _simple_step(draft, "facts", forms.FactsForm, defaults=defaults)


def evidence_step(draft: Draft):
    form = forms.EvidenceForm()
    if request.method != "POST":
        return render_step("evidence", draft, form=form, files=draft_evidence(draft))
    files = [f for f in request.files.getlist(form.files.name) if f and f.filename]
    if not form.validate_on_submit():
        return render_step("evidence", draft, status=422, form=form, files=draft_evidence(draft))
    stored = store_uploads(files, form.files, draft=draft)
    advance = request.form.get("action") == "next" and not form.files.errors
    save_step(draft, "evidence", {}, advance=advance)
    db.session.commit()
    if stored:
        flash(_("%(n)s file(s) added.", n=stored), "success")
    if form.files.errors:
        return render_step("evidence", draft, status=422, form=form, files=draft_evidence(draft))
    return go_on(draft, "review") if advance else go(draft, "evidence")


def review_context(draft: Draft) -> dict:
    data = dict(draft.data or {})
    enterprise = chosen_enterprise(data)
    green = bool(data.get("green_channel", True))
    try:
        purchase_date = date.fromisoformat(data.get("purchase_date") or "")
    except ValueError:
        purchase_date = None
    region_code = data.get("respondent_region_code") or current_user.region_code
    preview = ops.routing_preview(
        enterprise,
        green,
        purchase_date,
        region_code,
        platform_region_code=data.get("platform_region_code") or None,
        seller_address_usable=data.get("seller_address_usable") is not False,
    )
    respondent_region = (
        db.session.get(Region, data["respondent_region_code"])
        if data.get("respondent_region_code")
        else None
    )
    return {
        "data": data,
        "enterprise": enterprise,
        "green": green,
        "preview": preview,
        "guide": _guidance(enterprise, data),
        "purchase_date": purchase_date,
        "old_purchase": purchase_date is not None
        and not routing.within_limitation(purchase_date, today()),
        "respondent_region": respondent_region,
        "issue_label": _label(Issue, data.get("issue")),
        "kind_label": _label(SubjectKind, data.get("subject_kind")),
        "request_labels": [_label(Request, r) for r in data.get("requests") or []],
        "files": draft_evidence(draft),
        # The same dispute already open, and a joint complaint to join: offered, not forced.
        "repeats": similar.open_repeats(current_user.id, data),
        "groups": similar.open_groups_like(current_user.id, data),
        "complainant": {
            "name": data.get("complainant_name") or current_user.name,
            "phone": data.get("complainant_phone") or current_user.phone,
            "address": data.get("complainant_address") or current_user.address,
        },
    }


def _guidance(enterprise, data: dict) -> dict | None:
    """How closed cases like this one ended (odr/disputes/guidance.py), once the issue is
    known."""
    if not data.get("issue"):
        return None
    try:
        return guidance.for_filing(
            enterprise_id=enterprise.id if enterprise is not None else None,
            issue=data["issue"],
            amount=data.get("amount"),
            figures=viewcache.snapshot("guidance"),
        )
    except Invalid:
        return None


def _label(enum_cls, value) -> str:
    try:
        return str(enum_cls(value).label)
    except ValueError:
        return value or ""


def review_step(draft: Draft):
    form = forms.ReviewForm()
    if request.method != "POST":
        return render_step("review", draft, form=form, problems=[], **review_context(draft))
    if not form.validate_on_submit():
        return render_step(
            "review", draft, status=422, form=form, problems=[], **review_context(draft)
        )
    draft_id = draft.id
    try:
        # The review's confirmation is the complainant's declaration (Order 121).
        filed = {**complaint_data(draft.data or {}), "identity_declared": True}
        complaint = ops.file_complaint(current_user, filed)
        ops.attach_draft_evidence(complaint, draft_id)
    except DomainError as exc:
        db.session.rollback()
        draft = load_draft(current_user, draft_id)
        titles = step_titles()
        problems = [
            {"step": step_of_field(field), "title": titles[step_of_field(field)], "message": msg}
            for field, msg in (exc.fields or {}).items()
        ] or [{"step": "review", "title": titles["review"], "message": str(exc.message)}]
        return render_step(
            "review", draft, status=422, form=form, problems=problems, **review_context(draft)
        )
    db.session.commit()
    flash(_("Your complaint %(reference)s was filed.", reference=complaint.reference), "success")
    return redirect(url_for("consumer.case", complaint_id=complaint.id))


STEP_VIEWS = {
    "respondent": respondent_step,
    "purchase": purchase_step,
    "claim": claim_step,
    "facts": facts_step,
    "evidence": evidence_step,
    "review": review_step,
}
