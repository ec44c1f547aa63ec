"""Mediation sessions: the mediator schedules one (online or on site) and both parties are
told the date, time and place in advance."""

from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from odr.auth.models import User
from odr.disputes import deadlines
from odr.disputes.models import Complaint, MediationSession
from odr.disputes.notifications import notify
from odr.disputes.permissions import require_capability, role_in_case
from odr.disputes.states import Forbidden, Invalid, InvalidTransition, NotFound, Role, State
from odr.extensions import db
from odr.types import utcnow

MODES = ("online", "on_site")
SESSION_STATES = frozenset({State.MEDIATING, State.SUSPENDED})


def sessions_of(complaint: Complaint) -> list[MediationSession]:
    return list(
        db.session.scalars(
            db.select(MediationSession)
            .where(MediationSession.complaint_id == complaint.id)
            .order_by(MediationSession.starts_at, MediationSession.id)
        )
    )


def schedule_session(
    actor: User,
    complaint: Complaint,
    *,
    day: date | None,
    at: time | None,
    mode: str | None,
    place: str | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Schedule a session (flushes, never commits). The time is Asia/Shanghai local time."""
    now = now or utcnow()
    role = role_in_case(actor, complaint)
    if role is None:
        raise NotFound(lazy_pgettext("mediation", "No such case."))
    if role != Role.MEDIATOR:
        raise Forbidden(_l("You may not do this on this case."))
    require_capability(actor)
    if complaint.state not in SESSION_STATES:
        raise InvalidTransition(_l("A session can be scheduled only while the case is mediated."))
    errors: dict[str, str] = {}
    place = (place or "").strip()
    if mode not in MODES:
        errors["mode"] = str(_l("Not a valid choice."))
    if day is None:
        errors["day"] = str(_l("This field is required."))
    if at is None:
        errors["time"] = str(_l("This field is required."))
    if mode == "on_site" and not place:
        errors["place"] = str(_l("Give the address of the session."))
    if len(place) > 300:
        errors["place"] = str(_l("At most %(n)s characters.", n=300))
    starts_at = None
    if day is not None and at is not None:
        starts_at = datetime.combine(day, at, tzinfo=deadlines.SHANGHAI)
        if starts_at <= now:
            errors["day"] = str(_l("The session must be in the future."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    session = MediationSession(
        complaint_id=complaint.id,
        starts_at=starts_at,
        mode=mode,
        place=place or None,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(session)
    db.session.flush()
    notify(
        complaint,
        "session_scheduled",
        actor=actor,
        params={"starts_at": starts_at.isoformat(), "mode": mode, "place": place},
    )
    return session
