"""What a mediator's queue shows: the cases of their bodies, the most urgent first, and the
overdue cases of child offices raised to them. Reads only; the moves are operations."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from odr.auth.models import User, UserRole
from odr.disputes import deadlines
from odr.disputes.models import BodyMembership, Complaint, MediationBody
from odr.disputes.permissions import is_body_head
from odr.disputes.states import State
from odr.extensions import db
from odr.types import utcnow

ACTIVE_STATES = (State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED)
CLOSED_AT_BODY = (State.MEDIATED, State.REFUSED, State.TERMINATED, State.WITHDRAWN)
LIMIT = 200
DUE_SOON_DAYS = 2

OVERDUE, DUE_SOON, RUNNING, PAUSED, CLOSED = range(5)
# What a row shows besides the case itself, loaded for all rows at once.
ROW_LOADS = (
    selectinload(Complaint.enterprise),
    selectinload(Complaint.mediator),
    selectinload(Complaint.body),
)


@dataclass
class Row:
    complaint: Complaint
    urgency: int
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.urgency == OVERDUE

    @property
    def due_soon(self) -> bool:
        return self.urgency == DUE_SOON


def head_bodies(user: User) -> set[int]:
    return {b for b in user.body_ids if is_body_head(user, b)}


def urgency(complaint: Complaint, now: datetime) -> tuple[int, int | None]:
    """(bucket, working days left): overdue, due within 2 working days, running, paused."""
    if complaint.state == State.SUSPENDED:
        return PAUSED, complaint.clock_days_left
    if not complaint.state.is_open or complaint.deadline_at is None:
        return CLOSED, None
    left = deadlines.working_days_left(complaint.deadline_at, now)
    if left < 0:
        return OVERDUE, left
    if left <= DUE_SOON_DAYS:
        return DUE_SOON, left
    return RUNNING, left


def _rows(complaints, now: datetime) -> list[Row]:
    rows = []
    for complaint in complaints:
        bucket, left = urgency(complaint, now)
        rows.append(Row(complaint, bucket, left))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(
        key=lambda r: (
            r.urgency,
            r.complaint.deadline_at or far,
            r.complaint.id,
        )
    )
    return rows


def queue_rows(
    user: User, *, state: str | None = None, scope: str = "all", now: datetime | None = None
) -> list[Row]:
    """The cases of the user's bodies. A body's head sees all of them; another mediator the
    cases assigned to them and the ones nobody has taken yet. `scope="mine"`: only the
    cases assigned to the user."""
    now = now or utcnow()
    bodies = user.body_ids
    if not bodies:
        return []
    heads = head_bodies(user)
    others = bodies - heads
    visible = db.or_(
        Complaint.body_id.in_(heads) if heads else db.false(),
        db.and_(
            Complaint.body_id.in_(others) if others else db.false(),
            db.or_(Complaint.mediator_id == user.id, Complaint.mediator_id.is_(None)),
        ),
    )
    query = db.select(Complaint).where(visible).options(*ROW_LOADS)
    if scope == "mine":
        query = query.where(Complaint.mediator_id == user.id)
    if state == "closed":
        query = query.where(Complaint.state.in_(CLOSED_AT_BODY)).order_by(
            Complaint.closed_at.desc(), Complaint.id.desc()
        )
        closed = db.session.scalars(query.limit(LIMIT)).all()
        return [Row(c, CLOSED, None) for c in closed]
    try:
        wanted = [State(state)] if state else list(ACTIVE_STATES)
    except ValueError:
        wanted = list(ACTIVE_STATES)
    ids = _first_by_deadline(query.whereclause, wanted, LIMIT)
    if not ids:
        return []
    rows = db.session.scalars(
        db.select(Complaint).where(Complaint.id.in_(ids)).options(*ROW_LOADS)
    ).all()
    return _rows(rows, now)


def _first_by_deadline(where, states, limit: int) -> list[int]:
    """Ids of the first `limit` cases by (deadline_at, id) among `states`. One ordered,
    limited query per state, merged: each walks ix_complaint_body_state (body_id, state,
    deadline_at, id) and stops after `limit` rows, where a single ORDER BY over several
    states sorted every open case of the body (a second at a million cases)."""
    arms = [
        sa.select(Complaint.id.label("id"), Complaint.deadline_at.label("deadline_at"))
        .where(where, Complaint.state == state)
        .order_by(Complaint.deadline_at, Complaint.id)
        .limit(limit)
        for state in states
    ]
    if len(arms) == 1:
        query = arms[0]
    else:
        # Each arm wrapped so that its ORDER BY and LIMIT stay its own (SQLite requires it).
        merged = sa.union_all(*[sa.select(arm.subquery().c) for arm in arms]).subquery()
        query = sa.select(merged.c.id).order_by(merged.c.deadline_at, merged.c.id).limit(limit)
    return list(db.session.scalars(query))


def raised_rows(user: User, *, now: datetime | None = None) -> list[Row]:
    """Overdue acceptance decisions of child offices, raised to one of the user's bodies."""
    now = now or utcnow()
    bodies = user.body_ids
    if not bodies:
        return []
    query = (
        db.select(Complaint)
        .options(*ROW_LOADS)
        .where(
            Complaint.raised_to_body_id.in_(bodies),
            Complaint.state == State.PENDING_ACCEPTANCE,
        )
        .order_by(Complaint.deadline_at, Complaint.id)
        .limit(LIMIT)
    )
    return _rows(db.session.scalars(query).all(), now)


