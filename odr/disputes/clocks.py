"""Every running clock of a case, derived from its start, its working days and its pauses,
and what a change of the calendar does to them.

A case's clock is never more than a function of facts on the case and of the calendar:

- direct settlement (NEGOTIATING): 10 working days from filing (`filed_at`);
- acceptance (PENDING_ACCEPTANCE): 7 working days from arrival at the body (`arrived_at`:
  filing, escalation or transfer);
- mediation (MEDIATING, SUSPENDED): 45 working days from acceptance (`accepted_at`), each
  suspension stopping it with the working days then left (the SUSPEND event), each
  resumption running them again from the day after (the RESUME event).

The operations compute a clock when they start or continue it and store it with the version
of the calendar they used (Complaint.calendar_version). When the calendar changes
(`change_calendar`: `flask odr calendar load`, the console's upload and its one-day edit),
every open case is derived again in the same transaction; a case whose date moved gets an
event (old date, new date, why) and a notice to its parties, every other one only the new
version. The sweep reads the calendar afresh, first derives again any open case whose
version is not that calendar's (written by a process whose cached calendar was a minute
old, or by a transaction that raced the change, or stored before a package upgrade), and
then acts only on clocks of that version: it never acts on a date the calendar in force
does not give.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from odr.disputes import deadlines
from odr.disputes.models import CalendarOverride, CaseEvent, Complaint
from odr.disputes.states import OPEN_STATES, Move, State
from odr.extensions import db

CHUNK = 500

# Why a clock was computed again (the event's "why"; odr/consumer/timeline.py labels them).
SCHEDULE_LOADED = "schedule_loaded"
DAY_EDITED = "day_edited"
CALENDAR_UPDATED = "calendar_updated"

_COLUMNS = (
    Complaint.id,
    Complaint.state,
    Complaint.version,
    Complaint.filed_at,
    Complaint.arrived_at,
    Complaint.accepted_at,
    Complaint.deadline_at,
    Complaint.reminder_at,
    Complaint.clock_days_left,
    Complaint.answer_due_at,
    Complaint.calendar_version,
)


@dataclass(frozen=True)
class Clock:
    """A case's clock as the calendar gives it: a deadline, or (suspended) the working days
    left."""

    deadline_at: datetime | None
    days_left: int | None = None


def derive(calendar: deadlines.Calendar, case, pauses=()) -> Clock:
    """The clock of an open case (a Complaint or a row of _COLUMNS) under `calendar`;
    `pauses`: its (suspended at, resumed at or None) in order."""
    state = State(case.state)
    if state == State.NEGOTIATING:
        return Clock(calendar.working_day_deadline(case.filed_at, deadlines.NEGOTIATION_DAYS))
    if state == State.PENDING_ACCEPTANCE:
        start = case.arrived_at or case.filed_at
        return Clock(calendar.working_day_deadline(start, deadlines.ACCEPTANCE_DAYS))
    if state in (State.MEDIATING, State.SUSPENDED) and case.accepted_at is not None:
        day = calendar.add_working_days(
            deadlines.local_date(case.accepted_at), deadlines.MEDIATION_DAYS
        )
        for suspended_at, resumed_at in pauses:
            # As operations.suspend and resume count: the days in (suspension, deadline]
            # are left; they run again from the day after the resumption.
            left = max(calendar.working_days_between(deadlines.local_date(suspended_at), day), 0)
            if resumed_at is None:
                return Clock(None, left)
            resumed = deadlines.local_date(resumed_at)
            day = calendar.add_working_days(resumed, left) if left > 0 else resumed
        if state == State.SUSPENDED:  # suspended with no SUSPEND event: nothing to derive
            return Clock(None, case.clock_days_left)
        return Clock(deadlines.end_of_day(day))
    return Clock(None)


def pauses_of(ids) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Each case's suspensions, from its SUSPEND and RESUME events."""
    found: dict[int, list[list]] = {}
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(CaseEvent.complaint_id, CaseEvent.action, CaseEvent.at)
        .where(
            CaseEvent.complaint_id.in_(list(ids)),
            CaseEvent.action.in_([str(Move.SUSPEND), str(Move.RESUME)]),
        )
        .order_by(CaseEvent.complaint_id, CaseEvent.id)
    )
    for complaint_id, action, at in rows:
        pauses = found.setdefault(complaint_id, [])
        if action == Move.SUSPEND:
            pauses.append([at, None])
        elif pauses and pauses[-1][1] is None:
            pauses[-1][1] = at
    return {cid: [tuple(p) for p in pauses] for cid, pauses in found.items()}


