"""What a mediator's queue shows: the cases of their bodies, the most urgent first, and the
overdue cases of child offices raised to them. Reads only; the moves are operations."""

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context
from wtforms import SelectChoice

from odr import display as rows_kit
from odr.auth.models import User, UserRole
from odr.database import plain_rows
from odr.disputes import deadlines, permissions, turns
from odr.disputes.models import BodyMembership, Complaint, Enterprise, MediationBody, Region
from odr.disputes.paging import after_cursor, decode_cursor, encode_cursor
from odr.disputes.permissions import is_body_head
from odr.disputes.states import Role, State
from odr.extensions import db
from odr.types import UTCDateTime, utcnow

ACTIVE_STATES = (State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED)
CLOSED_AT_BODY = (State.MEDIATED, State.REFUSED, State.TERMINATED, State.WITHDRAWN)
PAGE_SIZE = 50

OVERDUE, DUE_SOON, RUNNING, PAUSED, CLOSED = range(5)

_t = Complaint.__table__.c
_enterprise = Enterprise.__table__
_mediator = User.__table__.alias("mediator")
_body = MediationBody.__table__.alias("body")

# What a row shows, read as plain columns (no loaded Complaint, Enterprise, User or body):
# the case's own columns by their attribute names (a row stands in for the case where a
# form asks for body_id, raised_to_body_id or state), the respondent's, mediator's and
# body's names joined.
_ROWS = (
    sa.select(
        _t.id,
        _t.reference,
        _t.subject,
        _t.state,
        _t.deadline_at,
        _t.clock_days_left,
        _t.body_id,
        _t.mediator_id,
        _t.raised_to_body_id,
        _t.enterprise_id,
        _t.respondent_name,
        _enterprise.c.name.label("enterprise_name"),
        _mediator.c.name.label("mediator_name"),
        _body.c.name.label("body_name"),
        _body.c.name_en.label("body_name_en"),
        # Whose turn, computed with the rows (turns.py): no query per row.
        turns.step_column(Role.MEDIATOR, _t),
    )
    .select_from(
        Complaint.__table__.outerjoin(_enterprise, _enterprise.c.id == _t.enterprise_id)
        .outerjoin(_mediator, _mediator.c.id == _t.mediator_id)
        .outerjoin(_body, _body.c.id == _t.body_id)
    )
    .where(_t.id.in_(sa.bindparam("ids", expanding=True)))
)


@dataclass(slots=True)
class Row:
    """One case of a page: `complaint`, its columns (_ROWS); its urgency bucket and the
    working days left on its clock (running: counted from today; paused: as stored)."""

    complaint: sa.Row
    urgency: int
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.urgency == OVERDUE

    @property
    def due_soon(self) -> bool:
        return self.urgency == DUE_SOON


_m = BodyMembership.__table__.c
_MEMBERSHIPS = sa.select(_m.body_id, _m.is_head).where(
    _m.user_id == sa.bindparam("user"), _m.active.is_(True)
)


def bodies_of(user: User) -> tuple[frozenset[int], frozenset[int]]:
    """(the bodies the user is an active member of, those they head): User.body_ids and
    permissions.is_body_head, read as two columns rather than by loading the user's
    memberships (unless they are loaded already). Only a mediator heads a body."""
    if "memberships" in user.__dict__:
        bodies = frozenset(user.body_ids)
        return bodies, frozenset(b for b in bodies if is_body_head(user, b))
    rows = db.session.execute(_MEMBERSHIPS, {"user": user.id}).all()
    heads = (
        frozenset(body for body, head in rows if head)
        if user.role == UserRole.MEDIATOR
        else frozenset()
    )
    return frozenset(body for body, _head in rows), heads


def head_bodies(user: User) -> set[int]:
    return set(bodies_of(user)[1])


def _days_counter(now: datetime) -> rows_kit.DaysFrom:
    """Working days from the day of `now`: the request's counter when it is today's."""
    today = deadlines.local_date(now)
    if has_request_context():
        counter = rows_kit.days_counter()
        if counter.today == today:
            return counter
    return rows_kit.DaysFrom(today)


