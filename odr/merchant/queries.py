"""The enterprise inbox: filters, deadline-first order and keyset paging.

Order: cases with a running clock first, by deadline (so the overdue and those due within
2 working days come first), then the cases without a clock (closed, or suspended) newest
first. The page is read with one small query per state, each walking the index
ix_complaint_enterprise_state (enterprise_id, state, deadline_at, id) in order and stopping
after one page, merged with UNION ALL: the cost of a page does not grow with the number of
cases the enterprise has.
"""

import functools
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from odr.auth.models import User
from odr.database import plain_rows
from odr.disputes import deadlines, permissions, turns
from odr.disputes.choices import Issue
from odr.disputes.models import Complaint, Enterprise
from odr.disputes.paging import after_cursor, decode_cursor, encode_cursor
from odr.disputes.states import CLOSED_STATES, OPEN_STATES, Role, State
from odr.extensions import db
from odr.types import UTCDateTime, utcnow

PAGE_SIZE = 50
STATE_GROUPS = {"open": OPEN_STATES, "closed": CLOSED_STATES}


@dataclass
class InboxFilter:
    enterprise_id: int
    states: list[State] = field(default_factory=lambda: list(State))
    issue: Issue | None = None
    filed_from: date | None = None
    filed_to: date | None = None
    q: str = ""
    due_soon: bool = False
    assignee: str = ""  # "" any, "me", "none"
    me_id: int | None = None
    my_turn: bool = False  # only the cases waiting for the enterprise (turns.py)
    # What the user typed, to refill the form and carry into links.
    args: dict = field(default_factory=dict)
    # The kind of visibility (permissions.visibility) the cases are filtered by: the
    # enterprise's staff see its cases, and the statements take the enterprise as its value.
    visible: str = permissions.ENTERPRISE

    @classmethod
    def for_user(cls, user: User, args) -> "InboxFilter":
        """The filter of `args` over the cases the user may see (permissions)."""
        visible, values = permissions.visibility(user)
        f = cls.from_args(values.get("visible_enterprise"), args, user.id)
        f.visible = visible if visible == permissions.ENTERPRISE else permissions.NOBODY
        return f

    @classmethod
    def from_args(cls, enterprise_id: int, args, me_id: int | None = None) -> "InboxFilter":
        """Read the filter from query arguments; anything unreadable is ignored."""
        f = cls(enterprise_id=enterprise_id, me_id=me_id)
        kept: dict = {}
        state = (args.get("state") or "").strip()
        if state in STATE_GROUPS:
            f.states = sorted(STATE_GROUPS[state])
            kept["state"] = state
        elif state in State.__members__.values():
            f.states = [State(state)]
            kept["state"] = state
        issue = (args.get("issue") or "").strip()
        if issue in Issue.__members__.values():
            f.issue = Issue(issue)
            kept["issue"] = issue
        for name in ("filed_from", "filed_to"):
            value = (args.get(name) or "").strip()
            try:
                setattr(f, name, date.fromisoformat(value) if value else None)
            except ValueError:
                continue
            if value:
                kept[name] = value
        f.q = (args.get("q") or "").strip()[:100]
        if f.q:
            kept["q"] = f.q
        if args.get("due") in ("1", "on", "true"):
            f.due_soon = True
            kept["due"] = "1"
        if args.get("turn") in ("1", "on", "true"):
            f.my_turn = True
            kept["turn"] = "1"
        assignee = args.get("assignee") or ""
        if assignee in ("me", "none"):
            f.assignee = assignee
            kept["assignee"] = assignee
        f.args = kept
        return f


def soon_threshold(now: datetime) -> datetime:
    """A deadline before it is 'due soon' (deadlines.due_soon_threshold)."""
    return deadlines.due_soon_threshold(now)


# -- the page --------------------------------------------------------------------------------

# What a row of the inbox (and of its CSV export) shows: plain values, no loaded objects.
# The table's columns, not the mapped attributes: a Core statement skips the ORM's result
# handling. The inbox template reads the columns by name.
_t = Complaint.__table__.c
ROW_COLUMNS = (
    _t.id,
    _t.reference,
    _t.state,
    _t.filed_at,
    _t.deadline_at,
    _t.complainant_name,
    _t.complainant_phone,
    _t.issue,
    _t.subject,
    _t.claimed_amount,
    _t.assignee_id,
    _t.amount,
    _t.performance_due,
    # Whose turn, computed with the rows (turns.py): no query per row.
    turns.step_column(Role.ENTERPRISE, _t),
)


def _like_pattern(text: str) -> str:
    """`text` for `LIKE ... ESCAPE '/'`, as SQLAlchemy's autoescape writes it."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _shape(f: InboxFilter) -> tuple:
    """What decides the form of the filter's statements (the values are bound)."""
    return (
        f.visible,
        tuple(f.states),
        f.issue is not None,
        f.filed_from is not None,
        f.filed_to is not None,
        bool(f.q),
        f.due_soon,
        f.assignee,
        f.my_turn,
    )


