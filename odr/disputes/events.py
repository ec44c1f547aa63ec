"""The case timeline: one row per move, chained by HMACs under the audit key."""

import json
from datetime import UTC, datetime

from odr.auth.models import User
from odr.disputes.models import CaseEvent, Complaint
from odr.disputes.seals import keyed
from odr.disputes.signals import announce_case
from odr.extensions import db

_FIELDS = ("complaint_id", "at", "actor_id", "actor_role", "action", "from_state", "to_state")


def _canonical(fields: dict) -> bytes:
    payload = {name: fields[name] for name in _FIELDS}
    # In UTC: the row comes back from the database in UTC whatever zone it was given in.
    payload["at"] = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    payload["details"] = fields["details"]
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()


def _hash(fields: dict) -> str:
    """HMAC under the audit key: without it nobody can write a link that verifies."""
    return keyed((fields["prev_hash"] or "").encode() + _canonical(fields))


def event_hash(event: CaseEvent) -> str:
    return _hash({name: getattr(event, name) for name in (*_FIELDS, "details", "prev_hash")})


def event_row(
    complaint_id: int,
    prev_hash: str | None,
    *,
    actor_id: int | None,
    actor_role: str,
    action: str,
    from_state: str | None,
    to_state: str,
    details: dict | None,
    at: datetime,
) -> dict:
    """The columns of a case's next event, its hash linked to `prev_hash` (the case's chain
    head). record_event adds one through the session; the sweep inserts many at once."""
    row = {
        "complaint_id": complaint_id,
        "at": at,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "details": _jsonable(details or {}),
        "prev_hash": prev_hash,
    }
    row["hash"] = _hash(row)
    return row


def record_event(
    complaint: Complaint,
    *,
    actor: User | None,
    actor_role: str,
    action: str,
    from_state: str | None,
    to_state: str,
    details: dict | None,
    at: datetime,
) -> CaseEvent:
    event = CaseEvent(
        **event_row(
            complaint.id,
            complaint.chain_head,
            actor_id=actor.id if actor is not None else None,
            actor_role=actor_role,
            action=action,
            from_state=from_state,
            to_state=to_state,
            details=details,
            at=at,
        )
    )
    complaint.chain_head = event.hash
    db.session.add(event)
    announce_case(db.session(), complaint)
    return event


def _jsonable(details: dict) -> dict:
    return json.loads(json.dumps(details, default=str, ensure_ascii=False))


def verify_chain(complaint_id: int) -> list[str]:
    """Problems found in one case's chain (empty when intact)."""
    events = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == complaint_id).order_by(CaseEvent.id)
    ).all()
    head = db.session.scalar(db.select(Complaint.chain_head).where(Complaint.id == complaint_id))
    problems, prev = [], None
    for event in events:
        if event.prev_hash != prev:
            problems.append(f"event {event.id}: link to the previous event broken")
        if event_hash(event) != event.hash:
            problems.append(f"event {event.id}: content altered")
        prev = event.hash
    if head != prev:
        problems.append("chain head does not match the last event")
    return problems
