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
from odr.disputes.choices import Issue
from odr.disputes.models import (
    Complaint,
    Enterprise,
    EnterpriseStatus,
    Region,
    RegionLevel,
    RequestKind,
    ServiceRequest,
)
from odr.disputes.states import AGREED_STATES, CLOSED_STATES, OPEN_STATES, State, TerminationReason
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
    return (seconds + SHANGHAI_OFFSET) // 86400


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


# -- the dashboard -----------------------------------------------------------------------


def case_overview(now: datetime | None = None) -> dict:
    """Cases by state and by category, and the platform's rates and clocks, from one
    grouped scan plus one for the handling times."""
    now = now or utcnow()
    answer_counted, answer_on_time = _answer_clock(now)
    acc_counted, acc_on_time = _acceptance_clock()
    med_counted, med_on_time = _mediation_clock()
    green_done = sa.and_(C.answer_due_at.is_not(None), C.state != State.NEGOTIATING)
    rows = db.session.execute(
        sa.select(
            C.state,
            C.issue,
            sa.func.count(),
            _sum(answer_counted),
            _sum(answer_on_time),
            _sum(acc_counted),
            _sum(acc_on_time),
            _sum(med_counted),
            _sum(med_on_time),
            _sum(green_done),
        ).group_by(C.state, C.issue)
    ).all()
    by_state = dict.fromkeys(State, 0)
    by_issue = dict.fromkeys(Issue, 0)
    sums = [0] * 7
    for state, issue, n, *parts in rows:
        by_state[State(state)] += n
        by_issue[Issue(issue)] += n
        sums = [a + int(b or 0) for a, b in zip(sums, parts, strict=True)]
    a_counted, a_on_time, c_counted, c_on_time, m_counted, m_on_time, green_closed = sums
    total = sum(by_state.values())
    closed = sum(n for s, n in by_state.items() if s in CLOSED_STATES)
    agreed = sum(n for s, n in by_state.items() if s in AGREED_STATES)
    days = _working_days_sums(C.state, [])
    closed_n = sum(n for n, _ in days.values())
    closed_days = sum(d for _, d in days.values())
    agreed_n = sum(n for s, (n, _) in days.items() if State(s) in AGREED_STATES)
    agreed_days = sum(d for s, (_, d) in days.items() if State(s) in AGREED_STATES)
    return {
        "total": total,
        "open": sum(n for s, n in by_state.items() if s in OPEN_STATES),
        "closed": closed,
        "agreed": agreed,
        "by_state": by_state,
        "by_issue": by_issue,
        "settlement_rate": _rate(agreed, closed),
        "direct_settlement_rate": _rate(by_state[State.SETTLED], green_closed),
        "mediation_success_rate": _rate(by_state[State.MEDIATED], m_counted),
        "clocks": {
            "answer": (a_on_time, a_counted, _rate(a_on_time, a_counted)),
            "acceptance": (c_on_time, c_counted, _rate(c_on_time, c_counted)),
            "mediation": (m_on_time, m_counted, _rate(m_on_time, m_counted)),
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


def top_enterprises(counts: dict[int, int], limit: int = 20) -> list[dict]:
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
    return cached(
        ("regions",),
        lambda: {
            code: (parent, name, name_en, str(level))
            for code, parent, name, name_en, level in db.session.execute(
                sa.select(
                    Region.code, Region.parent_code, Region.name, Region.name_en, Region.level
                )
            )
        },
    )


def _enterprise_regions() -> dict[int, str]:
    return dict(db.session.execute(sa.select(Enterprise.id, Enterprise.region_code)).all())


def _leaf_counts(by_enterprise: dict[int, int], unlisted: dict[str | None, int]) -> dict:
    regions = _enterprise_regions()
    leaves: dict[str | None, int] = dict(unlisted)
    for eid, n in by_enterprise.items():
        code = regions.get(eid)
        leaves[code] = leaves.get(code, 0) + n
    return leaves


def _unlisted_by_region(where=()) -> dict[str | None, int]:
    return dict(
        db.session.execute(
            sa.select(C.respondent_region_code, sa.func.count())
            .where(C.enterprise_id.is_(None), *where)
            .group_by(C.respondent_region_code)
        ).all()
    )


def _ancestors(code: str | None, tree) -> list[str]:
    chain = []
    while code is not None and code in tree and len(chain) < 10:
        chain.append(code)
        code = tree[code][0]
    return chain


def region_breakdown(parent: str | None = None, by_enterprise: dict | None = None) -> dict:
    """Cases by the respondent's region, one level at a time: the provinces, or the
    children of `parent` (a province's cities, a city's counties). Listed enterprises count
    at their registered region, others at the region the consumer named."""
    tree = region_tree()
    if by_enterprise is None:
        by_enterprise = cases_by_enterprise()
    leaves = _leaf_counts(by_enterprise, _unlisted_by_region())
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
    """Filings per calendar week (Monday to Sunday, Asia/Shanghai), the last `weeks`."""
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
        result.append({"week": start, "cases": int(rows.get(key, 0))})
    return result


def is_spike(current: int, previous: list[int]) -> bool:
    """The early-warning rule: the last 7 days reach at least twice the mean of the 8
    seven-day periods before, and at least 10 more than that mean."""
    mean = sum(previous) / len(previous) if previous else 0
    return current >= SPIKE_FACTOR * mean and current >= mean + SPIKE_MIN_EXTRA


def early_warnings(now: datetime | None = None) -> list[dict]:
    """Categories, regions (at every level) and enterprises whose filings in the last 7
    days exceed their baseline (the 8 seven-day periods before) by the rule above."""
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

    def check(kind, key, label, series):
        current, previous = series[0], series[1:]
        if is_spike(current, previous):
            alerts.append(
                {
                    "kind": kind,
                    "key": key,
                    "label": label,
                    "current": current,
                    "baseline": round(sum(previous) / len(previous), 1),
                }
            )

    for issue, series in by_issue.items():
        check("category", str(issue), Issue(issue).label, series)
    for code, series in by_region.items():
        check("region", code, tree[code][1], series)
    for eid, series in by_enterprise.items():
        check("enterprise", eid, names.get(eid, "?"), series)
    order = {"category": 0, "region": 1, "enterprise": 2}
    alerts.sort(key=lambda a: (order[a["kind"]], -a["current"], str(a["key"])))
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
    result = {k: {"total": 0, "open": 0, "overdue": 0, "on_time_rate": None} for k in RequestKind}
    for kind, n, open_, over, ok, bad in rows:
        counted = int(ok or 0) + int(bad or 0) + int(over or 0)
        result[RequestKind(kind)] = {
            "total": n,
            "open": int(open_ or 0),
            "overdue": int(over or 0),
            "on_time_rate": _rate(int(ok or 0), counted),
        }
    return result


def dashboard(now: datetime | None = None) -> dict:
    """Everything the console's home page shows, cached for a minute."""

    def compute():
        moment = now or utcnow()
        by_enterprise = cases_by_enterprise()
        return {
            "overview": case_overview(moment),
            "top_enterprises": top_enterprises(by_enterprise),
            "regions": region_breakdown(None, by_enterprise),
            "weekly": weekly_filings(26, moment),
            "alerts": early_warnings(moment),
            "requests": request_overview(moment),
            "computed_at": moment,
        }

    return cached(("dashboard", now), compute)
