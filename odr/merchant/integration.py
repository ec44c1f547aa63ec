"""The owner's integration console: API tokens and webhook endpoints with their delivery
log."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from odr.disputes import integration as integration_ops
from odr.disputes.models import DeliveryAttempt, Outbox, WebhookEndpoint
from odr.disputes.notifications import WEBHOOK_EVENTS
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.merchant.forms import TokenForm, WebhookForm
from odr.merchant.views import apply_errors, bp, owner_required

LOG_SIZE = 100


def _render(status=200, *, token_form=None, webhook_form=None, new_token=None, new_secret=None):
    endpoints = db.session.scalars(
        db.select(WebhookEndpoint)
        .where(WebhookEndpoint.enterprise_id == current_user.enterprise_id)
        .order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.id.desc())
    ).all()
    return (
        render_template(
            "merchant/integration.html",
            tokens=integration_ops.enterprise_tokens(current_user.enterprise_id),
            endpoints=endpoints,
            token_form=token_form or TokenForm(formdata=None),
            webhook_form=webhook_form or WebhookForm(formdata=None),
            new_token=new_token,
            new_secret=new_secret,
            events=sorted({*WEBHOOK_EVENTS.values(), "complaint.closed"}),
            enterprise=current_user.enterprise,
        ),
        status,
    )


def _no_store(response_and_status):
    """A page showing a secret once must not be kept by the browser or a proxy."""
    body, status = response_and_status
    return body, status, {"Cache-Control": "no-store"}


@bp.route("/integration")
@owner_required
def integration():
    return _render()


@bp.route("/integration/tokens", methods=["POST"])
@owner_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(422, token_form=form)
    try:
        raw, _token = integration_ops.create_integration_token(
            current_user,
            name=form.name.data,
            # The page's checkboxes, when it showed them; a form without them (an older
            # page, a script) gets the default scopes.
            scopes=form.scopes.data if request.form.get("token-scopes-shown") else None,
        )
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc.fields)
        return _render(422, token_form=form)
    db.session.commit()
    # Shown in this answer only; the portal keeps its hash.
    return _no_store(_render(200, new_token=raw))


@bp.route("/integration/tokens/<int:token_id>/revoke", methods=["POST"])
@owner_required
def revoke_token(token_id: int):
    token = integration_ops.revoke_token(current_user, token_id)
    db.session.commit()
    flash(_("The token %(name)s was revoked.", name=token.name), "success")
    return redirect(url_for("merchant.integration"))


@bp.route("/integration/webhooks", methods=["POST"])
@owner_required
def create_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _render(422, webhook_form=form)
    try:
        endpoint, secret = integration_ops.register_webhook(
            current_user, url=form.url.data, secret=form.secret.data
        )
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc.fields)
        return _render(422, webhook_form=form)
    db.session.commit()
    return _no_store(_render(200, new_secret={"url": endpoint.url, "secret": secret}))


@bp.route("/integration/webhooks/<int:endpoint_id>/deactivate", methods=["POST"])
@owner_required
def deactivate_webhook(endpoint_id: int):
    endpoint = integration_ops.deactivate_webhook(current_user, endpoint_id)
    db.session.commit()
    flash(_("Events are no longer sent to %(url)s.", url=endpoint.url), "success")
    return redirect(url_for("merchant.integration"))


@bp.route("/integration/webhooks/<int:endpoint_id>")
@owner_required
def webhook_log(endpoint_id: int):
    """The delivery log of one endpoint: every attempt, newest first, with its event."""
    endpoint = integration_ops.webhook_endpoint(current_user, endpoint_id)
    before = request.args.get("before", type=int)
    query = (
        db.select(DeliveryAttempt, Outbox)
        .join(Outbox, Outbox.id == DeliveryAttempt.outbox_id)
        .where(Outbox.endpoint_id == endpoint.id)
        .order_by(DeliveryAttempt.id.desc())
        .limit(LOG_SIZE + 1)
    )
    if before:
        query = query.where(DeliveryAttempt.id < before)
    rows = db.session.execute(query).all()
    more = len(rows) > LOG_SIZE
    rows = rows[:LOG_SIZE]
    waiting = db.session.execute(
        db.select(Outbox.status, db.func.count(Outbox.id))
        .where(Outbox.endpoint_id == endpoint.id)
        .group_by(Outbox.status)
    ).all()
    return render_template(
        "merchant/webhook_log.html",
        endpoint=endpoint,
        rows=rows,
        next_before=rows[-1][0].id if more and rows else None,
        totals=dict(waiting),
    )
