"""The deadline sweep: runs every due clock once, as if the clock read `as_of`.

Idempotent and safe on many machines at once: due cases are taken in batches of BATCH,
locked with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL), re-checked, moved, and
committed together; if anything fails in a batch, the batch is undone and redone one case
at a time, each committed on its own. A crash loses nothing (an uncommitted case is still
due) and two sweeps never move a case twice. It only touches rows whose clock is due
(indexed on state and deadline), so its cost grows with the due cases, not with all cases;
lookups that do not change during a sweep (an enterprise's staff, a body's mediators, the
competent office of a region) are asked once per sweep (odr.disputes.memo).
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from odr.disputes import bulk, memo
from odr.disputes import operations as ops
from odr.disputes.drafts import purge_old_drafts
from odr.disputes.models import Complaint
from odr.disputes.states import OPEN_STATES, DomainError, State
from odr.extensions import db
from odr.types import utcnow

log = logging.getLogger(__name__)
# Cases moved and committed together (ODR_SWEEP_BATCH sets both). On SQLite, small enough
# that its one write lock, held from the first write to the commit, keeps other writers
# waiting well under the busy timeout (5 s). PostgreSQL locks only the batch's rows, so its
# batches are bigger: fewer statements and commits (10,000 escalations among a million
# open cases: about 0.5 s less than in batches of 100).
BATCH = int(os.environ.get("ODR_SWEEP_BATCH", "100"))
BATCH_POSTGRESQL = int(os.environ.get("ODR_SWEEP_BATCH", "500"))


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
        summary = ", ".join(
            f"{action}={self.count(action)}"
            for action in ("escalated", "flagged_overdue", "terminated_t5", "reminded")
        )
        out.append(f"done: {summary}")
        return out


def _due_ids(criteria) -> list[int]:
    """Every due case's id, in id order. Read without ORDER BY/LIMIT on purpose: with them
    SQLite walks the primary key (the whole table when nothing is due: over a second for a
    million cases) instead of the (state, deadline) index the criteria are made for."""
    return sorted(db.session.scalars(db.select(Complaint.id).where(*criteria)))


def _locking(query):
    if db.session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Complaint)
    return query


def _lock(complaint_id: int, criteria) -> Complaint | None:
    query = db.select(Complaint).where(Complaint.id == complaint_id, *criteria)
    return db.session.scalar(_locking(query))


def _lock_batch(ids: list[int], criteria) -> list[Complaint]:
    """The batch's cases that are still due and not held by another sweep, locked, with
    the parties the moves and their notifications read."""
    query = (
        db.select(Complaint)
        .where(Complaint.id.in_(ids), *criteria)
        .order_by(Complaint.id)
        .options(
            selectinload(Complaint.consumer),
            selectinload(Complaint.enterprise),
            selectinload(Complaint.assignee),
            selectinload(Complaint.mediator),
            selectinload(Complaint.body),
        )
    )
    return list(db.session.scalars(_locking(query)))


def _run_batch(ids, criteria_fn, action, detail, batch_action) -> list[tuple[str, str]] | None:
    """Move a batch of due cases and commit them together. Any failure undoes the whole
    batch (None): the caller then takes its cases one at a time."""
    done = []
    try:
        if batch_action is not None:
            done = batch_action(ids, criteria_fn())
        else:
            for complaint in _lock_batch(ids, criteria_fn()):
                # Locked and freshly loaded here: the operation need not select it again.
                ops.hold(complaint.id)
                action(complaint)
                done.append((complaint.reference, detail(complaint)))
        db.session.commit()
    except Exception as exc:  # retried case by case below, where it is logged
        db.session.rollback()
        log.info("sweep batch of %s cases retried one by one: %s", len(ids), exc)
        return None
    return done


def _run_one(report, name, complaint_id, criteria_fn, action, detail) -> None:
    try:
        complaint = _lock(complaint_id, criteria_fn())
        if complaint is None:  # moved meanwhile, or another sweep holds it
            db.session.rollback()
            return
        ops.hold(complaint.id)
        action(complaint)
        text = detail(complaint)
        reference = complaint.reference
        db.session.commit()
        report.add(reference, name, text)
    except (DomainError, StaleDataError) as exc:
        db.session.rollback()
        log.info("sweep skipped case %s: %s", complaint_id, exc)
    except Exception:
        db.session.rollback()
        log.exception("sweep failed on case %s", complaint_id)


def _run(
    report: SweepReport,
    name: str,
    criteria_fn: Callable[[], list],
    action: Callable[[Complaint], object],
    detail: Callable[[Complaint], str],
    batch_action: Callable[[list[int], list], list[tuple[str, str]]] | None = None,
) -> None:
    """Every due case of one kind: in batches (`batch_action` moves a whole batch with a few
    statements; without it, `action` moves each case of the batch), and where a batch
    fails, one case at a time through `action`."""
    due = _due_ids(criteria_fn())
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    batch = max(BATCH_POSTGRESQL if postgresql else BATCH, 1)
    for start in range(0, len(due), batch):
        ids = due[start : start + batch]
        done = _run_batch(ids, criteria_fn, action, detail, batch_action)
        if done is None:
            for complaint_id in ids:
                _run_one(report, name, complaint_id, criteria_fn, action, detail)
        else:
            for reference, text in done:
                report.add(reference, name, text)


def _reminded(deadline_at) -> str:
    return f"deadline {deadline_at.isoformat()}"


def _escalated(body_id) -> str:
    return f"-> pending_acceptance at body {body_id}"


def sweep(as_of: datetime | None = None) -> SweepReport:
    with memo.scope():
        return _sweep(as_of or utcnow())


def _sweep(as_of: datetime) -> SweepReport:
    report = SweepReport(as_of=as_of)

    _run(
        report,
        "escalated",
        lambda: [Complaint.state == State.NEGOTIATING, Complaint.deadline_at < as_of],
        lambda c: ops.escalate_overdue(c, now=as_of),
        lambda c: _escalated(c.body_id),
        lambda ids, criteria: [
            (reference, _escalated(body_id))
            for reference, body_id in bulk.escalate_overdue_many(ids, criteria, as_of)
        ],
    )
    _run(
        report,
        "flagged_overdue",
        lambda: [
            Complaint.state == State.PENDING_ACCEPTANCE,
            Complaint.deadline_at < as_of,
            Complaint.overdue_flagged.is_(False),
        ],
        lambda c: ops.flag_overdue(c, now=as_of),
        lambda c: f"raised to body {c.raised_to_body_id}",
    )
    _run(
        report,
        "terminated_t5",
        lambda: [Complaint.state == State.MEDIATING, Complaint.deadline_at < as_of],
        lambda c: ops.expire_mediation(c, now=as_of),
        lambda c: "-> terminated (T5)",
    )
    _run(
        report,
        "reminded",
        lambda: [
            Complaint.state.in_(list(OPEN_STATES)),
            Complaint.reminder_at <= as_of,
            Complaint.deadline_at >= as_of,
        ],
        lambda c: ops.send_reminder(c, now=as_of),
        lambda c: _reminded(c.deadline_at),
        lambda ids, criteria: [
            (reference, _reminded(deadline_at))
            for reference, deadline_at in bulk.remind_many(ids, criteria, as_of)
        ],
    )
    purged = purge_old_drafts(as_of)
    db.session.commit()
    if purged:
        report.add("-", "drafts_purged", f"{purged} drafts older than 30 days")
    return report
