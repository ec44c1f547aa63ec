"""The early-warning rule flags a seeded spike and leaves steady filings alone; filings per
week and the regional drill-down count what was filed."""

from datetime import date, timedelta

import pytest

from odr.disputes import stats
from odr.extensions import db
from tests.factories import file_case, shanghai

NOW = shanghai(2026, 10, 20, 12)


def file_many(consumer, enterprise, n, *, weeks_ago, issue):
    for _ in range(n):
        file_case(
            consumer,
            enterprise,
            now=NOW - timedelta(weeks=weeks_ago, hours=2),
            purchase_date="2026-01-01",
            issue=issue,
            commit=False,
        )


def seed(w):
    """Steady: 6 quality cases a week against the Jinshui enterprise for nine weeks.
    Spike: 1 counterfeit case a week against the Laocheng enterprise for eight weeks, then
    12 in the last seven days."""
    for k in range(9):
        file_many(w.consumer, w.enterprise, 6, weeks_ago=k, issue="quality")
    for k in range(1, 9):
        file_many(w.other_consumer, w.other_enterprise, 1, weeks_ago=k, issue="counterfeit")
    file_many(w.other_consumer, w.other_enterprise, 12, weeks_ago=0, issue="counterfeit")
    db.session.commit()


@pytest.mark.parametrize(
    "current, previous, spike",
    [
        (12, [1] * 8, True),  # 12 >= 2 x 1 and 12 >= 1 + 10
        (6, [6] * 8, False),  # steady
        (5, [2] * 8, False),  # more than double, but only 3 more
        (30, [20] * 8, False),  # 10 more, but not double
        (40, [20] * 8, True),
        (10, [0] * 8, True),  # from nothing to 10
        (9, [0] * 8, False),
    ],
)
def test_the_rule(current, previous, spike):
    assert stats.is_spike(current, previous) is spike


def test_a_spike_is_flagged_and_steady_filings_are_not(world):
    seed(world)
    alerts = {(a["kind"], str(a["key"])): a for a in stats.early_warnings(now=NOW)}
    assert ("category", "counterfeit") in alerts
    assert alerts[("category", "counterfeit")]["current"] == 12
    assert alerts[("category", "counterfeit")]["baseline"] == 1.0
    assert ("enterprise", str(world.other_enterprise.id)) in alerts
    assert ("region", "410302") in alerts  # Laocheng
    assert ("region", "410300") in alerts  # Luoyang
    # Steady: not flagged.
    assert ("category", "quality") not in alerts
    assert ("enterprise", str(world.enterprise.id)) not in alerts
    assert ("region", "410105") not in alerts
    assert ("region", "410100") not in alerts


def test_steady_filings_alone_raise_no_alert(world):
    for k in range(9):
        file_many(world.consumer, world.enterprise, 6, weeks_ago=k, issue="quality")
    db.session.commit()
    assert stats.early_warnings(now=NOW) == []


def test_weekly_filings_and_regions(world):
    seed(world)
    weeks = stats.weekly_filings(10, now=NOW)
    assert len(weeks) == 10
    assert date.fromisoformat(weeks[-1]["week"]).weekday() == 0  # a Monday
    assert sum(w["cases"] for w in weeks) == 9 * 6 + 8 + 12
    top = stats.region_breakdown(None)
    assert [(r["code"], r["cases"]) for r in top["rows"]] == [("410000", 74)]
    henan = stats.region_breakdown("410000")
    assert {r["code"]: r["cases"] for r in henan["rows"]} == {"410100": 54, "410300": 20}
    assert [t["code"] for t in henan["trail"]] == ["410000"]
    luoyang = stats.region_breakdown("410300")
    assert {r["code"]: r["cases"] for r in luoyang["rows"]} == {"410302": 20}
    assert luoyang["rows"][0]["drillable"] is False
