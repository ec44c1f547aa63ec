"""Keyset paging cursors: the position after which the next page starts, as an opaque token
for URLs. Segment "a" is ordered by a moment (a deadline, or when a case closed) and id,
segment "b" by id alone. The enterprise inbox and the mediators' queue page with these."""

import base64
import binascii
import json
from datetime import datetime

import sqlalchemy as sa

from odr.types import UTCDateTime


def encode_cursor(segment: str, deadline_at: datetime | None, complaint_id: int) -> str:
    payload = {"s": segment, "i": complaint_id}
    if deadline_at is not None:
        payload["d"] = deadline_at.isoformat()
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(c):
    """Segment "a"'s keyset condition on the complaint columns `c`: (deadline_at, id) after
    the bound after_deadline and after_id (the position a decoded cursor gives)."""
    return sa.tuple_(c.deadline_at, c.id) > sa.tuple_(
        sa.bindparam("after_deadline", type_=UTCDateTime()),
        sa.bindparam("after_id", type_=sa.Integer()),
    )


def decode_cursor(cursor: str | None) -> tuple[str, datetime | None, int] | None:
    """The position after which the next page starts; None for a missing or bad cursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        segment, complaint_id = payload["s"], int(payload["i"])
        deadline_at = datetime.fromisoformat(payload["d"]) if segment == "a" else None
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if segment not in ("a", "b") or (segment == "a" and deadline_at.tzinfo is None):
        return None
    return segment, deadline_at, complaint_id
