"""Analytics: the enterprise scoreboard, the regulator's dashboard and the early warnings.

Everything here is an aggregate query (GROUP BY on indexed columns); Python only combines
the grouped rows, never one row per case, so the numbers stay fast with millions of cases.

Definitions (shown on the pages as well):
- settlement rate: cases closed with an agreement (direct settlement or mediation) out of
  all closed cases;
- on-time answer rate: green-channel cases the enterprise answered (first reply, offer or
  decline) or settled by the 10-working-day deadline, out of those whose deadline has
  passed or that were answered; a case withdrawn unanswered before its deadline is left out;
- average days: working days from filing to the agreement, over agreed cases;
- satisfaction: the average of the consumers' ratings (1-5).

With a million cases one grouped scan still costs a good fraction of a second, so the pages
do not scan: they read a snapshot (StatsSnapshot: the dashboard and the enterprise figures,
shared by every app server) that `flask odr refresh-stats` recomputes from cron or the
worker, and that a page reading a stale snapshot refreshes in the background (the reader
gets the previous figures at once). Tests and a database without a snapshot compute inline.
"""

import logging
import threading
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from odr.disputes import deadlines, similar
from odr.disputes.choices import Channel, Issue, PerformanceStatus
from odr.disputes.models import (
    Complaint,
    Enterprise,
    EnterpriseEvent,
    EnterpriseStatus,
    Region,
    RegionLevel,
    RequestKind,
    ServiceRequest,
    StatsSnapshot,
)
from odr.disputes.states import AGREED_STATES, CLOSED_STATES, OPEN_STATES, State, TerminationReason
from odr.extensions import db
from odr.types import utcnow

log = logging.getLogger(__name__)
C = Complaint
SHANGHAI_OFFSET = 8 * 3600

# Early warning: filings in the last 7 days against the 8 seven-day periods before them.
SPIKE_FACTOR = 2
SPIKE_MIN_EXTRA = 10
BASELINE_WEEKS = 8


# -- small helpers -----------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def day_number(column):
    """The Asia/Shanghai calendar day of a UTC timestamp column, as days since 1970-01-01."""
    if _dialect() == "postgresql":
        seconds = sa.func.date_part("epoch", column)  # double precision: cheaper than numeric
        return sa.cast(sa.func.floor((seconds + SHANGHAI_OFFSET) / 86400), sa.Integer)
    seconds = sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return (seconds + SHANGHAI_OFFSET) // 86400


EPOCH = date(1970, 1, 1)


def to_day_number(day: date) -> int:
    return (day - EPOCH).days


def from_day_number(n: int) -> date:
    return EPOCH + timedelta(days=n)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _config(key: str, default):
    """An app setting (odr/config.py reads the environment), else the default."""
    if has_app_context():
        return current_app.config.get(key, default)
    return default


def ontime_threshold() -> float:
    return float(_config("ODR_ONTIME_THRESHOLD", 0.8))


def ontime_min_cases() -> int:
    return int(_config("ODR_ONTIME_MIN_CASES", 5))


# -- the working-day calendar as a table -------------------------------------------------


def workday_table(first: date, last: date):
    """A CTE (dn, w): for each day number from `first` to `last`, how many working days
    have passed since the day before `first`. The working days between two days is then
    w(b) - w(a), computed in SQL with two joins instead of one Python call per case."""
    rows, count = [], 0
    day = first
    while day <= last:
        if deadlines.is_workday(day):
            count += 1
        rows.append((to_day_number(day), count))
        day += timedelta(days=1)
    return (
        sa.values(sa.column("dn", sa.Integer), sa.column("w", sa.Integer), name="workday")
        .data(rows)
        .cte("workday")
    )


def _day_range(where) -> tuple[date, date] | None:
    # Each end by its own subquery, so each can stop at the first row of its index: as one
    # SELECT of both, SQLite read the whole table, or every closed case through the
    # partial ix_complaint_closed (8 times slower).
    first, last = db.session.execute(
        sa.select(
            sa.select(sa.func.min(C.filed_at)).where(*where).scalar_subquery(),
            sa.select(sa.func.max(C.closed_at)).where(*where).scalar_subquery(),
        )
    ).one()
    if first is None or last is None:
        return None
    return deadlines.local_date(first), max(deadlines.local_date(last), deadlines.local_date(first))


def _working_days_sums(group_by, where) -> dict:
    """{group key: (cases, total working days from filing to closing)} for closed cases."""
    where = [C.closed_at.is_not(None), *where]
    span = _day_range(where)
    if span is None:
        return {}
    cal = workday_table(*span)
    filed, closed = cal.alias("wf"), cal.alias("wc")
    rows = db.session.execute(
        sa.select(group_by, sa.func.count(), sa.func.sum(closed.c.w - filed.c.w))
        .select_from(C)
        .join(filed, filed.c.dn == day_number(C.filed_at))
        .join(closed, closed.c.dn == day_number(C.closed_at))
        .where(*where)
        .group_by(group_by)
    ).all()
    return {key: (n, int(total or 0)) for key, n, total in rows}


