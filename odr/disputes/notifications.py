"""Tell people what happened: in-app notifications, e-mail and webhooks, all through the
outbox so that nothing is sent inside the request and nothing is lost if a receiver is down.

Texts are rendered in each recipient's language at enqueue time.
"""

import json
import uuid

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from odr.auth.models import User, UserRole
from odr.disputes.memo import memo
from odr.disputes.models import (
    BodyMembership,
    Complaint,
    Notification,
    Outbox,
    WebhookEndpoint,
)
from odr.extensions import db
from odr.types import utcnow

# kind -> (text, audiences); audiences among consumer, enterprise, mediator, parent_body
# (the office an overdue case is raised to)
KINDS = {
    "filed": (_l("New complaint %(reference)s"), {"enterprise", "mediator"}),
    "message": (_l("New message on case %(reference)s"), {"consumer", "enterprise", "mediator"}),
    "offer_made": (_l("New offer on case %(reference)s"), {"consumer"}),
    "offer_accepted": (_l("Your offer on case %(reference)s was accepted"), {"enterprise"}),
    "offer_rejected": (_l("Your offer on case %(reference)s was rejected"), {"enterprise"}),
    "escalated": (
        _l("Case %(reference)s went to mediation"),
        {"consumer", "enterprise", "mediator"},
    ),
    "accepted": (_l("Case %(reference)s was accepted for mediation"), {"consumer", "enterprise"}),
    "refused": (_l("Case %(reference)s was refused"), {"consumer", "enterprise"}),
    "transferred": (
        _l("Case %(reference)s was transferred to another body"),
        {"consumer", "enterprise", "mediator"},
    ),
    "overdue": (_l("Acceptance of case %(reference)s is overdue"), {"mediator", "parent_body"}),
    "assigned": (_l("Case %(reference)s was assigned to you"), {"mediator"}),
    "suspended": (_l("Mediation of case %(reference)s is suspended"), {"consumer", "enterprise"}),
    "resumed": (_l("Mediation of case %(reference)s resumed"), {"consumer", "enterprise"}),
    "session_scheduled": (
        _l("A mediation session was scheduled on case %(reference)s"),
        {"consumer", "enterprise", "mediator"},
    ),
    "agreement_proposed": (
        _l("An agreement was proposed on case %(reference)s: please read and sign"),
        {"consumer", "enterprise"},
    ),
    "agreement_signed": (
        _l("The agreement on case %(reference)s was signed"),
        {"consumer", "enterprise", "mediator"},
    ),
    "settled": (_l("Case %(reference)s is settled"), {"consumer", "enterprise"}),
    "mediated": (
        _l("Case %(reference)s closed with a mediation agreement"),
        {"consumer", "enterprise", "mediator"},
    ),
    "terminated": (
        _l("Mediation of case %(reference)s was terminated"),
        {"consumer", "enterprise", "mediator"},
    ),
    "withdrawn": (
        _l("Case %(reference)s was withdrawn"),
        {"enterprise", "mediator"},
    ),
    "reminder": (
        _l("Case %(reference)s: the deadline is in 2 working days"),
        {"consumer", "enterprise", "mediator"},
    ),
    "record_issued": (
        _l("A record was issued on case %(reference)s"),
        {"consumer", "enterprise", "mediator"},
    ),
    "performance": (
        _l("Performance was reported on case %(reference)s"),
        {"consumer", "enterprise", "mediator"},
    ),
}

WEBHOOK_EVENTS = {
    "filed": "complaint.created",
    "message": "complaint.message",
    "escalated": "complaint.escalated",
    "offer_accepted": "offer.accepted",
    "offer_rejected": "offer.rejected",
}
CLOSING_KINDS = {"settled", "mediated", "refused", "terminated", "withdrawn"}


def notification_text(kind: str, params: dict) -> str:
    text = KINDS.get(kind, (_l("Update on case %(reference)s"), set()))[0]
    return str(text) % {"reference": params.get("reference", "")}


def recipients(complaint: Complaint, audiences: set[str]) -> list[User]:
    users: list[User] = []
    if "consumer" in audiences:
        users.append(complaint.consumer)
    if "enterprise" in audiences and complaint.enterprise_id is not None:
        if complaint.assignee is not None and complaint.assignee.active:
            users.append(complaint.assignee)
        else:
            users.extend(_enterprise_staff(complaint.enterprise_id))
    if "mediator" in audiences:
        if complaint.mediator is not None:
            users.append(complaint.mediator)
        elif complaint.body_id is not None:
            users.extend(_body_mediators(complaint.body_id))
    if "parent_body" in audiences and complaint.raised_to_body_id is not None:
        # An overdue acceptance is raised to the parent office: its mediators are told.
        users.extend(_body_mediators(complaint.raised_to_body_id))
    seen, unique = set(), []
    for user in users:
        if user is not None and user.id not in seen:
            seen.add(user.id)
            unique.append(user)
    return unique