def urgency(complaint, now: datetime, days_from=None) -> tuple[int, int | None]:
    """(bucket, working days left): overdue, due within 2 working days, running, paused."""
    if complaint.state == State.SUSPENDED:
        return PAUSED, complaint.clock_days_left
    if not complaint.state.is_open or complaint.deadline_at is None:
        return CLOSED, None
    if days_from is None:
        left = deadlines.working_days_left(complaint.deadline_at, now)
    else:
        left = days_from(deadlines.local_date(complaint.deadline_at))
    if left < 0:
        return OVERDUE, left
    if deadlines.is_due_soon(left):
        return DUE_SOON, left
    return RUNNING, left


def _rows(complaints, now: datetime) -> list[Row]:
    days_from = _days_counter(now)
    rows = [Row(c, *urgency(c, now, days_from)) for c in complaints]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(
        key=lambda r: (
            r.urgency,
            r.complaint.deadline_at or far,
            r.complaint.id,
        )
    )
    return rows


Bodies = tuple[frozenset[int], frozenset[int]]  # what bodies_of returns


def _visible(user: User, bodies: Bodies, scope: str, my_turn: bool = False) -> tuple[tuple, dict]:
    """Which of the user's bodies' cases the user sees, as (shape, bound values). A body's
    head sees all its cases ("h"); another mediator ("o") the cases assigned to them and the
    ones nobody has taken yet. `scope="mine"`: only the cases assigned to the user."""
    all_bodies, heads = bodies
    bodies = sorted(all_bodies)
    kinds = tuple("h" if b in heads else "o" for b in bodies)
    visible, params = permissions.visibility(user, all_bodies)
    params.update({f"body_{n}": b for n, b in enumerate(bodies)})
    params["me"] = user.id
    return (visible, kinds, scope == "mine", my_turn), params


def queue_page(
    user: User,
    *,
    state: str | None = None,
    scope: str = "all",
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    now: datetime | None = None,
    my_turn: bool = False,
    bodies: Bodies | None = None,
) -> tuple[list[Row], str | None]:
    """One page of the cases of the user's bodies, the most urgent first, and the cursor of
    the next page. `scope="mine"`: only the cases assigned to the user; `my_turn`: only
    the cases waiting for the mediator (turns.py). Closed cases: the most recently closed
    first. `bodies`: bodies_of(user) where the caller has read it already."""
    now = now or utcnow()
    bodies = bodies or bodies_of(user)
    if not bodies[0]:
        return [], None
    visible, params = _visible(user, bodies, scope, my_turn and state != "closed")
    if state == "closed":
        keys, next_cursor = _closed_keys(visible, params, cursor, size)
        return [Row(c, CLOSED, None) for c in _load(keys)], next_cursor
    try:
        wanted = (State(state),) if state else ACTIVE_STATES
    except ValueError:
        wanted = ACTIVE_STATES
    keys, next_cursor = _urgent_keys(("bodies", visible), params, wanted, cursor, size)
    return _rows(_load(keys), now), next_cursor


def raised_page(
    user: User,
    *,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    now: datetime | None = None,
    bodies: Bodies | None = None,
) -> tuple[list[Row], str | None]:
    """Overdue acceptance decisions of child offices, raised to one of the user's bodies
    (`bodies`: as for queue_page)."""
    now = now or utcnow()
    bodies = sorted((bodies or bodies_of(user))[0])
    if not bodies:
        return [], None
    visible, params = permissions.visibility(user, bodies)
    params.update({f"body_{n}": b for n, b in enumerate(bodies)})
    keys, next_cursor = _urgent_keys(
        ("raised", (visible, len(bodies))), params, (State.PENDING_ACCEPTANCE,), cursor, size
    )
    return _rows(_load(keys), now), next_cursor


def _load(ids: list[int]) -> list[sa.Row]:
    if not ids:
        return []
    loaded = {row.id: row for row in plain_rows(db.session.execute(_ROWS, {"ids": ids}))}
    return [loaded[i] for i in ids if i in loaded]