def _span() -> tuple[date, date] | None:
    """The first filing day and the last closing day (two index lookups)."""
    first, last = db.session.execute(
        sa.select(sa.func.min(C.filed_at), sa.func.max(C.closed_at))
    ).one()
    if first is None or last is None:
        return None
    return deadlines.local_date(first), max(deadlines.local_date(last), deadlines.local_date(first))


def _special_days(first: date, last: date) -> tuple[list[int], list[int]]:
    """Day numbers of the weekdays off (holidays) and of the weekend working days (make-up
    days) between `first` and `last`, from the calendar the deadlines use."""
    holidays, makeups = [], []
    day = first
    while day <= last:
        workday, weekend = deadlines.is_workday(day), day.weekday() >= 5
        if workday and weekend:
            makeups.append(to_day_number(day))
        elif not workday and not weekend:
            holidays.append(to_day_number(day))
        day += timedelta(days=1)
    return holidays, makeups


def _workday_ordinal_pg(column, holidays: list[int], makeups: list[int]):
    """PostgreSQL: the number of working days up to the (Shanghai) day of `column`, counted
    from a fixed origin, as arithmetic: weekdays, minus the holidays on or before the day,
    plus the make-up days on or before it (width_bucket: a binary search in a sorted array).
    The working days between two days is the difference of their ordinals."""
    dn = day_number(column)
    monday_based = dn + 3  # day 0 (1 January 1970) was a Thursday
    weekdays = 5 * (monday_based // 7) + sa.func.least(monday_based % 7 + 1, 5)

    def upto(days):
        # A sentinel first element keeps the array non-empty; it cancels in differences.
        array = sa.literal([-(10**7), *days], type_=postgresql.ARRAY(sa.Integer))
        return sa.func.width_bucket(dn, array)

    return weekdays - upto(holidays) + upto(makeups)


def _working_days_expr():
    """PostgreSQL: an expression for a case's working days from filing to closing, or None
    (SQLite, or nothing closed yet): then `_working_days_sums` joins a calendar table."""
    if _dialect() != "postgresql":
        return None
    span = _span()
    if span is None:
        return None
    holidays, makeups = _special_days(*span)
    return _workday_ordinal_pg(C.closed_at, holidays, makeups) - _workday_ordinal_pg(
        C.filed_at, holidays, makeups
    )


def _tune() -> None:
    """Big grouped scans: PostgreSQL's JIT compiler costs more than it saves here."""
    if _dialect() == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))


# -- the clocks: on time or not ----------------------------------------------------------


def _answer_clock(now: datetime):
    """(counted, on_time) expressions for the enterprise's 10-working-day answer clock."""
    due = C.answer_due_at
    on_time = sa.and_(
        due.is_not(None),
        sa.or_(
            sa.and_(C.first_answer_at.is_not(None), C.first_answer_at <= due),
            sa.and_(C.state == State.SETTLED, C.closed_at <= due),
        ),
    )
    withdrawn_unanswered = sa.and_(
        C.first_answer_at.is_(None), C.closed_at.is_not(None), C.closed_at <= due
    )
    counted = sa.and_(
        due.is_not(None),
        sa.or_(on_time, sa.and_(due < now, sa.not_(withdrawn_unanswered))),
    )
    return counted, on_time


def _acceptance_clock():
    """7 working days to accept or refuse; the sweep flags a late decision overdue."""
    decided = sa.or_(C.accepted_at.is_not(None), C.state == State.REFUSED)
    counted = sa.or_(decided, C.overdue_flagged.is_(True))
    on_time = sa.and_(decided, C.overdue_flagged.is_(False))
    return counted, on_time


def _mediation_clock():
    """45 working days of mediation; an expiry closes the case with reason T5."""
    counted = sa.and_(C.accepted_at.is_not(None), C.state.in_(CLOSED_STATES))
    on_time = sa.and_(
        counted,
        sa.or_(C.termination_reason.is_(None), C.termination_reason != TerminationReason.T5),
    )
    return counted, on_time