def _enterprise_staff(enterprise_id: int) -> list[User]:
    return memo(
        ("enterprise_staff", enterprise_id),
        lambda: list(
            db.session.scalars(
                db.select(User).where(User.enterprise_id == enterprise_id, User.active.is_(True))
            )
        ),
    )


def _body_mediators(body_id: int) -> list[User]:
    return memo(
        ("body_mediators", body_id),
        lambda: list(
            db.session.scalars(
                db.select(User)
                .join(BodyMembership, BodyMembership.user_id == User.id)
                .where(
                    BodyMembership.body_id == body_id,
                    BodyMembership.active.is_(True),
                    User.active.is_(True),
                    User.role == UserRole.MEDIATOR,
                )
            )
        ),
    )


def notify(
    complaint: Complaint,
    kind: str,
    *,
    actor: User | None = None,
    params: dict | None = None,
    audiences: set[str] | None = None,
    event_id: int | None = None,
) -> None:
    """Queue the in-app notice, the e-mails and the webhooks for one thing that happened."""
    params = {"reference": complaint.reference, **(params or {})}
    audiences = audiences if audiences is not None else KINDS[kind][1]
    key = f"{complaint.id}:{kind}:{event_id or uuid.uuid4().hex}"
    for user in recipients(complaint, audiences):
        if actor is not None and user.id == actor.id:
            continue
        db.session.add(
            Notification(user_id=user.id, complaint_id=complaint.id, kind=kind, params=params)
        )
        queue_email(user, kind, params, complaint, key=f"mail:{key}:{user.id}")
    if complaint.enterprise_id is not None:
        events = []
        if kind in WEBHOOK_EVENTS:
            events.append(WEBHOOK_EVENTS[kind])
        if kind in CLOSING_KINDS:
            events.append("complaint.closed")
        for event in events:
            queue_webhooks(complaint, event, params, key=f"{key}:{event}")


def queue_email(user: User, kind: str, params: dict, complaint: Complaint | None, *, key: str):
    with force_locale(user.locale or "zh_CN"):
        subject = notification_text(kind, params)
        body = render_template(
            "emails/notification.txt",
            user=user,
            subject=subject,
            params=params,
            complaint_url=_case_url(user, complaint) if complaint else None,
        )
    db.session.add(
        Outbox(
            channel="email",
            idempotency_key=key,
            recipient=user.email,
            subject=subject,
            body=body,
        )
    )


def queue_plain_email(email: str, subject: str, body: str, *, key: str) -> None:
    db.session.add(
        Outbox(channel="email", idempotency_key=key, recipient=email, subject=subject, body=body)
    )


def _case_url(user: User, complaint: Complaint) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    prefix = {
        UserRole.CONSUMER: "/consumer/cases/",
        UserRole.ENTERPRISE: "/merchant/cases/",
        UserRole.MEDIATOR: "/mediation/cases/",
    }.get(user.role, "/consumer/cases/")
    return f"{base}{prefix}{complaint.id}"


def webhook_payload(complaint: Complaint, event: str, params: dict, event_uid: str) -> dict:
    from odr.disputes.serialize import complaint_summary

    return {
        "id": event_uid,
        "type": event,
        "created_at": utcnow().isoformat(),
        "data": {"complaint": complaint_summary(complaint), **_public_params(params)},
    }


def _public_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in {"reference"}}


def queue_webhooks(complaint: Complaint, event: str, params: dict, *, key: str) -> None:
    endpoints = memo(
        ("webhook_endpoints", complaint.enterprise_id),
        lambda: db.session.scalars(
            db.select(WebhookEndpoint).where(
                WebhookEndpoint.enterprise_id == complaint.enterprise_id,
                WebhookEndpoint.active.is_(True),
            )
        ).all(),
    )
    for endpoint in endpoints:
        uid = f"evt_{uuid.uuid4().hex}"
        db.session.add(
            Outbox(
                channel="webhook",
                idempotency_key=f"hook:{endpoint.id}:{key}",
                recipient=endpoint.url,
                endpoint_id=endpoint.id,
                event=event,
                body=json.dumps(
                    webhook_payload(complaint, event, params, uid),
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
            )
        )