def body_mediators(body_id: int) -> list[User]:
    return list(
        db.session.scalars(
            db.select(User)
            .join(BodyMembership, BodyMembership.user_id == User.id)
            .where(
                BodyMembership.body_id == body_id,
                BodyMembership.active.is_(True),
                User.active.is_(True),
                User.role == UserRole.MEDIATOR,
            )
            .order_by(User.name, User.id)
        )
    )


def open_case_counts(body_id: int) -> dict[int, int]:
    """Open cases (awaiting acceptance, mediating, suspended) per mediator of the body."""
    rows = db.session.execute(
        db.select(Complaint.mediator_id, db.func.count(Complaint.id))
        .where(
            Complaint.body_id == body_id,
            Complaint.state.in_(ACTIVE_STATES),
            Complaint.mediator_id.is_not(None),
        )
        .group_by(Complaint.mediator_id)
    ).all()
    return {mediator_id: int(count) for mediator_id, count in rows}


def workload(body_id: int) -> list[tuple[User, int]]:
    counts = open_case_counts(body_id)
    return [(m, counts.get(m.id, 0)) for m in body_mediators(body_id)]


def least_busy(load: list[tuple[User, int]], *, exclude: int | None = None) -> User | None:
    """The mediator with the fewest open cases (ties: by name)."""
    candidates = [(m, n) for m, n in load if m.id != exclude]
    if not candidates:
        return None
    return min(candidates, key=lambda pair: (pair[1], pair[0].name, pair[0].id))[0]


def suggest_mediator(body_id: int, *, exclude: int | None = None) -> User | None:
    """The mediator of the body with the fewest open cases. `exclude`: the mediator the
    case is leaving (absent or recused)."""
    return least_busy(workload(body_id), exclude=exclude)


def descendant_bodies(body_ids: set[int]) -> list[MediationBody]:
    """Active offices below the given bodies (children, grandchildren, ...)."""
    found: list[MediationBody] = []
    frontier = set(body_ids)
    seen = set(body_ids)
    while frontier:
        children = db.session.scalars(
            db.select(MediationBody)
            .where(MediationBody.parent_id.in_(frontier), MediationBody.active.is_(True))
            .order_by(MediationBody.id)
        ).all()
        frontier = {c.id for c in children} - seen
        seen |= frontier
        found.extend(c for c in children if c.id in frontier)
    return found


def transfer_targets(exclude_body_id: int | None) -> list[SelectChoice]:
    """Every active body but the case's own, grouped by province (<optgroup>)."""
    from odr.disputes.models import Region

    bodies = db.session.scalars(
        db.select(MediationBody)
        .where(MediationBody.active.is_(True))
        .order_by(MediationBody.region_code, MediationBody.id)
    ).all()
    options: list[SelectChoice] = []
    province_names: dict[str, str] = {}
    for body in bodies:
        if body.id == exclude_body_id:
            continue
        code = (body.region_code or "")[:2] + "0000"
        if code not in province_names:
            province = db.session.get(Region, code)
            province_names[code] = province.display_name() if province else code
        options.append(SelectChoice(body.id, body.display_name(), optgroup=province_names[code]))
    return options
