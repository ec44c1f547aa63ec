"""The deadline sweep: runs every due clock once, as if the clock read `as_of`.

Each kind of due case is moved by the operation a person's move goes through
(operations.escalate_overdue, flag_overdue, expire_mediation, send_reminder,
remind_performance), given a
batch of cases instead of one. Idempotent and safe on many machines at once: due cases are
taken in batches, locked with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL), moved, and
committed together; if anything fails in a batch, the batch is undone and redone one case
at a time, each committed on its own. A crash loses nothing (an uncommitted case is still
due) and two sweeps never move a case twice. It only touches rows whose clock is due
(indexed on state and deadline), so its cost grows with the due cases, not with all cases;
lookups that do not change during a sweep (an enterprise's staff, a body's mediators, the
competent office of a region) are asked once per sweep (odr.disputes.memo).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from odr.database import bulk_writer
from odr.disputes import clocks, deadlines, memo, sessions
from odr.disputes import operations as ops
from odr.disputes.drafts import purge_old_drafts
from odr.disputes.models import Complaint, IdempotentRequest, MediationBody
from odr.disputes.states import AGREED_STATES, OPEN_STATES, DomainError, State
from odr.extensions import db
from odr.types import utcnow

log = logging.getLogger(__name__)
# Cases moved and committed together unless the app's SWEEP_BATCH says otherwise. On
# SQLite, small enough that its one write lock, held from the first write to the commit,
# keeps other writers waiting well under the busy timeout (5 s). PostgreSQL locks only the
# batch's rows, so its batches are bigger: fewer statements and commits.
BATCH = {"sqlite": 100, "postgresql": 500}


@dataclass
class SweepReport:
    as_of: datetime
    actions: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, reference: str, action: str, detail: str = "") -> None:
        self.actions.append((reference, action, detail))

    def count(self, action: str) -> int:
        return sum(1 for _, a, _ in self.actions if a == action)

    def lines(self) -> list[str]:
        out = [f"sweep as of {self.as_of.isoformat()}"]
        out += [f"{ref} {action} {detail}".rstrip() for ref, action, detail in self.actions]
        counted = ["escalated", "flagged_overdue", "terminated_t5", "performance_asked", "reminded"]
        if self.count("session_reminded"):
            counted.append("session_reminded")
        summary = ", ".join(f"{action}={self.count(action)}" for action in counted)
        out.append(f"done: {summary}")
        return out


def office(body_id: int | None) -> str:
    """An office as the sweep's report names it: its name and id (asked once a sweep)."""
    if body_id is None:
        return "no office"
    name = memo.memo(
        ("office_name", body_id),
        lambda: db.session.scalar(db.select(MediationBody.name).where(MediationBody.id == body_id)),
    )
    return f"{name or 'office'} (body {body_id})"


def _due_ids(criteria) -> list[int]:
    """Every due case's id, in id order. Read without ORDER BY/LIMIT on purpose: with them
    SQLite walks the primary key (the whole table when nothing is due: over a second for a
    million cases) instead of the (state, deadline) index the criteria are made for."""
    return sorted(db.session.scalars(db.select(Complaint.id).where(*criteria)))


@dataclass(frozen=True)
class _Kind:
    """One kind of due case: which cases (`criteria(as_of)`), the operation that moves a
    list of them, and the report's detail of a moved case."""

    name: str
    # (as of, the version of the calendar in force): only clocks computed under it are due.
    criteria: Callable[[datetime, str], list]
    move: Callable[..., object]
    detail: Callable[[Complaint], str]
    # The set-based moves take the batch as ids and read the columns they need themselves;
    # the others move each loaded case through the session.
    lean: bool


def _locking(query):
    if db.session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Complaint)
    return query


_PARTIES = (
    selectinload(Complaint.consumer),
    selectinload(Complaint.enterprise),
    selectinload(Complaint.assignee),
    selectinload(Complaint.mediator),
    selectinload(Complaint.body),
)


def _lock(kind: _Kind, ids: list[int], as_of: datetime, version: str) -> list:
    """The cases among `ids` that are still due and not held by another sweep, locked: as
    ids for the set-based moves (they read their own rows), else loaded with their parties
    (the operations then do not select them again)."""
    if kind.lean:
        query = db.select(Complaint.id).where(Complaint.id.in_(ids), *kind.criteria(as_of, version))
        return sorted(db.session.scalars(_locking(query)))
    query = (
        db.select(Complaint)
        .where(Complaint.id.in_(ids), *kind.criteria(as_of, version))
        .order_by(Complaint.id)
        .options(*_PARTIES)
        .execution_options(populate_existing=True)
    )
    cases = list(db.session.scalars(_locking(query)))
    for complaint in cases:
        ops.hold(complaint.id)
    return cases


def _run_batch(
    kind: _Kind, ids: list[int], as_of: datetime, version: str
) -> list[tuple[str, str]] | None:
    """Move a batch of due cases and commit them together. Any failure undoes the whole
    batch (None): the caller then takes its cases one at a time."""
    try:
        cases = _lock(kind, ids, as_of, version)
        moved = kind.move(cases, now=as_of) if cases else []
        done = [(case.reference, kind.detail(case)) for case in moved]
        db.session.commit()
    except Exception as exc:  # retried case by case below, where it is logged
        db.session.rollback()
        log.info("sweep batch of %s cases retried one by one: %s", len(ids), exc)
        return None
    return done


