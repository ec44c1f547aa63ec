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
from odr.merchant.queries import decode_cursor, encode_cursor
from odr.types import UTCDateTime, utcnow

ACTIVE_STATES = (State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED)
CLOSED_AT_BODY = (State.MEDIATED, State.REFUSED, State.TERMINATED, State.WITHDRAWN)
PAGE_SIZE = 50
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


def _visible(user: User):
    """A body's head sees all its cases; another mediator the cases assigned to them and
    the ones nobody has taken yet."""
    heads = head_bodies(user)
    others = user.body_ids - heads
    return db.or_(
        Complaint.body_id.in_(heads) if heads else db.false(),
        db.and_(
            Complaint.body_id.in_(others) if others else db.false(),
            db.or_(Complaint.mediator_id == user.id, Complaint.mediator_id.is_(None)),
        ),
    )


def queue_page(
    user: User,
    *,
    state: str | None = None,
    scope: str = "all",
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> tuple[list[Row], str | None]:
    """One page of the cases of the user's bodies, the most urgent first, and the cursor of
    the next page. `scope="mine"`: only the cases assigned to the user. Closed cases:
    the most recently closed first."""
    now = now or utcnow()
    if not user.body_ids:
        return [], None
    where = [_visible(user)]
    if scope == "mine":
        where.append(Complaint.mediator_id == user.id)
    if state == "closed":
        keys, next_cursor = _closed_keys(where, cursor, size)
        return [Row(c, CLOSED, None) for c in _load(keys)], next_cursor
    try:
        wanted = [State(state)] if state else list(ACTIVE_STATES)
    except ValueError:
        wanted = list(ACTIVE_STATES)
    keys, next_cursor = _urgent_keys(where, wanted, cursor, size)
    return _rows(_load(keys), now), next_cursor


def raised_page(
    user: User, *, cursor: str | None = None, size: int = PAGE_SIZE, now: datetime | None = None
) -> tuple[list[Row], str | None]:
    """Overdue acceptance decisions of child offices, raised to one of the user's bodies."""
    now = now or utcnow()
    bodies = user.body_ids
    if not bodies:
        return [], None
    where = [Complaint.raised_to_body_id.in_(bodies)]
    keys, next_cursor = _urgent_keys(where, [State.PENDING_ACCEPTANCE], cursor, size)
    return _rows(_load(keys), now), next_cursor


def _load(ids: list[int]) -> list[Complaint]:
    if not ids:
        return []
    loaded = {
        c.id: c
        for c in db.session.scalars(
            db.select(Complaint).where(Complaint.id.in_(ids)).options(*ROW_LOADS)
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def _urgent_keys(where: list, states, cursor: str | None, size: int):
    """Ids of one page in urgency order, and the next cursor. Segment "a": the cases with a
    running clock by (deadline_at, id), which is also overdue, due soon, running; segment
    "b": those without one (suspended) by id. Each state is read by its own ordered, limited
    query walking ix_complaint_body_state (body_id, state, deadline_at, id), merged: the cost
    of a page does not grow with the number of cases."""
    position = decode_cursor(cursor)
    segment, after = ("a", None) if position is None else (position[0], position[1:])
    keys: list[tuple[str, datetime | None, int]] = []
    if segment == "a":
        keys += [("a", d, i) for i, d in _segment(where, states, "a", after, size + 1)]
        after = None
    if len(keys) <= size:
        more = _segment(where, states, "b", after, size + 1 - len(keys))
        keys += [("b", None, i) for i, _d in more]
    next_cursor = None
    if len(keys) > size:
        keys = keys[:size]
        next_cursor = encode_cursor(*keys[-1])
    return [k[2] for k in keys], next_cursor


def _segment(where: list, states, segment: str, after, limit: int) -> list[tuple[int, datetime]]:
    c = Complaint
    arms = []
    for state in states:
        conditions = [*where, c.state == state]
        if segment == "a":
            conditions.append(c.deadline_at.is_not(None))
            if after is not None:
                conditions.append(
                    sa.tuple_(c.deadline_at, c.id)
                    > sa.tuple_(sa.literal(after[0], UTCDateTime()), sa.literal(after[1]))
                )
            order = (c.deadline_at, c.id)
        else:
            conditions.append(c.deadline_at.is_(None))
            if after is not None:
                conditions.append(c.id > after[1])
            order = (c.deadline_at, c.id)  # deadline_at is NULL: lets the index give the order
        arms.append(
            sa.select(c.id.label("id"), c.deadline_at.label("deadline_at"))
            .where(*conditions)
            .order_by(*order)
            .limit(limit)
        )
    if len(arms) == 1:
        query = arms[0]
    else:
        # Each arm wrapped so that its ORDER BY and LIMIT stay its own (SQLite requires it).
        merged = sa.union_all(*[sa.select(arm.subquery().c) for arm in arms]).subquery()
        query = sa.select(merged.c.id, merged.c.deadline_at).order_by(
            merged.c.deadline_at, merged.c.id
        )
        query = query.limit(limit)
    return [(row.id, row.deadline_at) for row in db.session.execute(query)]


def _closed_keys(where: list, cursor: str | None, size: int):
    """Ids of one page of closed cases, the most recently closed first, and the next cursor
    (the position is (closed_at, id), carried in a cursor's "a" segment)."""
    c = Complaint
    query = sa.select(c.id, c.closed_at).where(*where, c.state.in_(CLOSED_AT_BODY))
    position = decode_cursor(cursor)
    if position is not None and position[0] == "a":
        query = query.where(
            sa.tuple_(c.closed_at, c.id)
            < sa.tuple_(sa.literal(position[1], UTCDateTime()), sa.literal(position[2]))
        )
    query = query.order_by(c.closed_at.desc(), c.id.desc()).limit(size + 1)
    found = db.session.execute(query).all()
    next_cursor = None
    if len(found) > size:
        found = found[:size]
        last = found[-1]
        if last.closed_at is not None:
            next_cursor = encode_cursor("a", last.closed_at, last.id)
    return [row.id for row in found], next_cursor


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
