"""Mediation sessions: the mediator schedules one (online, in person or by phone) and both
parties are told when and where, in the notice, the e-mail and on their case page, with a
calendar file (.ics) to keep, and reminded on the working day before (the sweep).

Times are Asia/Shanghai wall-clock times, written with their zone wherever a person reads
them (`when_text`)."""

import enum
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import icalendar
from flask import current_app
from flask_babel import format_date, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.auth.models import User
from odr.disputes import deadlines
from odr.disputes.models import Complaint, MediationBody, MediationSession
from odr.disputes.notifications import notify
from odr.disputes.permissions import require_capability, role_in_case
from odr.disputes.states import Forbidden, Invalid, InvalidTransition, NotFound, Role, State
from odr.extensions import db
from odr.types import utcnow


class SessionMode(enum.StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    PHONE = "phone"

    @property
    def label(self):
        return MODE_LABELS[self]


MODE_LABELS = {
    SessionMode.ONLINE: _l("Online (video)"),
    SessionMode.IN_PERSON: _l("In person"),
    SessionMode.PHONE: _l("By phone"),
}
MODES = tuple(m.value for m in SessionMode)
SESSION_STATES = frozenset({State.MEDIATING, State.SUSPENDED})
# A session without an end written is shown and put in calendars as this long.
DEFAULT_LENGTH = timedelta(hours=1)
# Who may read a case's sessions: its parties and its mediator.
READERS = frozenset({Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR})


def mode_label(mode: str | None) -> str:
    try:
        return str(SessionMode(mode).label)
    except ValueError:
        return mode or ""


def sessions_of(complaint: Complaint | int) -> list[MediationSession]:
    cid = complaint if isinstance(complaint, int) else complaint.id
    return list(
        db.session.scalars(
            db.select(MediationSession)
            .where(MediationSession.complaint_id == cid)
            .order_by(MediationSession.starts_at, MediationSession.id)
        )
    )


def session_of(user: User, complaint: Complaint, session_id: int) -> MediationSession:
    """One session of the case, for its parties and mediator; NotFound for anyone else."""
    if not readable(user, complaint):
        raise NotFound(_l("No such session."))
    found = db.session.get(MediationSession, session_id) if 0 < session_id < 2**31 else None
    if found is None or found.complaint_id != complaint.id:
        raise NotFound(_l("No such session."))
    return found


def readable(user: User, complaint: Complaint) -> bool:
    """Whether the user reads the case's sessions: its parties and its mediator."""
    return role_in_case(user, complaint) in READERS


def _valid_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in link


def schedule_session(
    actor: User,
    complaint: Complaint,
    *,
    day: date | None,
    at: time | None,
    until: time | None = None,
    mode: str | None,
    place: str | None = None,
    link: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Schedule a session (flushes, never commits). The times are Asia/Shanghai local."""
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
    link = (link or "").strip()
    note = (note or "").strip()
    if mode not in MODES:
        errors["mode"] = str(_l("Not a valid choice."))
    if day is None:
        errors["day"] = str(_l("This field is required."))
    if at is None:
        errors["time"] = str(_l("This field is required."))
    if mode == SessionMode.IN_PERSON and not place:
        errors["place"] = str(_l("Give the address of the session."))
    if mode == SessionMode.ONLINE and not (link or place or note):
        errors["link"] = str(_l("Give the link of the online session, or how to join it."))
    if link and not _valid_link(link):
        errors["link"] = str(_l("Give a web address starting with https://."))
    for name, value, limit in (("place", place, 300), ("link", link, 500), ("note", note, 1000)):
        if len(value) > limit:
            errors[name] = str(_l("At most %(n)s characters.", n=limit))
    starts_at = ends_at = None
    if day is not None and at is not None:
        starts_at = datetime.combine(day, at, tzinfo=deadlines.SHANGHAI)
        if starts_at <= now:
            errors["day"] = str(_l("The session must be in the future."))
        if until is not None:
            ends_at = datetime.combine(day, until, tzinfo=deadlines.SHANGHAI)
            if ends_at <= starts_at:
                errors["until"] = str(_l("The session must end after it starts."))
        else:
            ends_at = starts_at + DEFAULT_LENGTH
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    session = MediationSession(
        complaint_id=complaint.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        place=place or None,
        link=link or None,
        note=note or None,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(session)
    db.session.flush()
    notify(complaint, "session_scheduled", actor=actor, params=session_params(session))
    return session


def session_params(session: MediationSession) -> dict:
    """What a notice about a session carries (JSON), to be written in each reader's language."""
    return {
        "session_id": session.id,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "mode": session.mode,
        "place": session.place or "",
        "link": session.link or "",
        "note": session.note or "",
    }


def session_dict(session: MediationSession) -> dict:
    """A session as the API answers it."""
    return {
        "id": session.id,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": (session.ends_at or session.starts_at + DEFAULT_LENGTH).isoformat(),
        "mode": session.mode,
        "place": session.place,
        "link": session.link,
        "note": session.note,
    }


# -- how a session reads ----------------------------------------------------------------


def _moment(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.astimezone(deadlines.SHANGHAI)


def when_text(starts_at, ends_at=None) -> str:
    """'Thursday, 10 December 2026, 14:30–15:30 (Beijing time)' in the reader's language."""
    start = _moment(starts_at)
    if start is None:
        return ""
    end = _moment(ends_at)
    # Written from the Shanghai wall clock itself: Babel's format_time would convert again.
    hours = f"{start:%H:%M}"
    if end is not None and end.date() == start.date():
        hours += f"–{end:%H:%M}"
    return _(
        "%(day)s, %(hours)s (Beijing time)",
        day=format_date(start.date(), "full"),
        hours=hours,
    )


def where_text(mode: str | None, place: str | None, link: str | None) -> str:
    """'In person: <address>', 'Online: <link>', 'By phone'."""
    label = mode_label(mode)
    detail = place or link or ""
    return _("%(mode)s: %(detail)s", mode=label, detail=detail) if detail else label


def session_lines(params: dict) -> list[tuple[str, str]]:
    """(label, text) lines of a session for an e-mail, from a notice's params."""
    lines = [(_("When"), when_text(params.get("starts_at"), params.get("ends_at")))]
    lines.append((_("Form"), mode_label(params.get("mode"))))
    if params.get("place"):
        lines.append((_("Place"), params["place"]))
    if params.get("link"):
        lines.append((_("Link"), params["link"]))
    if params.get("note"):
        lines.append((_("Note"), params["note"]))
    return lines


def notice_params(params: dict) -> dict:
    """The %(when)s and %(where)s of a session notice's text, in the reader's language."""
    return {
        "when": when_text(params.get("starts_at"), params.get("ends_at")),
        "where": where_text(params.get("mode"), params.get("place"), params.get("link")),
    }


# -- the calendar file ------------------------------------------------------------------


def ics(session: MediationSession, complaint: Complaint) -> bytes:
    """The session as an iCalendar event (RFC 5545), in the reader's language, with an
    alarm the day before."""
    body = db.session.get(MediationBody, complaint.body_id) if complaint.body_id else None
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//ODR portal//mediation sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "odr.local"
    event.add("uid", f"session-{session.id}@{host}")
    event.add("dtstamp", session.created_at)
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", (session.ends_at or session.starts_at + DEFAULT_LENGTH).astimezone(UTC))
    event.add("summary", _("Mediation session, case %(reference)s", reference=complaint.reference))
    location = session.place or session.link
    if location:
        event.add("location", location)
    if session.link:
        event.add("url", session.link)
    lines = [
        _("Form: %(mode)s", mode=mode_label(session.mode)),
        _(
            "Case: %(reference)s · %(subject)s",
            reference=complaint.reference,
            subject=complaint.subject,
        ),
    ]
    if body is not None:
        lines.append(_("Mediation body: %(body)s", body=body.display_name()))
    if session.note:
        lines.append(session.note)
    event.add("description", "\n".join(lines))
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", event["summary"])
    alarm.add("trigger", -timedelta(days=1))
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


# -- the reminder the working day before (the sweep) -------------------------------------


def reminder_horizon(as_of: datetime) -> datetime:
    """Sessions starting up to the end of the next working day are reminded today: on
    Friday, Monday's sessions."""
    return deadlines.end_of_day(deadlines.add_working_days(deadlines.local_date(as_of), 1))


def due_reminders(as_of: datetime) -> list[int]:
    """Ids of the sessions to remind of now: not reminded yet, still ahead, starting by
    the end of the next working day, on a case still in mediation."""
    return sorted(
        db.session.scalars(
            db.select(MediationSession.id)
            .join(Complaint, Complaint.id == MediationSession.complaint_id)
            .where(
                MediationSession.reminded_at.is_(None),
                MediationSession.starts_at > as_of,
                MediationSession.starts_at <= reminder_horizon(as_of),
                Complaint.state == State.MEDIATING,
            )
        )
    )


def remind(session_id: int, as_of: datetime) -> tuple[str, MediationSession] | None:
    """Tell the parties and the mediator of one session tomorrow (flushes). None when it
    was reminded meanwhile (another sweep) or is held by another sweep."""
    query = db.select(MediationSession).where(
        MediationSession.id == session_id, MediationSession.reminded_at.is_(None)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    session = db.session.scalar(query)
    if session is None:
        return None
    complaint = db.session.get(Complaint, session.complaint_id)
    session.reminded_at = as_of
    notify(
        complaint,
        "session_reminder",
        params=session_params(session),
        event_id=f"session-{session.id}",
    )
    db.session.flush()
    return complaint.reference, session