def _urgent_keys(which: tuple, params: dict, states, cursor: str | None, size: int):
    """Ids of one page in urgency order, and the next cursor. Segment "a": the cases with a
    running clock by (deadline_at, id), which is also overdue, due soon, running; segment
    "b": those without one (suspended) by id. Each body and state is read by its own
    ordered, limited query walking ix_complaint_body_state (body_id, state, deadline_at,
    id) (ix_complaint_raised for the raised cases), merged: the cost of a page does not grow
    with the number of cases."""
    position = decode_cursor(cursor)
    segment, after = ("a", None) if position is None else (position[0], position[1:])
    keys: list[tuple[str, datetime | None, int]] = []
    if segment == "a":
        keys += [("a", d, i) for i, d in _segment(which, params, states, "a", after, size + 1)]
        after = None
    if len(keys) <= size:
        more = _segment(which, params, states, "b", after, size + 1 - len(keys))
        keys += [("b", None, i) for i, _d in more]
    next_cursor = None
    if len(keys) > size:
        keys = keys[:size]
        next_cursor = encode_cursor(*keys[-1])
    return [k[2] for k in keys], next_cursor


def _arms_where(which: tuple) -> list[list]:
    """The conditions of each arm (one per body) of a page's statement, values bound:
    body_N, me and the visibility's (see _visible and raised_page). Each arm is one body's
    index range within what the mediator may see (permissions.visible_arms: the cases at
    their bodies, the cases raised to them), narrowed for a mediator who does not head
    the body to the cases assigned to them or to nobody."""
    c = _t
    if which[0] == "raised":
        visible, count = which[1]
        raised = permissions.visible_arms(visible)[-1]
        return [[c.raised_to_body_id == sa.bindparam(f"body_{n}"), raised] for n in range(count)]
    (visible, kinds, mine, my_turn) = which[1]
    at_bodies = permissions.visible_arms(visible)[0]
    arms = []
    for n, kind in enumerate(kinds):
        where = [c.body_id == sa.bindparam(f"body_{n}"), at_bodies]
        if kind == "o":
            where.append(sa.or_(c.mediator_id == sa.bindparam("me"), c.mediator_id.is_(None)))
        if mine:
            where.append(c.mediator_id == sa.bindparam("me"))
        if my_turn:
            where.append(turns.waiting_on(Role.MEDIATOR, c))
        arms.append(where)
    return arms


@functools.lru_cache(maxsize=256)
def _segment_statement(which: tuple, states: tuple, segment: str, paged: bool):
    """The statement of one segment, built once per shape (bodies, states, segment, paged),
    its values bound: building it and walking it for SQLAlchemy's cache key cost more than
    running it. One arm per body and state, each an index range in order (an equality on
    body_id: `IN (...)` or an `OR` made SQLite pick another index). Parameters: body_N, me,
    limit and after_deadline/after_id."""
    c = _t
    limit = sa.bindparam("limit", type_=sa.Integer())
    arms = []
    for where in _arms_where(which):
        for state in states:
            conditions = [*where, c.state == state]
            if segment == "a":
                conditions.append(c.deadline_at.is_not(None))
                if paged:
                    conditions.append(after_cursor(_t))
            else:
                conditions.append(c.deadline_at.is_(None))
                if paged:
                    conditions.append(c.id > sa.bindparam("after_id", type_=sa.Integer()))
            # deadline_at NULL in segment "b": naming it lets the index give the order.
            arms.append(
                sa.select(c.id.label("id"), c.deadline_at.label("deadline_at"))
                .where(*conditions)
                .order_by(c.deadline_at, c.id)
                .limit(limit)
            )
    if len(arms) == 1:
        return arms[0]
    # Each arm wrapped so that its ORDER BY and LIMIT stay its own (SQLite requires it).
    merged = sa.union_all(*[sa.select(arm.subquery().c) for arm in arms]).subquery()
    return (
        sa.select(merged.c.id, merged.c.deadline_at)
        .order_by(merged.c.deadline_at, merged.c.id)
        .limit(limit)
    )


