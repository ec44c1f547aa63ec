"""Tell people what happened: in-app notifications, e-mail and webhooks, all through the
outbox so that nothing is sent inside the request and nothing is lost if a receiver is down.

In-app notices are stored as kind and params and rendered in the reader's language when
read; notification e-mails likewise keep what they say (`Outbox.notice`) and are written in
the recipient's language when the worker sends them (`written`), so a sweep that moves
10,000 cases renders no template.
"""

import json
import uuid
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from odr.auth.models import User, UserRole
from odr.disputes.claims import claim_url
from odr.disputes.memo import memo, remember, unknown
from odr.disputes.models import (
    BodyMembership,
    Complaint,
    Notification,
    Outbox,
    WebhookEndpoint,
)
from odr.disputes.serialize import complaint_summary
from odr.disputes.states import NotFound
from odr.extensions import db
from odr.types import utcnow
from odr.urls import public_url

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
        _l("Mediation session on case %(reference)s: %(when)s, %(where)s"),
        {"consumer", "enterprise", "mediator"},
    ),
    "session_reminder": (
        _l("Reminder: mediation session on case %(reference)s: %(when)s, %(where)s"),
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
    "deadline_moved": (
        _l("Case %(reference)s: the deadline changed with the holiday calendar"),
        {"consumer", "enterprise", "mediator"},
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
    "performance_due": (
        _l("Case %(reference)s: the agreement is due today. Was it carried out?"),
        {"consumer", "enterprise"},
    ),
    "agreement_changes_requested": (
        _l("A party asked for changes to the proposed agreement on case %(reference)s"),
        {"mediator"},
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


def webhook_events(kind: str) -> list[str]:
    """The webhook events a kind of notice sends to the enterprise's endpoints."""
    events = [WEBHOOK_EVENTS[kind]] if kind in WEBHOOK_EVENTS else []
    if kind in CLOSING_KINDS:
        events.append("complaint.closed")
    return events


# Kinds about a mediation session: their texts say when and where (odr/disputes/sessions.py).
SESSION_KINDS = {"session_scheduled", "session_reminder"}

# Where on the case page a notice leads (the part of the page it is about).
ANCHORS = {
    "message": "messages",
    "offer_made": "offers",
    "offer_accepted": "offers",
    "offer_rejected": "offers",
    "session_scheduled": "sessions",
    "session_reminder": "sessions",
    "agreement_proposed": "agreement",
    "agreement_signed": "agreement",
    "record_issued": "records",
    "performance": "performance",
    "performance_due": "performance",
    "agreement_changes_requested": "agreement",
}


def notification_text(kind: str, params: dict) -> str:
    """A notice's text in the current language."""
    text = KINDS.get(kind, (_l("Update on case %(reference)s"), set()))[0]
    values = {"reference": params.get("reference", "")}
    if kind in SESSION_KINDS:
        from odr.disputes.sessions import notice_params  # sessions notifies: imported late

        values.update(notice_params(params))
    return str(text) % values


def case_anchor(kind: str) -> str:
    """The fragment of the case page a notice of `kind` is about ('' for the page's top)."""
    return ANCHORS.get(kind, "")


@dataclass(frozen=True, slots=True)
class Recipient:
    """What telling a user needs, kept apart from the session: the sweep remembers an
    enterprise's staff and a body's mediators across its batches, and a loaded User would
    be expired (and read again) at every commit."""

    id: int
    email: str | None
    name: str
    locale: str | None
    role: UserRole
    active: bool
    # A consumer's mobile number, whether they chose notices by SMS, and whether they are a
    # caller the hotline filed for who has not claimed the case yet (their links claim it).
    phone: str | None = None
    sms_notices: bool = False
    claim_pending: bool = False

    @classmethod
    def of(cls, user: User) -> "Recipient":
        return cls(
            user.id,
            user.email,
            user.name,
            user.locale,
            user.role,
            user.active,
            user.phone,
            bool(user.sms_notices),
            bool(user.claim_pending),
        )


def recipients(complaint: Complaint, audiences: set[str]) -> list[User | Recipient]:
    return recipients_of(
        audiences,
        consumer=complaint.consumer,
        enterprise_id=complaint.enterprise_id,
        assignee=complaint.assignee,
        mediator=complaint.mediator,
        body_id=complaint.body_id,
        raised_to_body_id=complaint.raised_to_body_id,
    )


def recipients_of(
    audiences: set[str],
    *,
    consumer: User | None,
    enterprise_id: int | None,
    assignee: User | None,
    mediator: User | None,
    body_id: int | None,
    raised_to_body_id: int | None,
) -> list[User | Recipient]:
    """Who is told, from a case's parties (the sweep passes them without loading the case)."""
    users: list[User | Recipient] = []
    if "consumer" in audiences:
        users.append(consumer)
    if "enterprise" in audiences and enterprise_id is not None:
        if assignee is not None and assignee.active:
            users.append(assignee)
        else:
            users.extend(_enterprise_staff(enterprise_id))
    if "mediator" in audiences:
        if mediator is not None:
            users.append(mediator)
        elif body_id is not None:
            users.extend(_body_mediators(body_id))
    if "parent_body" in audiences and raised_to_body_id is not None:
        # An overdue acceptance is raised to the parent office: its mediators are told.
        users.extend(_body_mediators(raised_to_body_id))
    seen, unique = set(), []
    for user in users:
        if user is not None and user.id not in seen:
            seen.add(user.id)
            unique.append(user)
    return unique


# What a Recipient holds, read as columns (no User object to build and track).
_RECIPIENT_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.locale,
    User.role,
    User.active,
    User.phone,
    User.sms_notices,
    User.claim_pending,
)

# The statements are built once, with bound parameters: building one cost more than
# running it.
_IDS = db.bindparam("ids", expanding=True)
_STAFF = db.select(*_RECIPIENT_COLUMNS, User.enterprise_id).where(
    User.enterprise_id.in_(_IDS), User.active.is_(True)
)
_MEDIATORS = (
    db.select(*_RECIPIENT_COLUMNS)
    .join(BodyMembership, BodyMembership.user_id == User.id)
    .where(
        BodyMembership.body_id == db.bindparam("body_id"),
        BodyMembership.active.is_(True),
        User.active.is_(True),
        User.role == UserRole.MEDIATOR,
    )
)
_ENDPOINTS = db.select(WebhookEndpoint).where(
    WebhookEndpoint.enterprise_id.in_(_IDS), WebhookEndpoint.active.is_(True)
)


def _recipient(row) -> Recipient:
    return Recipient(
        row.id,
        row.email,
        row.name,
        row.locale,
        row.role,
        row.active,
        row.phone,
        bool(row.sms_notices),
        bool(row.claim_pending),
    )


def _enterprise_staff(enterprise_id: int) -> list[Recipient]:
    return memo(
        ("enterprise_staff", enterprise_id),
        lambda: [_recipient(row) for row in db.session.execute(_STAFF, {"ids": [enterprise_id]})],
    )


def prefetch(enterprise_ids: set[int]) -> None:
    """Inside a memo scope (the sweep), learn the staff and the webhook endpoints of many
    enterprises with one query each instead of one per enterprise."""
    for name, query, read, wrap in (
        ("enterprise_staff", _STAFF, db.session.execute, _recipient),
        ("webhook_endpoints", _ENDPOINTS, db.session.scalars, lambda endpoint: endpoint),
    ):
        wanted = [key[1] for key in unknown((name, e) for e in enterprise_ids)]
        if not wanted:
            continue
        found: dict[int, list] = {e: [] for e in wanted}
        for item in read(query, {"ids": wanted}):
            found[item.enterprise_id].append(wrap(item))
        for enterprise_id, items in found.items():
            remember((name, enterprise_id), items)


def _body_mediators(body_id: int) -> list[Recipient]:
    return memo(
        ("body_mediators", body_id),
        lambda: [_recipient(row) for row in db.session.execute(_MEDIATORS, {"body_id": body_id})],
    )


def look_up_ahead(
    kind: str, audiences: set[str], *, enterprise_id: int | None, body_id: int | None
) -> None:
    """Inside a memo scope, look up now whom `notify` will tell about a case that has no
    assignee or mediator yet (a new one), and the enterprise's webhook endpoints: notify
    then sends no query, and a filing holds SQLite's write lock (taken by its first INSERT)
    only for its writes."""
    if enterprise_id is not None:
        if "enterprise" in audiences:
            _enterprise_staff(enterprise_id)
        if webhook_events(kind):
            webhook_endpoints(enterprise_id)
    if "mediator" in audiences and body_id is not None:
        _body_mediators(body_id)


def notify(
    complaint: Complaint,
    kind: str,
    *,
    actor: User | None = None,
    params: dict | None = None,
    audiences: set[str] | None = None,
    event_id: int | None = None,
) -> None:
    """Queue the in-app notice, the e-mails and the webhooks for one thing that happened:
    one multi-row INSERT for the notices and one for the outbox (e-mails and webhooks), not
    an ORM object each."""
    params = {"reference": complaint.reference, **(params or {})}
    audiences = audiences if audiences is not None else KINDS[kind][1]
    key = f"{complaint.id}:{kind}:{event_id or uuid.uuid4().hex}"
    notices, outbox = [], []
    for user in recipients(complaint, audiences):
        if actor is not None and user.id == actor.id:
            continue
        notices.append(
            {"user_id": user.id, "complaint_id": complaint.id, "kind": kind, "params": params}
        )
        for row in message_rows(user, kind, params, complaint.id, key=f"mail:{key}:{user.id}"):
            outbox.append({**row, "endpoint_id": None, "event": None})
    if complaint.enterprise_id is not None:
        for event in webhook_events(kind):
            outbox.extend(webhook_rows(complaint, event, params, key=f"{key}:{event}"))
    if notices:
        db.session.execute(_INSERT_NOTICES, notices)
    if outbox:
        db.session.execute(_INSERT_OUTBOX, outbox)


# NULLs written as such, so that e-mails and webhooks (which leave different columns empty)
# go in one statement.
_INSERT_NOTICES = db.insert(Notification).execution_options(render_nulls=True)
_INSERT_OUTBOX = db.insert(Outbox).execution_options(render_nulls=True)


def by_sms(user: User | Recipient) -> bool:
    """A consumer with a mobile number is told by SMS when they chose it or have no e-mail
    address (a caller the hotline filed for)."""
    return (
        user.role == UserRole.CONSUMER
        and bool(user.phone)
        and (bool(user.sms_notices) or not user.email)
    )


def message_rows(
    user: User | Recipient, kind: str, params: dict, complaint_id: int | None, *, key: str
) -> list[dict]:
    """The outbox rows that tell one user of one notice: an e-mail to an address, an SMS to
    a consumer who takes them (by_sms)."""
    rows = []
    if user.email:
        rows.append(email_row(user, kind, params, complaint_id, key=key))
    if by_sms(user):
        rows.append(sms_row(user, kind, params, complaint_id, key=f"sms:{key}"))
    return rows


def email_row(
    user: User | Recipient, kind: str, params: dict, complaint_id: int | None, *, key: str
) -> dict:
    """The outbox row of one notification e-mail: what it says and to whom, written in
    the recipient's language when it is sent (see `written`)."""
    return {
        "channel": "email",
        "idempotency_key": key,
        "recipient": user.email,
        "subject": None,
        "body": "",
        "notice": {
            "kind": kind,
            "params": params,
            "locale": user.locale or "zh_CN",
            "name": user.name,
            "url": _case_url(user, complaint_id, kind) if complaint_id is not None else None,
        },
    }


def written(item: Outbox) -> tuple[str, str]:
    """The subject and body of an outbox e-mail: a notification is rendered from its
    notice, any other mail was written when it was queued."""
    if item.notice is None:
        return item.subject or "", item.body
    notice = item.notice
    return render_email(
        notice["locale"],
        notice["kind"],
        notice["params"],
        name=notice["name"],
        complaint_url=notice["url"],
    )


SMS_SIGNATURE = "【12315 ODR】"


def sms_text(text: str, link: str | None) -> str:
    """One short message: the portal's signature, the text and the link."""
    return f"{SMS_SIGNATURE}{text}" + (f" {link}" if link else "")


def sms_row(
    user: User | Recipient, kind: str, params: dict, complaint_id: int | None, *, key: str
) -> dict:
    """The outbox row of one notification SMS: what it says and to whom, written in the
    recipient's language when it is sent (as e-mails are: see `sms_written`)."""
    return {
        "channel": "sms",
        "idempotency_key": key,
        "recipient": user.phone,
        "subject": None,
        "body": "",
        "notice": {
            "kind": kind,
            "params": params,
            "locale": user.locale or "zh_CN",
            "url": _case_url(user, complaint_id) if complaint_id is not None else None,
        },
    }


def sms_written(item: Outbox) -> str:
    """The text of an outbox SMS: a notification is written from its notice, any other
    message (a claim link) was written when it was queued."""
    if item.notice is None:
        return item.body
    notice = item.notice
    with force_locale(notice["locale"]):
        text = notification_text(notice["kind"], notice["params"])
    return sms_text(text, notice["url"])


def queue_sms(phone: str, body: str, *, key: str) -> None:
    db.session.add(Outbox(channel="sms", idempotency_key=key, recipient=phone, body=body))


def render_email(
    locale: str, kind: str, params: dict, *, name: str, complaint_url: str | None
) -> tuple[str, str]:
    """Subject and body of a notification e-mail (emails/notification.txt), in `locale`."""
    with force_locale(locale):
        subject = notification_text(kind, params)
        session = None
        if kind in SESSION_KINDS:
            from odr.disputes.sessions import session_lines

            session = session_lines(params)
        body = render_template(
            "emails/notification.txt",
            user={"name": name},
            subject=subject,
            params=params,
            session=session,
            complaint_url=complaint_url,
        )
    return subject, body


def queue_plain_email(email: str, subject: str, body: str, *, key: str) -> None:
    db.session.add(
        Outbox(channel="email", idempotency_key=key, recipient=email, subject=subject, body=body)
    )


_CASE_PATHS = {
    UserRole.CONSUMER: "/consumer/cases/",
    UserRole.ENTERPRISE: "/merchant/cases/",
    UserRole.MEDIATOR: "/mediation/cases/",
    UserRole.INTAKE: "/intake/cases/",
}


def _case_url(user: User | Recipient, complaint_id: int, kind: str = "") -> str:
    if getattr(user, "claim_pending", False):
        # A caller who cannot sign in yet: the link lets them take the case over.
        return claim_url(complaint_id, user.id)
    anchor = case_anchor(kind)
    path = f"{_CASE_PATHS.get(user.role, '/consumer/cases/')}{complaint_id}"
    return public_url(path + (f"#{anchor}" if anchor else ""))


def webhook_payload(complaint: Complaint, event: str, params: dict, event_uid: str) -> dict:
    return {
        "id": event_uid,
        "type": event,
        "created_at": utcnow().isoformat(),
        "data": {"complaint": complaint_summary(complaint), **_public_params(params)},
    }


def _public_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in {"reference"}}


def webhook_endpoints(enterprise_id: int) -> list[WebhookEndpoint]:
    return memo(
        ("webhook_endpoints", enterprise_id),
        lambda: db.session.scalars(_ENDPOINTS, {"ids": [enterprise_id]}).all(),
    )


def webhook_rows(complaint: Complaint, event: str, params: dict, *, key: str) -> list[dict]:
    """The outbox rows of one webhook event, one per active endpoint of the enterprise."""
    rows = []
    for endpoint in webhook_endpoints(complaint.enterprise_id):
        uid = f"evt_{uuid.uuid4().hex}"
        rows.append(
            {
                "channel": "webhook",
                "idempotency_key": f"hook:{endpoint.id}:{key}",
                "recipient": endpoint.url,
                "subject": None,
                "notice": None,
                "endpoint_id": endpoint.id,
                "event": event,
                "body": json.dumps(
                    webhook_payload(complaint, event, params, uid),
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
            }
        )
    return rows


def queue_webhooks(complaint: Complaint, event: str, params: dict, *, key: str) -> None:
    for row in webhook_rows(complaint, event, params, key=key):
        db.session.add(Outbox(**row))


# -- reading one's notices -----------------------------------------------------------------
# Only their owner reads or marks a notice: every function here takes the user's id and
# never touches another user's rows.


def notices_of(
    user_id: int, *, unread_only: bool = False, before_id: int | None = None, limit: int = 50
) -> list[Notification]:
    """The user's notices, newest first (limit + 1 read: the caller pages)."""
    query = db.select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))


def mark_read(user_id: int, notification_id: int, *, now=None) -> Notification:
    """Mark one of the user's notices read (flushes); NotFound for anyone else's."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != user_id:
        raise NotFound(_l("No such notification."))
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        db.session.flush()
    return notice


def mark_all_read(user_id: int, *, now=None) -> int:
    """Mark every unread notice of the user read; answer how many."""
    result = db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# The user's unread notices of one case: read through the case's index (a case has few
# notices; an enterprise owner may have a hundred thousand unread).
_UNREAD_OF_CASE = db.select(Notification.id).where(
    Notification.complaint_id == db.bindparam("cid"),
    Notification.user_id == db.bindparam("uid"),
    Notification.read_at.is_(None),
)


def mark_case_read(user_id: int, complaint_id: int, *, now=None) -> int:
    """Opening a case marks the reader's notices about it read (flushes); answer how many.
    Writes nothing (and takes no write lock) when there is nothing unread."""
    ids = list(db.session.scalars(_UNREAD_OF_CASE, {"cid": complaint_id, "uid": user_id}))
    if not ids:
        return 0
    db.session.execute(
        db.update(Notification)
        .where(Notification.id.in_(ids), Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return len(ids)
