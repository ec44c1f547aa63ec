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
"""

import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from odr.disputes import deadlines
from odr.disputes.models import (
    Complaint,
    Enterprise,
    EnterpriseStatus,
)
from odr.disputes.states import AGREED_STATES, CLOSED_STATES, State, TerminationReason
from odr.extensions import db
from odr.types import utcnow

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
        seconds = sa.extract("epoch", column)
        return sa.cast(sa.func.floor((seconds + SHANGHAI_OFFSET) / 86400), sa.Integer)
    seconds = sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return sa.cast((seconds + SHANGHAI_OFFSET) / 86400, sa.Integer)


EPOCH = date(1970, 1, 1)


def to_day_number(day: date) -> int:
    return (day - EPOCH).days


def from_day_number(n: int) -> date:
    return EPOCH + timedelta(days=n)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _config(key: str, default):
    if has_app_context():
        return current_app.config.get(key, default)
    return default


def ontime_threshold() -> float:
    return float(_config("ODR_ONTIME_THRESHOLD", 0.8))


def ontime_min_cases() -> int:
    return int(_config("ODR_ONTIME_MIN_CASES", 5))


# -- a short-lived cache for the heavy pages ---------------------------------------------

_cache: dict = {}


def _cache_seconds() -> float:
    default = 0 if _config("TESTING", False) else 60
    return float(_config("ODR_STATS_CACHE_SECONDS", default))


def cached(key, compute):
    """Keep an aggregate for a minute: the dashboard is read far more often than it moves."""
    ttl = _cache_seconds()
    if ttl <= 0:
        return compute()
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    _cache[key] = (now + ttl, value)
    return value


def clear_cache() -> None:
    _cache.clear()


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
    first, last = db.session.execute(
        sa.select(sa.func.min(C.filed_at), sa.func.max(C.closed_at)).where(*where)
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


def enterprise_performance(
    *, approved_only: bool = False, enterprise_ids=None, now: datetime | None = None
) -> list[dict]:
    """Each enterprise's cases, settlement rate, on-time answer rate, average working days
    to an agreement and satisfaction, with a warning flag when an approved ODR enterprise
    answers on time less often than the threshold (over at least the minimum of cases)."""
    now = now or utcnow()
    answer_counted, answer_on_time = _answer_clock(now)
    where = [C.enterprise_id.is_not(None)]
    if enterprise_ids is not None:
        where.append(C.enterprise_id.in_(list(enterprise_ids)))
    rows = db.session.execute(
        sa.select(
            C.enterprise_id,
            sa.func.count(),
            _sum(C.state.in_(CLOSED_STATES)),
            _sum(C.state.in_(AGREED_STATES)),
            _sum(answer_counted),
            _sum(answer_on_time),
            sa.func.sum(C.rating),
            sa.func.count(C.rating),
        )
        .where(*where)
        .group_by(C.enterprise_id)
    ).all()
    by_id = {row[0]: row[1:] for row in rows}
    days = _working_days_sums(C.enterprise_id, [*where, C.state.in_(AGREED_STATES)])

    query = sa.select(Enterprise).order_by(Enterprise.name, Enterprise.id)
    if approved_only:
        query = query.where(Enterprise.status == EnterpriseStatus.APPROVED)
    if enterprise_ids is not None:
        query = query.where(Enterprise.id.in_(list(enterprise_ids)))
    threshold, minimum = ontime_threshold(), ontime_min_cases()
    result = []
    for enterprise in db.session.scalars(query):
        cases, closed, agreed, counted, on_time, rating_sum, ratings = by_id.get(
            enterprise.id, (0, 0, 0, 0, 0, None, 0)
        )
        n_days, total_days = days.get(enterprise.id, (0, 0))
        on_time_rate = _rate(int(on_time or 0), int(counted or 0))
        result.append(
            {
                "enterprise_id": enterprise.id,
                "name": enterprise.name,
                "credit_code": enterprise.credit_code,
                "status": str(enterprise.status),
                "region_code": enterprise.region_code,
                "cases": int(cases),
                "closed": int(closed or 0),
                "settled": int(agreed or 0),
                "settlement_rate": _rate(int(agreed or 0), int(closed or 0)),
                "on_time_counted": int(counted or 0),
                "on_time": int(on_time or 0),
                "on_time_rate": on_time_rate,
                "average_days": round(total_days / n_days, 2) if n_days else None,
                "ratings": int(ratings or 0),
                "satisfaction": round(int(rating_sum) / ratings, 2) if ratings else None,
                "warning": bool(
                    enterprise.status == EnterpriseStatus.APPROVED
                    and on_time_rate is not None
                    and int(counted or 0) >= minimum
                    and on_time_rate < threshold
                ),
            }
        )
    result.sort(key=lambda r: (-r["cases"], r["name"]))
    return result


SCOREBOARD_KEYS = (
    "enterprise_id",
    "name",
    "credit_code",
    "cases",
    "settled",
    "settlement_rate",
    "on_time_rate",
    "average_days",
)


def enterprise_scoreboard() -> list[dict]:
    """The public scoreboard: approved ODR enterprises with their cases, agreements,
    settlement rate, on-time answer rate and average working days to an agreement.
    Rates are fractions (0-1, four decimals) or None when there is nothing to measure yet.
    No personal data."""

    def compute():
        rows = enterprise_performance(approved_only=True)
        return [{key: row[key] for key in SCOREBOARD_KEYS} for row in rows]

    return cached(("scoreboard",), compute)


def ontime_warnings(now: datetime | None = None) -> list[dict]:
    """Approved ODR enterprises whose on-time answer rate is under the threshold."""
    return [r for r in enterprise_performance(approved_only=True, now=now) if r["warning"]]