def _sum(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


# -- enterprises -------------------------------------------------------------------------


def enterprise_numbers(now: datetime | None = None, enterprise_ids=None) -> dict[int, dict]:
    """Each enterprise's cases, agreements, settlement rate, on-time answer rate, average
    working days to an agreement and satisfaction, from one grouped scan."""
    now = now or utcnow()
    _tune()
    answer_counted, answer_on_time = _answer_clock(now)
    where = [C.enterprise_id.is_not(None)]
    if enterprise_ids is not None:
        where.append(C.enterprise_id.in_(list(enterprise_ids)))
    agreed = C.state.in_(AGREED_STATES)
    columns = [
        C.enterprise_id,
        sa.func.count(),
        _sum(C.state.in_(CLOSED_STATES)),
        _sum(agreed),
        _sum(answer_counted),
        _sum(answer_on_time),
        sa.func.sum(C.rating),
        sa.func.count(C.rating),
        # Agreements reported breached (performance not carried out), reopened ones too.
        _sum(C.performance_status == PerformanceStatus.BREACHED),
    ]
    days_expr = _working_days_expr()
    if days_expr is not None:
        with_date = sa.and_(agreed, C.closed_at.is_not(None))
        columns += [_sum(with_date), sa.func.sum(sa.case((with_date, days_expr), else_=0))]
    rows = db.session.execute(sa.select(*columns).where(*where).group_by(C.enterprise_id)).all()
    if days_expr is None:
        days = _working_days_sums(C.enterprise_id, [*where, agreed])
    else:
        days = {row[0]: (int(row[9] or 0), int(row[10] or 0)) for row in rows}
    result = {}
    for eid, cases, closed, agreed_n, counted, on_time, rating_sum, ratings, breaches, *_ in rows:
        n_days, total_days = days.get(eid, (0, 0))
        closed, agreed_n = int(closed or 0), int(agreed_n or 0)
        counted, on_time, ratings = int(counted or 0), int(on_time or 0), int(ratings or 0)
        result[eid] = {
            "cases": int(cases),
            "closed": closed,
            "settled": agreed_n,
            "settlement_rate": _rate(agreed_n, closed),
            "on_time_counted": counted,
            "on_time": on_time,
            "on_time_rate": _rate(on_time, counted),
            "average_days": round(total_days / n_days, 2) if n_days else None,
            "ratings": ratings,
            "satisfaction": round(int(rating_sum) / ratings, 2) if ratings else None,
            "breaches": int(breaches or 0),
        }
    return result


EMPTY_NUMBERS = {
    "cases": 0,
    "closed": 0,
    "settled": 0,
    "settlement_rate": None,
    "on_time_counted": 0,
    "on_time": 0,
    "on_time_rate": None,
    "average_days": None,
    "ratings": 0,
    "satisfaction": None,
    "breaches": 0,
}


def _combine(enterprises, numbers: dict) -> list[dict]:
    """Enterprise particulars (as they are now) with their numbers and the warning flag."""
    threshold, minimum = ontime_threshold(), ontime_min_cases()
    result = []
    for eid, name, credit_code, status, region_code in enterprises:
        row = {
            "enterprise_id": eid,
            "name": name,
            "credit_code": credit_code,
            "status": str(status),
            "region_code": region_code,
            # A snapshot taken before a figure was added has no value for it yet.
            **EMPTY_NUMBERS,
            **numbers.get(eid, numbers.get(str(eid), EMPTY_NUMBERS)),
        }
        row["warning"] = bool(
            row["status"] == EnterpriseStatus.APPROVED
            and row["on_time_rate"] is not None
            and row["on_time_counted"] >= minimum
            and row["on_time_rate"] < threshold
        )
        result.append(row)
    result.sort(key=lambda r: (-r["cases"], r["name"], r["enterprise_id"]))
    return result


# The public scoreboard's enterprises: the approved ones, and those that left the programme
# (marked): their record stays public. A suspended one is off the board until reinstated.
PUBLIC_STATUSES = (EnterpriseStatus.APPROVED, EnterpriseStatus.EXITED)


def _enterprises(approved_only: bool = False, enterprise_ids=None, *, public: bool = False):
    query = sa.select(
        Enterprise.id,
        Enterprise.name,
        Enterprise.credit_code,
        Enterprise.status,
        Enterprise.region_code,
    )
    if approved_only:
        query = query.where(Enterprise.status == EnterpriseStatus.APPROVED)
    if public:
        query = query.where(Enterprise.status.in_(PUBLIC_STATUSES))
    if enterprise_ids is not None:
        query = query.where(Enterprise.id.in_(list(enterprise_ids)))
    return db.session.execute(query).all()


def enterprise_performance(
    *, approved_only: bool = False, enterprise_ids=None, now: datetime | None = None
) -> list[dict]:
    """Computed now: each enterprise with its numbers and a warning flag when an approved ODR
    enterprise answers on time less often than the threshold (over at least the minimum of
    measured cases)."""
    numbers = enterprise_numbers(now, enterprise_ids)
    return _combine(_enterprises(approved_only, enterprise_ids), numbers)


def performance_table(
    *, approved_only: bool = False, public: bool = False, numbers: dict | None = None
) -> list[dict]:
    """The enterprises as they are now, with their `numbers` (the performance snapshot's,
    read here when not given). `public`: the scoreboard's enterprises (PUBLIC_STATUSES).
    Computed on every call: with two thousand enterprises, combining them costs more than
    the rest of a page, so a page that shows it often keeps it for as long as its version
    (`versions()`: the performance snapshot's moment and the enterprises) stays the same."""
    if numbers is None:
        numbers = snapshot("performance")["numbers"]
    return _combine(_enterprises(approved_only, public=public), numbers)


class Versions(NamedTuple):
    """What the figures and the pages made from them depend on, read in one statement a
    request (a page may keep what it shows for as long as they stay the same): the
    two snapshots' moments, the enterprises' version (the highest enterprise id and event
    id: an enterprise is added, or changes status, name or region only with an event) and
    the number of regions (regions are only ever added, by the seed)."""

    dashboard: datetime | None
    performance: datetime | None
    enterprises: tuple
    regions: int


def _moment_of(key: str):
    return sa.select(StatsSnapshot.computed_at).where(StatsSnapshot.key == key).scalar_subquery()


_VERSION_COLUMNS = (
    _moment_of("dashboard"),
    _moment_of("performance"),
    sa.select(sa.func.max(Enterprise.id)).scalar_subquery(),
    sa.select(sa.func.max(EnterpriseEvent.id)).scalar_subquery(),
    sa.select(sa.func.count()).select_from(Region).scalar_subquery(),
)
_VERSIONS = sa.select(*_VERSION_COLUMNS)


def versions() -> Versions:
    # Core on the session's connection: no ORM statement handling for one plain row.
    return _versions(*db.session.connection().execute(_VERSIONS).one())


def _versions(dashboard_at, performance_at, enterprise_id, event_id, regions) -> Versions:
    return Versions(dashboard_at, performance_at, (enterprise_id, event_id), int(regions or 0))


SCOREBOARD_KEYS = (
    "enterprise_id",
    "name",
    "credit_code",
    "status",
    "cases",
    "settled",
    "settlement_rate",
    "on_time_rate",
    "average_days",
    "breaches",
    "satisfaction",
    "ratings",
)


def enterprise_scoreboard(table: list[dict] | None = None) -> list[dict]:
    """The public scoreboard: approved ODR enterprises, and those that left the programme
    (`status` "exited"), with their cases, agreements, settlement rate, on-time answer
    rate, average working days to an agreement, breaches reported and satisfaction.
    Rates are fractions (0-1, four decimals) or None when there is nothing to measure yet.
    No personal data. `table`: `performance_table(public=True)`, computed here when not
    given."""
    if table is None:
        table = performance_table(public=True)
    return [{key: row[key] for key in SCOREBOARD_KEYS} for row in table]


def ontime_warnings(now: datetime | None = None, rows: list[dict] | None = None) -> list[dict]:
    """Approved ODR enterprises whose on-time answer rate is under the threshold: computed
    as of `now`, else from `rows` (`performance_table(approved_only=True)`, computed here
    from the snapshot when not given)."""
    if now is not None:
        rows = enterprise_performance(approved_only=True, now=now)
    elif rows is None:
        rows = performance_table(approved_only=True)
    return [r for r in rows if r["warning"]]


# -- the dashboard -----------------------------------------------------------------------


def case_overview(now: datetime | None = None) -> dict:
    """Cases by state and by category, and the platform's rates and clocks, from one
    grouped scan (plus, on SQLite, one for the handling times). JSON-ready."""
    now = now or utcnow()
    _tune()
    answer_counted, answer_on_time = _answer_clock(now)
    acc_counted, acc_on_time = _acceptance_clock()
    med_counted, med_on_time = _mediation_clock()
    green_done = sa.and_(C.answer_due_at.is_not(None), C.state != State.NEGOTIATING)
    columns = [
        C.state,
        C.issue,
        C.channel,
        sa.func.count(),
        _sum(answer_counted),
        _sum(answer_on_time),
        _sum(acc_counted),
        _sum(acc_on_time),
        _sum(med_counted),
        _sum(med_on_time),
        _sum(green_done),
    ]
    days_expr = _working_days_expr()
    if days_expr is not None:
        has_date = C.closed_at.is_not(None)
        columns += [_sum(has_date), sa.func.sum(sa.case((has_date, days_expr), else_=0))]
    rows = db.session.execute(sa.select(*columns).group_by(C.state, C.issue, C.channel)).all()
    by_state = {s.value: 0 for s in State}
    by_issue = {i.value: 0 for i in Issue}
    by_channel = {c.value: 0 for c in Channel}
    closed_by_channel = {c.value: [0, 0] for c in Channel}  # closed, agreed
    sums = [0] * 7
    days: dict[str, list[int]] = {}
    for state, issue, channel, n, *parts in rows:
        state, issue, channel = str(State(state)), str(Issue(issue)), str(Channel(channel))
        by_state[state] += n
        by_issue[issue] += n
        by_channel[channel] += n
        if State(state) in CLOSED_STATES:
            closed_by_channel[channel][0] += n
            closed_by_channel[channel][1] += n if State(state) in AGREED_STATES else 0
        sums = [a + int(b or 0) for a, b in zip(sums, parts[:7], strict=True)]
        if days_expr is not None:
            acc = days.setdefault(state, [0, 0])
            acc[0] += int(parts[7] or 0)
            acc[1] += int(parts[8] or 0)
    if days_expr is None:
        days = {str(State(k)): list(v) for k, v in _working_days_sums(C.state, []).items()}
    a_counted, a_on_time, c_counted, c_on_time, m_counted, m_on_time, green_closed = sums
    closed = sum(n for s, n in by_state.items() if State(s) in CLOSED_STATES)
    agreed = sum(n for s, n in by_state.items() if State(s) in AGREED_STATES)
    closed_n = sum(n for n, _ in days.values())
    closed_days = sum(d for _, d in days.values())
    agreed_n = sum(n for s, (n, _) in days.items() if State(s) in AGREED_STATES)
    agreed_days = sum(d for s, (_, d) in days.items() if State(s) in AGREED_STATES)
    return {
        "total": sum(by_state.values()),
        "open": sum(n for s, n in by_state.items() if State(s) in OPEN_STATES),
        "closed": closed,
        "agreed": agreed,
        "by_state": by_state,
        "by_issue": by_issue,
        # How cases came in: online, or taken by hotline seats and service stations.
        "by_channel": by_channel,
        "settlement_rate_by_channel": {
            c: _rate(agreed_n, closed_n) for c, (closed_n, agreed_n) in closed_by_channel.items()
        },
        "settlement_rate": _rate(agreed, closed),
        "direct_settlement_rate": _rate(by_state[State.SETTLED.value], green_closed),
        "mediation_success_rate": _rate(by_state[State.MEDIATED.value], m_counted),
        "clocks": {
            "answer": [a_on_time, a_counted, _rate(a_on_time, a_counted)],
            "acceptance": [c_on_time, c_counted, _rate(c_on_time, c_counted)],
            "mediation": [m_on_time, m_counted, _rate(m_on_time, m_counted)],
        },
        "average_days_closed": round(closed_days / closed_n, 2) if closed_n else None,
        "average_days_agreed": round(agreed_days / agreed_n, 2) if agreed_n else None,
    }


def cases_by_enterprise() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(C.enterprise_id, sa.func.count())
        .where(C.enterprise_id.is_not(None))
        .group_by(C.enterprise_id)
    ).all()
    return {eid: int(n) for eid, n in rows}


