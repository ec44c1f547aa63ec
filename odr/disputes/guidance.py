"""Outcome guidance: how similar closed cases ended, for a new filing and for the mediator.

"Similar" is a group of closed cases: the same enterprise, issue and amount band, falling
back to coarser groups when a group has fewer than FLOOR cases (enterprise + issue, then
issue + band, then the issue alone); `basis` says which group answered. Below the floor
nothing is shown but the count: a handful of cases could point at a person. The figures
hold no personal data.

For each group: how many closed cases; the shares that were settled directly with the
enterprise, closed with a mediation agreement, or whose mediation was terminated (the rest
were withdrawn or refused); the median of the agreed amount over the amount claimed, among
the cases that ended in an agreement; and the median working days from filing to closing.

The groups are computed with the statistics snapshots (stats.BUILDERS["guidance"]): three
grouped scans of the closed cases at the finest grouping, whose counts and histograms add up
into the coarser ones, so a refresh reads each case once and a question is at most four
lookups in one dictionary (`for_filing`), whatever the number of cases. Parsing that
dictionary costs more than the question: callers that ask often pass it in, parsed once
for each moment of the snapshot (`stats.fresh`).
"""

from collections import Counter
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr.disputes import stats
from odr.disputes.choices import Issue
from odr.disputes.models import Complaint
from odr.disputes.states import AGREED_STATES, CLOSED_STATES, Invalid, State
from odr.extensions import db
from odr.types import utcnow

C = Complaint
FLOOR = 10
# Upper ends (CNY, exclusive) of the amount bands; the last band has no end.
BAND_LIMITS = (Decimal(100), Decimal(500), Decimal(2000), Decimal(10000))
LEVELS = ("enterprise_issue_band", "enterprise_issue", "issue_band", "issue")
# A refund share is kept in whole per cent, at most 10 times the claim.
MAX_PERCENT = 1000


def band_of(amount) -> int | None:
    """The band (0 to 4) of an amount in dispute, None without one."""
    if amount in (None, ""):
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value < 0:
        return None
    return sum(1 for limit in BAND_LIMITS if value >= limit)


def _band_column():
    return sa.case(
        *((C.amount < limit, index) for index, limit in enumerate(BAND_LIMITS)),
        else_=len(BAND_LIMITS),
    )


def _key(level: str, enterprise_id, issue, band) -> str:
    parts = {
        "enterprise_issue_band": (enterprise_id, issue, band),
        "enterprise_issue": (enterprise_id, issue),
        "issue_band": (issue, band),
        "issue": (issue,),
    }[level]
    return level + ":" + ":".join(str(p) for p in parts)


def _keys(enterprise_id, issue, band):
    """The groups a case (or a question) belongs to, finest first."""
    for level in LEVELS:
        if level.startswith("enterprise") and enterprise_id is None:
            continue
        if level.endswith("band") and band is None:
            continue
        yield level, _key(level, enterprise_id, issue, band)


# -- building (with the statistics snapshots) ------------------------------------------------


class _Group:
    __slots__ = ("days", "outcomes", "percents")

    def __init__(self):
        self.outcomes: Counter = Counter()
        self.days: Counter = Counter()
        self.percents: Counter = Counter()

    def add(self, other: "_Group") -> None:
        self.outcomes.update(other.outcomes)
        self.days.update(other.days)
        self.percents.update(other.percents)