def derive_case(complaint: Complaint, calendar: deadlines.Calendar | None = None) -> Clock:
    """One case's clock under the calendar in force (or `calendar`)."""
    calendar = calendar or deadlines.current()
    return derive(calendar, complaint, pauses_of([complaint.id]).get(complaint.id, ()))


@dataclass
class Moved:
    """A case whose date moved when its clock was derived again."""

    complaint_id: int
    reference: str
    state: str
    before: date | int | None  # the deadline's day, or the working days left (suspended)
    after: date | int | None


def _day(value: datetime | None) -> date | None:
    return deadlines.local_date(value) if value is not None else None


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _recompute_rows(calendar, rows, *, now: datetime, why: str, source: str | None) -> list:
    """Derive the clocks of locked open-case rows again and store them with the calendar's
    version: through operations.move_clocks (event and notices) where a date moved,
    silently where only the stamp, the reminder or the second changes."""
    pauses = pauses_of([r.id for r in rows if r.state in (State.MEDIATING, State.SUSPENDED)])
    moved_values, moved_details, quiet, moved = {}, {}, [], []
    for row in rows:
        clock = derive(calendar, row, pauses.get(row.id, ()))
        deadline_at = _utc(clock.deadline_at)
        reminder_at = None
        if deadline_at is not None:
            moment = _utc(calendar.reminder_moment(deadline_at))
            late = row.deadline_at is None or _day(deadline_at) > _day(row.deadline_at)
            # A reminder not sent yet follows the deadline; one already sent is sent again
            # only for a later date whose reminder day is still ahead.
            if row.reminder_at is not None or (late and moment > now):
                reminder_at = moment
        values = {
            "deadline_at": deadline_at,
            "reminder_at": reminder_at,
            "clock_days_left": clock.days_left,
            "answer_due_at": deadline_at if row.state == State.NEGOTIATING else row.answer_due_at,
            "calendar_version": calendar.version,
        }
        before = _day(row.deadline_at) if row.state != State.SUSPENDED else row.clock_days_left
        after = _day(deadline_at) if row.state != State.SUSPENDED else clock.days_left
        if before != after:
            moved_values[row.id] = values
            moved_details[row.id] = {
                "why": why,
                "source": source,
                "previous_deadline": before.isoformat() if isinstance(before, date) else None,
                "deadline": after.isoformat() if isinstance(after, date) else None,
                "previous_working_days_left": before if isinstance(before, int) else None,
                "working_days_left": after if isinstance(after, int) else None,
            }
            moved.append(Moved(row.id, "", str(row.state), before, after))
        elif any(getattr(row, name) != value for name, value in values.items()):
            quiet.append(
                {"_id": row.id, "_version": row.version}
                | {f"v_{name}": value for name, value in values.items()}
            )
    if quiet:
        table = Complaint.__table__
        db.session.execute(
            db.update(table)
            .where(table.c.id == db.bindparam("_id"), table.c.version == db.bindparam("_version"))
            .values({name[2:]: db.bindparam(name) for name in quiet[0] if name.startswith("v_")}),
            quiet,
        )
    if moved:
        # Imported here: the operations derive clocks with this module (T5's check).
        from odr.disputes import operations as ops

        references = ops.move_clocks(list(moved_values), moved_values, moved_details, now=now)
        for item in moved:
            item.reference = references.get(item.complaint_id, "")
    return moved