def _run_one(
    report: "SweepReport", kind: _Kind, complaint_id: int, as_of: datetime, version: str
) -> None:
    try:
        cases = _lock(kind, [complaint_id], as_of, version)
        if not cases:  # moved meanwhile, or another sweep holds it
            db.session.rollback()
            return
        [moved] = kind.move(cases, now=as_of)
        reference, text = moved.reference, kind.detail(moved)
        db.session.commit()
        report.add(reference, kind.name, text)
    except (DomainError, StaleDataError) as exc:
        db.session.rollback()
        log.info("sweep skipped case %s: %s", complaint_id, exc)
    except Exception:
        db.session.rollback()
        log.exception("sweep failed on case %s", complaint_id)


def _run(report: "SweepReport", kind: _Kind, as_of: datetime, batch: int, version: str) -> None:
    """Every due case of one kind, in batches; where a batch fails, one case at a time."""
    due = _due_ids(kind.criteria(as_of, version))
    for start in range(0, len(due), batch):
        ids = due[start : start + batch]
        done = _run_batch(kind, ids, as_of, version)
        if done is None:
            for complaint_id in ids:
                _run_one(report, kind, complaint_id, as_of, version)
        else:
            for reference, text in done:
                report.add(reference, kind.name, text)


KINDS = (
    _Kind(
        "escalated",
        lambda as_of, version: [
            Complaint.state == State.NEGOTIATING,
            Complaint.deadline_at < as_of,
            Complaint.calendar_version == version,
        ],
        lambda cases, now: ops.escalate_overdue(cases, now=now),
        lambda c: f"-> pending_acceptance at {office(c.body_id)}",
        lean=True,
    ),
    _Kind(
        "flagged_overdue",
        lambda as_of, version: [
            Complaint.state == State.PENDING_ACCEPTANCE,
            Complaint.deadline_at < as_of,
            Complaint.overdue_flagged.is_(False),
            Complaint.calendar_version == version,
        ],
        lambda cases, now: ops.flag_overdue(cases, now=now),
        lambda c: f"raised to {office(c.raised_to_body_id)}",
        lean=False,
    ),
    _Kind(
        "terminated_t5",
        lambda as_of, version: [
            Complaint.state == State.MEDIATING,
            Complaint.deadline_at < as_of,
            Complaint.calendar_version == version,
        ],
        lambda cases, now: ops.expire_mediation(cases, now=now),
        lambda c: "-> terminated (T5)",
        lean=False,
    ),
    _Kind(
        "reminded",
        lambda as_of, version: [
            Complaint.state.in_(list(OPEN_STATES)),
            Complaint.reminder_at <= as_of,
            # Written as an expression so that no index can serve it: SQLite would
            # otherwise read (state, deadline_at), whose range holds every open case with a
            # future deadline (0.3 s of a sweep with nothing due at 200,000 open cases),
            # instead of (state, reminder_at, deadline_at), 1 ms.
            sa.case((Complaint.deadline_at >= as_of, True), else_=False) == sa.true(),
            Complaint.calendar_version == version,
        ],
        lambda cases, now: ops.send_reminder(cases, now=now),
        lambda c: f"deadline {c.deadline_at.isoformat()}",
        lean=True,
    ),
    _Kind(
        "performance_asked",
        # A performance due date is a calendar day, not a working-day clock: no version.
        lambda as_of, version: [
            Complaint.performance_reminder_at <= as_of,
            Complaint.state.in_(list(AGREED_STATES)),
        ],
        lambda cases, now: ops.remind_performance(cases, now=now),
        lambda c: f"performance due {c.performance_due.isoformat() if c.performance_due else '-'}",
        lean=False,
    ),
)


def sweep(as_of: datetime | None = None, *, batch: int | None = None) -> SweepReport:
    """Run every due clock once. `batch`: cases moved and committed together (default: the
    app's SWEEP_BATCH, else BATCH for the database)."""
    if batch is None:
        batch = current_app.config.get("SWEEP_BATCH") or BATCH.get(
            db.session.get_bind().dialect.name, BATCH["sqlite"]
        )
    with memo.scope(), bulk_writer(db.session):
        return _sweep(as_of or utcnow(), max(batch, 1))


def _sweep(as_of: datetime, batch: int) -> SweepReport:
    report = SweepReport(as_of=as_of)
    # The calendar as the database holds it now, not as this process cached it: clocks
    # computed under another are derived again first, and only then is anything due.
    deadlines.invalidate_overrides()
    calendar = deadlines.current()
    for moved in clocks.catch_up(calendar, now=as_of, batch=batch):
        report.add(moved.reference, "deadline_moved", f"{moved.before} -> {moved.after}")
    for kind in KINDS:
        _run(report, kind, as_of, batch, calendar.version)
    _remind_sessions(report, as_of)
    purged = purge_old_drafts(as_of)
    # Answers of idempotent API requests are given again for 24 hours (real time), no longer.
    db.session.execute(
        db.delete(IdempotentRequest).where(
            IdempotentRequest.created_at < min(as_of, utcnow()) - timedelta(hours=24)
        )
    )
    db.session.commit()
    if purged:
        report.add("-", "drafts_purged", f"{purged} drafts older than 30 days")
    return report


def _remind_sessions(report: SweepReport, as_of: datetime) -> None:
    """Tell the parties of each session on the working day before it; each committed on
    its own (a session is reminded once, whatever the number of sweeps)."""
    for session_id in sessions.due_reminders(as_of):
        try:
            done = sessions.remind(session_id, as_of)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("sweep failed to remind of session %s", session_id)
            continue
        if done is not None:
            reference, session = done
            report.add(reference, "session_reminded", f"session at {session.starts_at.isoformat()}")
