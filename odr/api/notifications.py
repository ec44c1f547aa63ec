"""The caller's own notifications: list them, mark one or all read. Nobody reads or marks
another user's notices (an unknown or someone else's id is 404)."""

from flask_babel import lazy_gettext as _l

from odr.api import bp, schemas
from odr.api.core import MAX_ID, caller, decode_cursor, encode_cursor, query
from odr.api.spec import endpoint
from odr.disputes import notifications
from odr.disputes.models import Notification
from odr.disputes.serialize import iso
from odr.disputes.states import NotFound
from odr.extensions import db

ALL = ("consumer", "enterprise", "mediator", "admin")


def notification_dict(notice: Notification) -> dict:
    return {
        "id": notice.id,
        "at": iso(notice.created_at),
        "kind": notice.kind,
        "complaint_id": notice.complaint_id,
        "text": notifications.notification_text(notice.kind, notice.params or {}),
        "read": notice.read_at is not None,
    }


@endpoint(
    bp,
    "GET",
    "/notifications",
    summary="The caller's notifications, newest first (`unread=1`: only the unread)",
    tags=ALL,
    query=schemas.NotificationQuery,
    responses={200: schemas.NotificationPage},
)
def list_notifications():
    args = query(schemas.NotificationQuery)
    found = notifications.notices_of(
        caller().id,
        unread_only=args.unread,
        before_id=decode_cursor(args.cursor),
        limit=args.limit,
    )
    cursor = None
    if len(found) > args.limit:
        found = found[: args.limit]
        cursor = encode_cursor(found[-1].id)
    return {"items": [notification_dict(n) for n in found], "next_cursor": cursor}, 200


@endpoint(
    bp,
    "POST",
    "/notifications/<int:notification_id>/read",
    summary="Mark one of the caller's notifications read",
    tags=ALL,
    responses={200: schemas.NotificationOut},
)
def read_notification(notification_id: int):
    if not 0 < notification_id <= MAX_ID:
        raise NotFound(_l("No such notification."))
    notice = notifications.mark_read(caller().id, notification_id)
    db.session.commit()
    return notification_dict(notice), 200


@endpoint(
    bp,
    "POST",
    "/notifications/read-all",
    summary="Mark all of the caller's notifications read",
    tags=ALL,
    responses={200: schemas.ReadAllOut},
)
def read_all_notifications():
    marked = notifications.mark_all_read(caller().id)
    db.session.commit()
    return {"marked": marked}, 200