def top_enterprises(counts: dict, limit: int = 20) -> list[dict]:
    counts = {int(k): v for k, v in counts.items()}
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    names = dict(
        db.session.execute(
            sa.select(Enterprise.id, Enterprise.name).where(
                Enterprise.id.in_([eid for eid, _ in top])
            )
        ).all()
    )
    return [{"enterprise_id": eid, "name": names.get(eid, "?"), "cases": n} for eid, n in top]


# -- regions -----------------------------------------------------------------------------


def region_tree() -> dict[str, tuple[str | None, str, str | None, str]]:
    """code -> (parent code, name, English name, level), for every region."""
    return {
        code: (parent, name, name_en, str(level))
        for code, parent, name, name_en, level in db.session.execute(
            sa.select(Region.code, Region.parent_code, Region.name, Region.name_en, Region.level)
        )
    }


def _enterprise_regions() -> dict[int, str]:
    return dict(db.session.execute(sa.select(Enterprise.id, Enterprise.region_code)).all())


def _unlisted_by_region(where=()) -> dict[str, int]:
    """Cases against respondents that are not listed, by the region the consumer named
    ("" when none was named)."""
    return {
        code or "": int(n)
        for code, n in db.session.execute(
            sa.select(C.respondent_region_code, sa.func.count())
            .where(C.enterprise_id.is_(None), *where)
            .group_by(C.respondent_region_code)
        ).all()
    }


