"""Consultations, reports and suggestions, as their handlers see them: the pages of the
regulator (/admin/requests, odr/admin/requests.py) and of the office staff, mediators who
see their body's (/office/requests, odr/mediation/office.py), through the same functions.
`area` is the blueprint that shows them."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.disputes import requests as service
from odr.disputes.models import RequestKind
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.forms import AnswerForm, DecideForm, ExtendForm, add_errors
from odr.types import utcnow


def _kind_param():
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {k.value for k in RequestKind}:
        abort(404)
    return kind


def render_list(area: str):
    """The handler's list: one tab per type, open first (nearest deadline first)."""
    kind = _kind_param()
    state = request.args.get("state") or service.OPEN
    if state not in (service.OPEN, service.CLOSED):
        abort(404)
    items = service.for_handler(current_user, kind=kind, state=state)
    return render_template(
        "requests/handle_list.html",
        area=area,
        items=items,
        kind=kind,
        state=state,
        kinds=list(RequestKind),
        kind_label=service.kind_label,
        outcome_label=service.outcome_label,
        reporter_visible=service.reporter_visible,
        now=utcnow(),
    )


def render_detail(area: str, request_id: int, *, answer=None, extend=None, decide=None, status=200):
    item = service.get_for(current_user, request_id, handle=True)
    return (
        render_template(
            "requests/handle_detail.html",
            area=area,
            item=item,
            answer_form=answer or AnswerForm(formdata=None),
            extend_form=extend or ExtendForm(formdata=None),
            decide_form=decide or DecideForm(formdata=None),
            kind_label=service.kind_label,
            outcome_label=service.outcome_label,
            reporter_visible=service.reporter_visible(item),
            extension_days=service.REPORT_EXTENSION_DAYS,
        ),
        status,
    )


def act(area: str, request_id: int, action: str):
    """Answer a consultation or suggestion, extend a report's verification, or decide it."""
    item = service.get_for(current_user, request_id, handle=True)
    detail = f"{area}.request_detail" if area != "admin" else "admin.request_detail"
    forms = {"answer": AnswerForm, "extend": ExtendForm, "decide": DecideForm}
    if action not in forms:
        abort(404)
    form = forms[action]()
    if form.validate():
        try:
            if action == "answer":
                service.answer_request(current_user, item, form.answer.data)
                message = _("The answer was sent.")
            elif action == "extend":
                service.extend_report(current_user, item, form.reason.data)
                message = _("The verification period was extended.")
            else:
                service.decide_report(current_user, item, form.outcome.data, form.answer.data)
                message = _("The decision was recorded.")
        except Invalid as exc:
            add_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(detail, request_id=item.id))
    return render_detail(area, request_id, **{action: form}, status=422)