def _params(f: InboxFilter, now: datetime) -> dict:
    """The bound values of the filter's statements."""
    params: dict = {"visible_enterprise": f.enterprise_id}
    if f.issue is not None:
        params["issue"] = f.issue
    if f.filed_from is not None:
        params["filed_from"] = deadlines.start_of_day(f.filed_from)
    if f.filed_to is not None:
        params["filed_to"] = deadlines.end_of_day(f.filed_to)
    if f.q:
        params["reference_like"] = _like_pattern(f.q.upper())
        params["name_like"] = _like_pattern(f.q)
    if f.due_soon:
        params["soon"] = soon_threshold(now)
    if f.assignee == "me":
        params["me"] = f.me_id
    return params


def _conditions(shape: tuple) -> list:
    """The filter's conditions, their values bound by name (see _params)."""
    _visible, _states, issue, filed_from, filed_to, q, due_soon, assignee, my_turn = shape
    c = _t
    where = []
    if issue:
        where.append(c.issue == sa.bindparam("issue"))
    if filed_from:
        where.append(c.filed_at >= sa.bindparam("filed_from"))
    if filed_to:
        where.append(c.filed_at <= sa.bindparam("filed_to"))
    if q:
        where.append(
            sa.or_(
                # Part of a reference will do ("0000017" finds ODR-2026-0000017): the name's
                # match reads the enterprise's rows anyway, so this costs nothing more.
                c.reference.contains(sa.bindparam("reference_like"), escape="/"),
                c.complainant_name.icontains(sa.bindparam("name_like"), escape="/"),
            )
        )
    if due_soon:
        where.append(c.deadline_at <= sa.bindparam("soon"))
    if assignee == "me":
        where.append(c.assignee_id == sa.bindparam("me"))
    elif assignee == "none":
        where.append(c.assignee_id.is_(None))
    if my_turn:
        where.append(turns.waiting_on(Role.ENTERPRISE, c))
    return where


@functools.lru_cache(maxsize=512)
def _segment_statement(segment: str, shape: tuple, paged: bool):
    """The statement of one segment for one shape of filter, built once. Building the
    nine-arm UNION and walking it for SQLAlchemy's cache key on every request cost a good
    part of the page; with the values bound, a request only executes it.
    Parameters: visible_enterprise, limit, the filter's values, and after_deadline/after_id.
    The enterprise's cases are the ones its staff may see (permissions.visible_arms: one
    arm, enterprise_id, the first column of the index)."""
    c = _t
    limit = sa.bindparam("limit")
    arms = []
    extra = _conditions(shape)
    visible = permissions.visible_arms(shape[0])
    for state in shape[1]:
        where = [*visible, c.state == state, *extra]
        if segment == "a":
            where.append(c.deadline_at.is_not(None))
            if paged:
                where.append(after_cursor(_t))
            order = (c.deadline_at.asc(), c.id.asc())
        else:
            where.append(c.deadline_at.is_(None))
            if paged:
                where.append(c.id < sa.bindparam("after_id"))
            # deadline_at is NULL throughout; naming it lets PostgreSQL walk the index
            # backwards instead of sorting (it does not treat IS NULL as an equality).
            order = (c.deadline_at.desc(), c.id.desc())
        arms.append(
            sa.select(c.id.label("id"), c.deadline_at.label("deadline_at"))
            .where(*where)
            .order_by(*order)
            .limit(limit)
        )
    if len(arms) == 1:
        return arms[0]
    # Each arm is wrapped so that its ORDER BY and LIMIT stay its own (SQLite requires it).
    wrapped = [sa.select(arm.subquery().c) for arm in arms]
    merged = sa.union_all(*wrapped).subquery()
    if segment == "a":
        order = (merged.c.deadline_at.asc(), merged.c.id.asc())
    else:
        order = (merged.c.deadline_at.desc(), merged.c.id.desc())
    return sa.select(merged.c.id, merged.c.deadline_at).order_by(*order).limit(limit)


def _segment(
    f: InboxFilter, segment: str, after: tuple | None, limit: int, now: datetime
) -> list[tuple[int, datetime | None]]:
    """(id, deadline_at) of up to `limit` cases of one segment, in order, after `after`."""
    if not f.states:
        return []
    params = _params(f, now)
    params["limit"] = limit
    if after is not None:
        params["after_deadline"], params["after_id"] = after
        if segment == "b":
            del params["after_deadline"]
    statement = _segment_statement(segment, _shape(f), after is not None)
    return db.session.execute(statement, params).all()


def page_keys(
    f: InboxFilter, cursor: str | None, size: int = PAGE_SIZE, now: datetime | None = None
) -> tuple[list[tuple[str, int, datetime | None]], str | None]:
    """Ids (with their segment) of one page of the inbox, and the cursor of the next."""
    now = now or utcnow()
    position = decode_cursor(cursor)
    segment, after = "a", None
    if position is not None:
        segment = position[0]
        after = (position[1], position[2])
    keys: list[tuple[str, int, datetime | None]] = []
    if segment == "a":
        keys += [("a", i, d) for i, d in _segment(f, "a", after, size + 1, now)]
        after = None
    if len(keys) <= size:
        keys += [("b", i, d) for i, d in _segment(f, "b", after, size + 1 - len(keys), now)]
    next_cursor = None
    if len(keys) > size:
        keys = keys[:size]
        last_segment, last_id, last_deadline = keys[-1]
        next_cursor = encode_cursor(last_segment, last_deadline, last_id)
    return keys, next_cursor