def _ancestors(code: str | None, tree) -> list[str]:
    chain = []
    while code and code in tree and len(chain) < 10:
        chain.append(code)
        code = tree[code][0]
    return chain


def region_breakdown(
    parent: str | None = None,
    by_enterprise: dict | None = None,
    unlisted: dict | None = None,
    tree: dict | None = None,
) -> dict:
    """Cases by the respondent's region, one level at a time: the provinces, or the
    children of `parent` (a province's cities, a city's counties). Listed enterprises count
    at their registered region, others at the region the consumer named."""
    if tree is None:
        tree = region_tree()
    if by_enterprise is None:
        by_enterprise = cases_by_enterprise()
    if unlisted is None:
        unlisted = _unlisted_by_region()
    regions = _enterprise_regions()
    leaves: dict[str, int] = {}
    for code, n in unlisted.items():
        leaves[code or ""] = leaves.get(code or "", 0) + n
    for eid, n in by_enterprise.items():
        code = regions.get(int(eid)) or ""
        leaves[code] = leaves.get(code, 0) + n
    counts: dict[str, int] = {}
    unknown = direct = 0
    for code, n in leaves.items():
        chain = _ancestors(code, tree)
        if parent is None:
            if chain:
                counts[chain[-1]] = counts.get(chain[-1], 0) + n
            else:
                unknown += n
        elif parent in chain:
            i = chain.index(parent)
            if i == 0:
                direct += n
            else:
                counts[chain[i - 1]] = counts.get(chain[i - 1], 0) + n
    has_children = {p for p, *_ in tree.values() if p is not None}
    rows = [
        {
            "code": code,
            "name": tree[code][1],
            "name_en": tree[code][2],
            "level": tree[code][3],
            "cases": n,
            "drillable": code in has_children and tree[code][3] != str(RegionLevel.COUNTY),
        }
        for code, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r["cases"], r["code"]))
    trail = list(reversed(_ancestors(parent, tree))) if parent else []
    return {
        "parent": parent,
        "trail": [{"code": c, "name": tree[c][1], "name_en": tree[c][2]} for c in trail],
        "rows": rows,
        "unknown": unknown,
        "direct": direct,
        "total": sum(counts.values()) + unknown + direct,
    }