def _segment(which, params, states, segment: str, after, limit: int):
    statement = _segment_statement(which, tuple(states), segment, after is not None)
    values = {**params, "limit": limit}
    if after is not None:
        values["after_id"] = after[1]
        if segment == "a":
            values["after_deadline"] = after[0]
    return db.session.execute(statement, values).all()


@functools.lru_cache(maxsize=64)
def _closed_statement(visible: tuple, paged: bool):
    """Closed cases of the visible bodies, the most recently closed first (parameters:
    body_N, me, limit, after_closed/after_id). Every closed case has its closing moment;
    saying so lets both databases walk ix_complaint_closed, which holds only those (and
    PostgreSQL, which puts NULLs first in a descending order, no longer reads past every
    open case's empty closed_at first)."""
    c = _t
    per_body = [sa.and_(*where) for where in _arms_where(("bodies", visible))]
    query = sa.select(c.id, c.closed_at).where(
        sa.or_(*per_body),
        c.state.in_([sa.literal(s, c.state.type) for s in CLOSED_AT_BODY]),
        c.closed_at.is_not(None),
    )
    if paged:
        query = query.where(
            sa.tuple_(c.closed_at, c.id)
            < sa.tuple_(
                sa.bindparam("after_closed", type_=UTCDateTime()),
                sa.bindparam("after_id", type_=sa.Integer()),
            )
        )
    return query.order_by(c.closed_at.desc(), c.id.desc()).limit(
        sa.bindparam("limit", type_=sa.Integer())
    )


def _closed_keys(visible: tuple, params: dict, cursor: str | None, size: int):
    """Ids of one page of closed cases, the most recently closed first, and the next cursor
    (the position is (closed_at, id), carried in a cursor's "a" segment)."""
    position = decode_cursor(cursor)
    paged = position is not None and position[0] == "a"
    values = {**params, "limit": size + 1}
    if paged:
        values["after_closed"], values["after_id"] = position[1], position[2]
    found = db.session.execute(_closed_statement(visible, paged), values).all()
    next_cursor = None
    if len(found) > size:
        found = found[:size]
        last = found[-1]
        if last.closed_at is not None:
            next_cursor = encode_cursor("a", last.closed_at, last.id)
    return [row.id for row in found], next_cursor


_u = User.__table__.c
# A body's active mediators by name, each with their open cases (awaiting acceptance,
# mediating, suspended) at the body: one index range of ix_complaint_body_mediator
# (body_id, state, mediator_id) per mediator and state, not a GROUP BY over all the
# body's open cases.
_WORKLOAD = (
    sa.select(
        _u.id,
        _u.name,
        sa.select(sa.func.count())
        .select_from(Complaint.__table__)
        .where(
            _t.body_id == sa.bindparam("body"),
            _t.state.in_([sa.literal(s, _t.state.type) for s in ACTIVE_STATES]),
            _t.mediator_id == _u.id,
        )
        .scalar_subquery()
        .label("open_cases"),
    )
    .select_from(User.__table__.join(BodyMembership.__table__, _m.user_id == _u.id))
    .where(
        _m.body_id == sa.bindparam("body"),
        _m.active.is_(True),
        _u.active.is_(True),
        _u.role == UserRole.MEDIATOR,
    )
    .order_by(_u.name, _u.id)
)


def workload(body_id: int) -> list[tuple[sa.Row, int]]:
    """(mediator, open cases) of each active mediator of the body, by name; a mediator is a
    row of (id, name)."""
    return [(row, row.open_cases) for row in db.session.execute(_WORKLOAD, {"body": body_id})]


def least_busy(load: list[tuple], *, exclude: int | None = None):
    """The mediator with the fewest open cases (ties: by name)."""
    candidates = [(m, n) for m, n in load if m.id != exclude]
    if not candidates:
        return None
    return min(candidates, key=lambda pair: (pair[1], pair[0].name, pair[0].id))[0]


def suggest_mediator(body_id: int, *, exclude: int | None = None):
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