def _median(histogram: Counter) -> float | None:
    """The median of values given as {value: how many} (the mean of the two middle values
    for an even count)."""
    n = sum(histogram.values())
    if not n:
        return None
    wanted, found, seen = {(n - 1) // 2, n // 2}, {}, 0
    for value in sorted(histogram):
        count = histogram[value]
        for position in wanted:
            if seen <= position < seen + count:
                found[position] = value
        seen += count
        if len(found) == len(wanted):
            break
    return sum(found.values()) / len(found)


def _figures(group: _Group) -> dict:
    n = sum(group.outcomes.values())
    share = group.outcomes
    percent = _median(group.percents)
    days = _median(group.days)
    return {
        "similar_cases": n,
        "settled_directly": round(share[State.SETTLED.value] / n, 4),
        "mediated": round(share[State.MEDIATED.value] / n, 4),
        "terminated": round(share[State.TERMINATED.value] / n, 4),
        "median_refund_share": round(percent / 100, 4) if percent is not None else None,
        "median_working_days": days,
    }


def _closed():
    return [C.state.in_(CLOSED_STATES), C.closed_at.is_not(None)]


def _working_days_rows(band) -> list:
    """(enterprise, issue, band, working days from filing to closing, cases) for the closed
    cases, by the statistics' working-day arithmetic (PostgreSQL) or calendar table."""
    where = _closed()
    days = stats._working_days_expr()
    if days is not None:
        inner = sa.select(C.enterprise_id, C.issue, band.label("band"), days.label("days")).where(
            *where
        )
    else:
        span = stats._day_range(where)
        if span is None:
            return []
        calendar = stats.workday_table(*span)
        filed, closed = calendar.alias("wf"), calendar.alias("wc")
        inner = (
            sa.select(
                C.enterprise_id, C.issue, band.label("band"), (closed.c.w - filed.c.w).label("days")
            )
            .select_from(C)
            .join(filed, filed.c.dn == stats.day_number(C.filed_at))
            .join(closed, closed.c.dn == stats.day_number(C.closed_at))
            .where(*where)
        )
    inner = inner.subquery()
    keys = (inner.c.enterprise_id, inner.c.issue, inner.c.band, inner.c.days)
    return db.session.execute(sa.select(*keys, sa.func.count()).group_by(*keys)).all()


def build(now=None) -> dict:
    """Every group with at least FLOOR closed cases, and each issue's count (JSON-ready):
    the snapshot `for_filing` reads."""
    now = now or utcnow()
    stats._tune()
    band = _band_column()
    finest: dict[tuple, _Group] = {}

    def group(enterprise_id, issue, band_value) -> _Group:
        key = (enterprise_id, str(Issue(issue)), int(band_value))
        if key not in finest:
            finest[key] = _Group()
        return finest[key]

    outcome_rows = db.session.execute(
        sa.select(C.enterprise_id, C.issue, band.label("band"), C.state, sa.func.count())
        .where(*_closed())
        .group_by(C.enterprise_id, C.issue, band, C.state)
    ).all()
    for enterprise_id, issue, band_value, state, n in outcome_rows:
        group(enterprise_id, issue, band_value).outcomes[str(State(state))] += n
    for enterprise_id, issue, band_value, days, n in _working_days_rows(band):
        group(enterprise_id, issue, band_value).days[int(days)] += n
    percent = sa.cast(sa.func.round(C.settled_amount * 100 / C.claimed_amount), sa.Integer)
    agreed = sa.select(
        C.enterprise_id, C.issue, band.label("band"), percent.label("percent")
    ).where(
        *_closed(),
        C.state.in_(AGREED_STATES),
        C.claimed_amount > 0,
        C.settled_amount.is_not(None),
    )
    agreed = agreed.subquery()
    keys = (agreed.c.enterprise_id, agreed.c.issue, agreed.c.band, agreed.c.percent)
    for enterprise_id, issue, band_value, pct, n in db.session.execute(
        sa.select(*keys, sa.func.count()).group_by(*keys)
    ):
        group(enterprise_id, issue, band_value).percents[min(int(pct), MAX_PERCENT)] += n

    groups: dict[str, _Group] = {}
    for (enterprise_id, issue, band_value), found in finest.items():
        for _level, key in _keys(enterprise_id, issue, band_value):
            groups.setdefault(key, _Group()).add(found)
    issue_counts = {
        issue.value: sum(groups[_key("issue", None, issue.value, None)].outcomes.values())
        if _key("issue", None, issue.value, None) in groups
        else 0
        for issue in Issue
    }
    return {
        "computed_at": now.isoformat(),
        "floor": FLOOR,
        "groups": {
            key: _figures(found)
            for key, found in groups.items()
            if sum(found.outcomes.values()) >= FLOOR
        },
        "issue_counts": issue_counts,
    }


# -- asking ----------------------------------------------------------------------------------

INVALID = _l("Please correct the marked fields.")
EMPTY = {
    "settled_directly": None,
    "mediated": None,
    "terminated": None,
    "median_refund_share": None,
    "median_working_days": None,
}


def for_filing(*, enterprise_id=None, issue, amount=None, figures: dict | None = None) -> dict:
    """How closed cases like this one ended: {similar_cases, settled_directly, mediated,
    terminated, median_refund_share, median_working_days, basis}. The finest group with at
    least FLOOR cases answers; when none has, every figure is None (basis None) and
    similar_cases is the issue's count. `figures`: the guidance snapshot's
    (`stats.snapshot("guidance")`, read here when not given)."""
    try:
        issue = str(Issue(issue))
    except ValueError:
        raise Invalid(INVALID, {"issue": str(_l("Not a valid choice."))}) from None
    try:
        enterprise_id = int(enterprise_id) if enterprise_id not in (None, "") else None
    except (TypeError, ValueError):
        raise Invalid(INVALID, {"enterprise_id": str(_l("Not a valid choice."))}) from None
    data = figures if figures is not None else stats.snapshot("guidance")
    groups = data.get("groups", {})
    for level, key in _keys(enterprise_id, issue, band_of(amount)):
        found = groups.get(key)
        if found is not None:
            return {**found, "basis": level}
    return {
        "similar_cases": int(data.get("issue_counts", {}).get(issue, 0)),
        **EMPTY,
        "basis": None,
    }