def _locked_rows(ids, *, skip_locked: bool):
    query = (
        db.select(*_COLUMNS)
        .where(Complaint.id.in_(ids), Complaint.state.in_(list(OPEN_STATES)))
        .order_by(Complaint.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Complaint, skip_locked=skip_locked)
    return db.session.execute(query).all()


def recompute_open_cases(
    calendar: deadlines.Calendar, *, now: datetime, why: str, source: str | None = None
) -> list[Moved]:
    """Derive every open case's clock again under `calendar`, in the caller's transaction
    (each case locked, waiting for whoever holds it). Answers the cases whose date moved."""
    ids = sorted(
        db.session.scalars(db.select(Complaint.id).where(Complaint.state.in_(list(OPEN_STATES))))
    )
    moved = []
    for start in range(0, len(ids), CHUNK):
        rows = _locked_rows(ids[start : start + CHUNK], skip_locked=False)
        moved += _recompute_rows(calendar, rows, now=now, why=why, source=source)
    return moved


def stale_ids(version: str) -> list[int]:
    """Open cases whose clock was not computed under the calendar of `version`: three
    index range scans (ix_complaint_calendar) that find nothing when all is in order."""
    stamp, open_states = Complaint.calendar_version, Complaint.state.in_(list(OPEN_STATES))
    found: set[int] = set()
    for condition in (stamp.is_(None), stamp < version, stamp > version):
        found.update(db.session.scalars(db.select(Complaint.id).where(condition, open_states)))
    return sorted(found)


def catch_up(calendar: deadlines.Calendar, *, now: datetime, batch: int = CHUNK) -> list[Moved]:
    """The sweep's first step: derive again, batch by batch (each committed; cases another
    transaction holds are left to the next run), every open case whose clock is not of
    `calendar`."""
    moved = []
    ids = stale_ids(calendar.version)
    for start in range(0, len(ids), batch):
        rows = _locked_rows(ids[start : start + batch], skip_locked=True)
        rows = [row for row in rows if row.calendar_version != calendar.version]
        moved += _recompute_rows(calendar, rows, now=now, why=CALENDAR_UPDATED, source=None)
        db.session.commit()
    return moved


# -- changing the calendar ------------------------------------------------------------------


@dataclass
class CalendarChange:
    """What a change of the calendar did: the days whose kind changed (day, was a working
    day, is one now, note) and the cases whose date moved."""

    days: list[tuple[date, bool, bool, str | None]]
    moved: list[Moved]
    stored: int
    off: int = 0  # of the days stored, days off
    work: int = 0  # and working days


def change_calendar(
    days, *, from_schedule: bool, why: str, source: str | None = None, now: datetime
) -> CalendarChange:
    """Store days of the calendar and derive every open case's clock again, in the caller's
    transaction (flushes, never commits). `days`: (day, is_workday or None to go back to
    the official schedule or the law, note). Every path that changes the calendar comes
    through here."""
    before = deadlines.read()
    touched, kinds = {}, {}
    for day, workday, note in days:
        note = (note or "")[:100] or None
        touched[day], kinds[day] = note, workday
        override = db.session.get(CalendarOverride, day)
        if workday is None:
            if override is not None:
                db.session.delete(override)
        elif override is None:
            db.session.add(
                CalendarOverride(
                    day=day, is_workday=workday, note=note, from_schedule=from_schedule
                )
            )
        else:
            override.is_workday, override.note = workday, note
            override.from_schedule = from_schedule or override.from_schedule
    db.session.flush()
    after = deadlines.read()
    changed = [
        (day, before.is_workday(day), after.is_workday(day), note)
        for day, note in sorted(touched.items())
        if before.is_workday(day) != after.is_workday(day)
    ]
    moved = []
    if after.version != before.version:
        moved = recompute_open_cases(after, now=now, why=why, source=source)
    deadlines.invalidate_overrides()
    off = sum(1 for workday in kinds.values() if workday is False)
    work = sum(1 for workday in kinds.values() if workday is True)
    return CalendarChange(changed, moved, len(touched), off, work)