# -- filings over time and the early warning ---------------------------------------------


def weekly_filings(weeks: int = 26, now: datetime | None = None) -> list[dict]:
    """Filings per calendar week (Monday to Sunday, Asia/Shanghai), the last `weeks`.
    JSON-ready: each week by the ISO date of its Monday."""
    now = now or utcnow()
    today = deadlines.local_date(now)
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    week = (day_number(C.filed_at) + 3) // 7
    rows = dict(
        db.session.execute(
            sa.select(week, sa.func.count())
            .where(C.filed_at >= deadlines.start_of_day(first))
            .group_by(week)
        ).all()
    )
    result = []
    for i in range(weeks):
        start = first + timedelta(weeks=i)
        key = (to_day_number(start) + 3) // 7
        result.append({"week": start.isoformat(), "cases": int(rows.get(key, 0))})
    return result


def is_spike(current: int, previous: list[int]) -> bool:
    """The early-warning rule: the last 7 days reach at least twice the mean of the 8
    seven-day periods before, and at least 10 more than that mean."""
    mean = sum(previous) / len(previous) if previous else 0
    return current >= SPIKE_FACTOR * mean and current >= mean + SPIKE_MIN_EXTRA


def early_warnings(now: datetime | None = None) -> list[dict]:
    """Categories, regions (at every level) and enterprises whose filings in the last 7
    days exceed their baseline (the 8 seven-day periods before) by the rule above, and
    clusters of similar complaints against one enterprise (`similar.cluster_warnings`).
    JSON-ready: kind, key, name (regions and enterprises), current, baseline."""
    now = now or utcnow()
    today = deadlines.local_date(now)
    periods = BASELINE_WEEKS + 1
    first = today - timedelta(days=7 * periods - 1)
    window = (to_day_number(today) - day_number(C.filed_at)) // 7
    since = [C.filed_at >= deadlines.start_of_day(first), C.filed_at <= now]

    def grouped(key, *where):
        out: dict = {}
        for k, w, n in db.session.execute(
            sa.select(key, window, sa.func.count()).where(*since, *where).group_by(key, window)
        ):
            if 0 <= w < periods:
                out.setdefault(k, [0] * periods)[w] += n
        return out

    by_issue = grouped(C.issue)
    by_enterprise = grouped(C.enterprise_id, C.enterprise_id.is_not(None))
    unlisted = grouped(C.respondent_region_code, C.enterprise_id.is_(None))

    tree = region_tree()
    regions = _enterprise_regions()
    by_region: dict[str, list[int]] = {}

    def add(code, series):
        for ancestor in _ancestors(code, tree):
            acc = by_region.setdefault(ancestor, [0] * periods)
            for i, n in enumerate(series):
                acc[i] += n

    for eid, series in by_enterprise.items():
        add(regions.get(eid), series)
    for code, series in unlisted.items():
        add(code, series)

    names = dict(
        db.session.execute(
            sa.select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(list(by_enterprise)))
        ).all()
    )
    alerts = []

    def check(kind, key, name, series):
        current, previous = series[0], series[1:]
        if is_spike(current, previous):
            alerts.append(
                {
                    "kind": kind,
                    "key": str(key),
                    "name": name,
                    "current": current,
                    "baseline": round(sum(previous) / len(previous), 1),
                }
            )

    for issue, series in by_issue.items():
        check("category", str(Issue(issue)), None, series)
    for code, series in by_region.items():
        check("region", code, tree[code][1], series)
    for eid, series in by_enterprise.items():
        check("enterprise", eid, names.get(eid, "?"), series)
    # Beside the rise in numbers: similar complaints gathering against one enterprise.
    alerts.extend(similar.cluster_warnings(now))
    order = {"category": 0, "region": 1, "enterprise": 2, "cluster": 3}
    alerts.sort(key=lambda a: (order[a["kind"]], -a["current"], a["key"]))
    return alerts