_ROWS = sa.select(*ROW_COLUMNS).where(_t.id.in_(sa.bindparam("ids", expanding=True)))


def page(
    f: InboxFilter, cursor: str | None, size: int = PAGE_SIZE, now: datetime | None = None
) -> tuple[list[sa.Row], str | None]:
    """One page of cases (rows of ROW_COLUMNS), read in one more query, and the cursor of
    the next page."""
    keys, next_cursor = page_keys(f, cursor, size, now)
    ids = [k[1] for k in keys]
    if not ids:
        return [], next_cursor
    loaded = {row.id: row for row in plain_rows(db.session.execute(_ROWS, {"ids": ids}))}
    return [loaded[i] for i in ids if i in loaded], next_cursor


def all_rows(f: InboxFilter, batch: int = 1000, now: datetime | None = None):
    """Every case of the filter, in inbox order, read a batch at a time (for the export)."""
    now = now or utcnow()
    cursor = None
    while True:
        complaints, cursor = page(f, cursor, batch, now)
        yield from complaints
        if cursor is None:
            return


# The inbox counts the running clocks up to this many and then says "more than": an
# enterprise with 49,000 open cases had each inbox count all of their index entries (18 ms
# on PostgreSQL, 6 ms on SQLite at 1,000,000 cases), for a badge. Overdue and due-soon
# cases, what the staff act on, are counted exactly.
RUNNING_COUNTED = 1000


def _header_statement():
    """The enterprise's name and status (for the page's title and navigation) with the
    three clock counts, in one statement. Each count is its own range of
    ix_complaint_enterprise_state: the overdue and the soon ones read only their deadlines'
    range, the running ones at most RUNNING_COUNTED + 1 index entries, without looking at
    the rows (faster than one pass with CASE sums)."""
    c = _t
    # A list of bound values, not an "expanding" IN, which SQLAlchemy rewrites every time.
    open_states = [
        sa.bindparam(f"open_{n}", state, type_=c.state.type)
        for n, state in enumerate(sorted(OPEN_STATES))
    ]
    enterprise = Enterprise.__table__.c

    def count(*where):
        return (
            sa.select(sa.func.count())
            .select_from(Complaint.__table__)
            .where(c.enterprise_id == enterprise.id, c.state.in_(open_states), *where)
            .scalar_subquery()
        )

    now = sa.bindparam("now", type_=UTCDateTime())
    soon = sa.bindparam("soon", type_=UTCDateTime())
    return sa.select(
        enterprise.name,
        enterprise.status,
        count(c.deadline_at < now).label("overdue"),
        count(c.deadline_at >= now, c.deadline_at <= soon).label("soon"),
        sa.select(sa.func.count())
        .select_from(
            sa.select(c.id)
            .where(
                c.enterprise_id == sa.bindparam("enterprise"),
                c.state.in_(open_states),
                c.deadline_at.is_not(None),
            )
            .limit(RUNNING_COUNTED + 1)
            .subquery()
        )
        .scalar_subquery()
        .label("running"),
    ).where(enterprise.id == sa.bindparam("enterprise"))


_HEADER = _header_statement()


def inbox_header(enterprise_id: int, now: datetime | None = None) -> sa.Row:
    """(name, status, overdue, soon, running) of the enterprise: its name and status, how
    many of its open cases are overdue, how many due within 2 working days, and how many
    have a running clock (RUNNING_COUNTED + 1 meaning "more than RUNNING_COUNTED")."""
    now = now or utcnow()
    params = {"enterprise": enterprise_id, "now": now, "soon": soon_threshold(now)}
    return db.session.execute(_HEADER, params).one()


def clock_counts(enterprise_id: int, now: datetime | None = None) -> dict[str, int]:
    """How many open cases are overdue, and how many are due within 2 working days."""
    header = inbox_header(enterprise_id, now)
    return {"overdue": header.overdue, "soon": header.soon, "running": header.running}


_u = User.__table__.c
_STAFF = (
    sa.select(_u.id, _u.name, _u.active)
    .where(_u.enterprise_id == sa.bindparam("enterprise"))
    .order_by(_u.id)
)


def staff_names(enterprise_id: int) -> list[sa.Row]:
    """(id, name, active) of the enterprise's staff, for the inbox's assignee choices."""
    return db.session.execute(_STAFF, {"enterprise": enterprise_id}).all()


def staff_of(enterprise_id: int) -> list[User]:
    return db.session.scalars(
        db.select(User).where(User.enterprise_id == enterprise_id).order_by(User.id)
    ).all()
