"""A seeded set of cases with known outcomes gives exactly the expected settlement rate,
on-time rate and average working days, in stats, on the dashboard and on the scoreboard."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from odr.disputes import deadlines, stats
from odr.disputes import operations as ops
from odr.extensions import db
from odr.types import utcnow
from tests.factories import day, shanghai
from tests.factories import file_case as file


def seed_known_outcomes(w) -> SimpleNamespace:
    """Seven cases against the approved enterprise, each with a known outcome:

    A filed Mon 2 Mar, offer 4 Mar, accepted 5 Mar: settled, 3 working days, on time.
    B filed 2 Mar, offer 10 Mar, accepted 12 Mar: settled, 8 working days, on time.
    C filed 2 Mar, never answered, escalated by the deadline 17 Mar, accepted 18 Mar,
      agreement signed 25 Mar: mediated, 17 working days, late.
    D filed 2 Mar, declined 3 Mar, refused 4 Mar: refused, answered on time.
    E filed 2 Mar, withdrawn unanswered 3 Mar: left out of the on-time rate.
    G filed Tue 29 Sep, accepted Thu 8 Oct across the National Day holiday: settled,
      2 working days (30 Sep and 8 Oct), on time.
    F filed an hour ago, unanswered, deadline not yet reached: open, not counted.

    Closed 6, agreed 4: settlement 4/6. On time 4 of 5 (A, B, D, G; C late).
    Average days (3 + 8 + 17 + 2) / 4 = 7.5. Ratings 5 and 4: satisfaction 4.5.
    """
    e, consumer, owner, mediator = w.enterprise, w.consumer, w.owner, w.mediator
    filed = shanghai(2026, 3, 2, 10)

    def file_case(consumer, enterprise, *, now):
        return file(consumer, enterprise, now=now, purchase_date="2026-02-01")

    def offer_and_accept(case, offered, accepted):
        offer = ops.make_offer(
            owner, case, remedy="refund", amount="100.00", terms="退款", now=offered
        )
        ops.accept_offer(consumer, case, offer.id, now=accepted)

    a = file_case(consumer, e, now=filed)
    offer_and_accept(a, shanghai(2026, 3, 4), shanghai(2026, 3, 5))
    ops.rate(consumer, a, rating=5, now=shanghai(2026, 3, 6))
    b = file_case(consumer, e, now=filed)
    offer_and_accept(b, shanghai(2026, 3, 10), shanghai(2026, 3, 12))
    ops.rate(consumer, b, rating=4, now=shanghai(2026, 3, 13))
    c = file_case(consumer, e, now=filed)
    ops.escalate_overdue(c, now=shanghai(2026, 3, 17, 0, 5))
    ops.accept_case(mediator, c, now=shanghai(2026, 3, 18))
    ops.propose_agreement(mediator, c, terms="换货", amount="50.00", now=shanghai(2026, 3, 20))
    ops.sign_agreement(consumer, c, now=shanghai(2026, 3, 24))
    ops.sign_agreement(owner, c, now=shanghai(2026, 3, 25))
    d = file_case(consumer, e, now=filed)
    ops.decline(owner, d, reason="不同意", now=shanghai(2026, 3, 3))
    ops.refuse_case(mediator, d, reason="R1", now=shanghai(2026, 3, 4))
    e_case = file_case(consumer, e, now=filed)
    ops.withdraw(consumer, e_case, now=shanghai(2026, 3, 3))
    g = file_case(consumer, e, now=shanghai(2026, 9, 29))
    offer_and_accept(g, shanghai(2026, 9, 30), shanghai(2026, 10, 8))
    f = file_case(consumer, e, now=utcnow() - timedelta(hours=1))
    db.session.commit()
    return SimpleNamespace(a=a, b=b, c=c, d=d, e=e_case, f=f, g=g)


EXPECTED = {
    "cases": 7,
    "settled": 4,
    "settlement_rate": round(4 / 6, 4),
    "on_time_rate": 0.8,
    "average_days": 7.5,
}


def test_the_seeded_days_are_what_the_calendar_says(world):
    seed_known_outcomes(world)
    assert deadlines.working_days_between(day("2026-03-02"), day("2026-03-25")) == 17
    assert deadlines.working_days_between(day("2026-09-29"), day("2026-10-08")) == 2


def test_enterprise_performance_has_exactly_the_expected_numbers(world):
    seed_known_outcomes(world)
    rows = {r["enterprise_id"]: r for r in stats.enterprise_performance()}
    row = rows[world.enterprise.id]
    for key, value in EXPECTED.items():
        assert row[key] == value, key
    assert row["closed"] == 6
    assert (row["on_time"], row["on_time_counted"]) == (4, 5)
    assert row["satisfaction"] == 4.5
    assert row["warning"] is False  # 0.8 is not under the 0.8 threshold
    other = rows[world.other_enterprise.id]
    assert other["cases"] == 0 and other["settlement_rate"] is None


def test_enterprise_scoreboard_lists_approved_enterprises_with_the_agreed_keys(world):
    seed_known_outcomes(world)
    board = stats.enterprise_scoreboard()
    assert {r["enterprise_id"] for r in board} == {world.enterprise.id, world.other_enterprise.id}
    row = next(r for r in board if r["enterprise_id"] == world.enterprise.id)
    assert set(row) == set(stats.SCOREBOARD_KEYS)
    assert row["name"] == world.enterprise.name
    assert row["credit_code"] == world.enterprise.credit_code
    for key, value in EXPECTED.items():
        assert row[key] == value, key


@pytest.mark.parametrize("threshold, warned", [(0.8, False), (0.81, True)])
def test_on_time_warning_follows_the_threshold(world, app, threshold, warned):
    seed_known_outcomes(world)
    app.config["ODR_ONTIME_THRESHOLD"] = threshold
    try:
        flagged = {r["enterprise_id"] for r in stats.ontime_warnings()}
    finally:
        app.config.pop("ODR_ONTIME_THRESHOLD")
    assert (world.enterprise.id in flagged) is warned


def test_on_time_warning_needs_the_minimum_number_of_cases(world, app):
    seed_known_outcomes(world)
    app.config.update(ODR_ONTIME_THRESHOLD=0.9, ODR_ONTIME_MIN_CASES=6)
    try:
        assert stats.ontime_warnings() == []
    finally:
        app.config.pop("ODR_ONTIME_THRESHOLD")
        app.config.pop("ODR_ONTIME_MIN_CASES")