# -- the other request types -------------------------------------------------------------


def request_overview(now: datetime | None = None) -> dict:
    """Consultations, reports and suggestions: how many, how many open, how many overdue,
    and how many were answered (or decided) by their deadline."""
    now = now or utcnow()
    R = ServiceRequest
    on_time = sa.and_(R.closed_at.is_not(None), R.closed_at <= R.deadline_at)
    overdue = sa.and_(R.closed_at.is_(None), R.deadline_at < now)
    late = sa.and_(R.closed_at.is_not(None), R.closed_at > R.deadline_at)
    rows = db.session.execute(
        sa.select(
            R.kind,
            sa.func.count(),
            _sum(R.closed_at.is_(None)),
            _sum(overdue),
            _sum(on_time),
            _sum(late),
        ).group_by(R.kind)
    ).all()
    result = {
        k.value: {"total": 0, "open": 0, "overdue": 0, "on_time_rate": None} for k in RequestKind
    }
    for kind, n, open_, over, ok, bad in rows:
        counted = int(ok or 0) + int(bad or 0) + int(over or 0)
        result[str(RequestKind(kind))] = {
            "total": int(n),
            "open": int(open_ or 0),
            "overdue": int(over or 0),
            "on_time_rate": _rate(int(ok or 0), counted),
        }
    return result


# -- the snapshots the pages read ----------------------------------------------------------


# The dashboard shows the first few early warnings of each kind; all of them are a page
# (and a CSV) of their own.
ALERTS_FIRST = 10


def build_dashboard(now: datetime | None = None) -> dict:
    """Everything the console's home page shows, JSON-ready, and every early warning
    ("alerts", stored in a row of its own: see SEPARATE)."""
    now = now or utcnow()
    by_enterprise = cases_by_enterprise()
    alerts = early_warnings(now)
    seen: dict[str, int] = {}
    first = []
    for alert in alerts:
        seen[alert["kind"]] = seen.get(alert["kind"], 0) + 1
        if seen[alert["kind"]] <= ALERTS_FIRST:
            first.append(alert)
    return {
        "computed_at": now.isoformat(),
        "overview": case_overview(now),
        "by_enterprise": {str(k): v for k, v in by_enterprise.items()},
        "unlisted": _unlisted_by_region(),
        "top_enterprises": top_enterprises(by_enterprise),
        "weekly": weekly_filings(26, now),
        "alerts_first": first,
        "alerts_total": len(alerts),
        "alerts": alerts,
        "requests": request_overview(now),
    }


def build_performance(now: datetime | None = None) -> dict:
    now = now or utcnow()
    numbers = enterprise_numbers(now)
    return {"computed_at": now.isoformat(), "numbers": {str(k): v for k, v in numbers.items()}}


def build_guidance(now: datetime | None = None) -> dict:
    """The outcome guidance's groups (odr/disputes/guidance.py), kept with the snapshots."""
    from odr.disputes import guidance  # it builds on this module's working-day helpers

    return guidance.build(now)


BUILDERS = {
    "dashboard": build_dashboard,
    "performance": build_performance,
    "guidance": build_guidance,
}
# Parts of a snapshot stored in rows of their own (keyed by the part's name), so that a
# page showing the rest does not parse them: at 1,000,000 cases the dashboard's 17,604
# early warnings were 2.7 of its 3.9 MB, parsed in 54 ms and kept as 11 MB by each worker
# (docs/PERFORMANCE.md, "Session 9"). `alerts()` reads them.
SEPARATE = {"dashboard": ("alerts",)}

_refreshing: set[str] = set()
_refreshing_lock = threading.Lock()


def snapshots_enabled() -> bool:
    value = _config("ODR_STATS_SNAPSHOTS", not _config("TESTING", False))
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def snapshot_ttl() -> float:
    return float(_config("ODR_STATS_TTL", 300))


def refresh(key: str) -> dict:
    """Recompute one snapshot and store it (its own transaction; the caller's session is
    only read from)."""
    moment = utcnow()
    data = BUILDERS[key](moment)
    parts = SEPARATE.get(key, ())
    rows = {key: {k: v for k, v in data.items() if k not in parts}}
    for part in parts:
        rows[part] = {"computed_at": data["computed_at"], part: data[part]}
    table = StatsSnapshot.__table__
    try:
        with db.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.key.in_(list(rows))))
            conn.execute(
                table.insert(),
                [{"key": k, "computed_at": moment, "data": v} for k, v in rows.items()],
            )
    except IntegrityError:  # another server stored the same snapshot at the same moment
        log.info("stats snapshot %s stored concurrently", key)
    return data


def _refresh_later(key: str) -> None:
    """Recompute a stale snapshot in a background thread, once per process at a time."""
    with _refreshing_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    app = current_app._get_current_object()

    def run():
        try:
            with app.app_context():
                refresh(key)
                db.session.remove()
        except Exception:
            log.exception("refreshing the %s statistics failed", key)
        finally:
            with _refreshing_lock:
                _refreshing.discard(key)

    threading.Thread(target=run, name=f"stats-{key}", daemon=True).start()


_READ = object()


def snapshot(key: str, computed_at=_READ) -> dict:
    """The figures as last computed, read and parsed on every call. A stale snapshot is
    served as it is and recomputed in the background; without one (or with snapshots off,
    as in tests) they are computed now. `computed_at`: the snapshot's moment if the caller
    has read it (`versions()`)."""
    moment = fresh(key, computed_at)
    if moment is None:
        return refresh(key) if snapshots_enabled() else BUILDERS[key](None)
    return stored(key)


def fresh(key: str, computed_at=_READ) -> datetime | None:
    """The moment of the stored figures of `key` (read here unless the caller has read it),
    after the freshness rule: a snapshot older than the TTL is recomputed in the background.
    None when the figures are to be computed now: snapshots off, or none stored yet. What
    is made from the figures alone stays the same for as long as this moment does."""
    if not snapshots_enabled():
        return None
    if computed_at is _READ:
        computed_at = _snapshot_moment(key)
    if computed_at is not None:
        _check_stale(key, computed_at)
    return computed_at


def stored(key: str) -> dict | None:
    """The stored figures of `key` as they are (no freshness rule: see `fresh`)."""
    return db.session.scalar(sa.select(StatsSnapshot.data).where(StatsSnapshot.key == key))


def check_stale(version: Versions) -> None:
    """The freshness rule of the dashboard's two snapshots, for a request that may not
    read them (a page made from them alone may be kept for as long as `version` stays)."""
    for key, moment in (("dashboard", version.dashboard), ("performance", version.performance)):
        if moment is not None:
            _check_stale(key, moment)


def _check_stale(key: str, computed_at: datetime) -> None:
    """A snapshot older than the TTL is recomputed in the background (by one server)."""
    if (utcnow() - computed_at).total_seconds() > snapshot_ttl() and _claim(key, computed_at):
        _refresh_later(key)


def _snapshot_moment(key: str) -> datetime | None:
    return db.session.scalar(sa.select(StatsSnapshot.computed_at).where(StatsSnapshot.key == key))


def _claim(key: str, computed_at: datetime) -> bool:
    """Mark a stale snapshot as being recomputed, so that one app server does it, not all:
    whoever moves its timestamp from the value read wins."""
    table = StatsSnapshot.__table__
    with db.engine.begin() as conn:
        claimed = conn.execute(
            table.update()
            .where(table.c.key == key, table.c.computed_at == computed_at)
            .values(computed_at=utcnow())
        ).rowcount
    return claimed == 1


def dashboard(version: Versions | None = None) -> dict:
    if version is None:
        return snapshot("dashboard")
    return snapshot("dashboard", version.dashboard)


def alerts() -> list[dict]:
    """Every early warning, as of the dashboard's snapshot (stored beside it: SEPARATE), or
    computed now with snapshots off."""
    if not snapshots_enabled():
        return early_warnings(utcnow())
    if fresh("dashboard") is not None:
        found = stored("alerts")
        if found is not None:
            return found["alerts"]
    return refresh("dashboard")["alerts"]


def clear_cache() -> None:
    """Forget the stored snapshots: the next reader computes the figures afresh."""
    with db.engine.begin() as conn:
        conn.execute(StatsSnapshot.__table__.delete())
