"""Running clocks follow the calendar (odr/disputes/clocks.py): loading a schedule derives
every open case's clock again in the same transaction, with an event (old date, new date,
why) and a notice to its parties where the date moved; the sweep acts only on clocks
computed under the calendar in force."""

import json
from datetime import datetime

import pytest

from odr.disputes import clocks, deadlines, supervision
from odr.disputes import operations as ops
from odr.disputes.deadlines import SHANGHAI
from odr.disputes.models import CaseEvent, Complaint, Notification
from odr.disputes.sweep import sweep
from odr.extensions import db as _db
from tests.factories import PASSWORD, day, file_case, shanghai

# A 2027 schedule as the State Council might publish it: two more days off after the
# law's Spring Festival rest (02-05..02-10) and a make-up working Saturday.
SCHEDULE_2027 = [
    (day("2027-02-11"), False, "春节"),
    (day("2027-02-12"), False, "春节"),
    (day("2027-02-20"), True, "春节调休"),
]


@pytest.fixture(autouse=True)
def _law_counts_2027():
    """These clocks run through 2027 on the law (chinese-calendar 1.11 has no 2027)."""
    assert not deadlines.official_schedule_known(2027), "chinese-calendar knows 2027: use 2029"


def eod(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def _mediating(w, accepted: datetime) -> Complaint:
    c = file_case(w.consumer, w.enterprise, now=accepted.replace(day=accepted.day - 2))
    ops.escalate(w.consumer, c, now=accepted.replace(day=accepted.day - 1))
    ops.accept_case(w.head, c, now=accepted)
    _db.session.commit()
    return c


def _events(c, action):
    return _db.session.scalars(
        _db.select(CaseEvent)
        .where(CaseEvent.complaint_id == c.id, CaseEvent.action == action)
        .order_by(CaseEvent.id)
    ).all()


def _notices(c, kind):
    return _db.session.scalars(
        _db.select(Notification).where(Notification.complaint_id == c.id, Notification.kind == kind)
    ).all()


def test_loading_a_schedule_moves_running_clocks_with_suspensions(world, db):
    # Accepted Tue 2026-12-15: 45 working days on the law end Tue 2027-02-23.
    running = _mediating(world, shanghai(2026, 12, 15, 10))
    assert running.deadline_at == eod(2027, 2, 23)
    # Suspended 12-18 to 12-23 (3 working days stopped), running again.
    resumed = _mediating(world, shanghai(2026, 12, 15, 11))
    ops.suspend(world.head, resumed, reason="送检", now=shanghai(2026, 12, 18, 10))
    ops.resume(world.head, resumed, now=shanghai(2026, 12, 23, 10))
    _db.session.commit()
    assert resumed.deadline_at == eod(2027, 2, 26)
    # Suspended and still stopped: the working days left change with the calendar.
    stopped = _mediating(world, shanghai(2026, 12, 15, 12))
    ops.suspend(world.head, stopped, reason="送检", now=shanghai(2026, 12, 16, 10))
    _db.session.commit()
    assert stopped.clock_days_left == 44
    # Answer due by 12-30 in 2026's official schedule: it does not move.
    negotiating = file_case(world.consumer, world.enterprise, now=shanghai(2026, 12, 16, 9))
    unmoved = negotiating.deadline_at

    change = supervision.store_schedule(
        SCHEDULE_2027, source="2027.csv", now=shanghai(2026, 12, 20, 9)
    )
    _db.session.commit()

    assert [d for d, *_ in change.days] == [day("2027-02-11"), day("2027-02-12"), day("2027-02-20")]
    # A stopped clock keeps the working days it had left on the day it stopped.
    assert {m.complaint_id for m in change.moved} == {running.id, resumed.id}
    _db.session.expire_all()
    # Two more days off, one more working day: one working day later.
    assert running.deadline_at == eod(2027, 2, 24)
    assert resumed.deadline_at == eod(2027, 3, 1)
    assert stopped.state == "suspended" and stopped.clock_days_left == 44
    assert negotiating.deadline_at == unmoved
    calendar = deadlines.current()
    for c in (running, resumed, negotiating, stopped):
        assert c.calendar_version == calendar.version
        clock = clocks.derive_case(c)
        assert (clock.deadline_at, clock.days_left) == (c.deadline_at, c.clock_days_left)
    assert running.reminder_at == datetime(2027, 2, 22, tzinfo=SHANGHAI)

    [event] = _events(running, "recompute_clock")
    assert event.details["previous_deadline"] == "2027-02-23"
    assert event.details["deadline"] == "2027-02-24"
    assert event.details["why"] == "schedule_loaded"
    assert event.details["source"] == "2027.csv"
    assert event.actor_role == "system" and event.to_state == "mediating"
    notices = _notices(running, "deadline_moved")
    assert {n.user_id for n in notices} >= {world.consumer.id, world.head.id}
    assert any(n.user_id in (world.owner.id, world.agent.id) for n in notices)
    assert notices[0].params["deadline"] == "2027-02-24"
    assert not _events(negotiating, "recompute_clock")

    # The stopped clock runs again with 44 days: under the loaded schedule.
    ops.resume(world.head, stopped, now=shanghai(2027, 1, 4, 10))
    assert stopped.deadline_at == eod(2027, 3, 12)  # 02-20 counts, 02-11 and 02-12 do not
    assert stopped.calendar_version == calendar.version


def test_the_sweep_does_not_terminate_on_the_old_date(world, db, tmp_path, app):
    c = _mediating(world, shanghai(2026, 12, 15, 10))
    path = tmp_path / "2027.json"
    path.write_text(
        json.dumps({"holidays": ["2027-02-11", "2027-02-12"], "workdays": ["2027-02-20"]}),
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{c.reference} mediating: 2027-02-23 -> 2027-02-24" in result.output
    assert "open cases whose deadline moved: 1" in result.output
    # The day after the law's date: still running under the loaded schedule.
    report = sweep(shanghai(2027, 2, 24, 9))
    _db.session.expire_all()
    assert report.count("terminated_t5") == 0
    assert c.state == "mediating"
    report = sweep(shanghai(2027, 2, 25, 9))
    assert report.count("terminated_t5") == 1


def test_the_sweep_derives_a_clock_of_another_calendar_before_acting(world, db):
    """A clock stored under another calendar (a process's cached calendar a minute old, a
    transaction racing the change, a package upgrade): the sweep derives it first."""
    c = _mediating(world, shanghai(2026, 12, 15, 10))
    true_deadline = c.deadline_at
    # As if computed under a calendar that was a week shorter.
    _db.session.execute(
        _db.update(Complaint)
        .where(Complaint.id == c.id)
        .values(deadline_at=eod(2027, 2, 16), calendar_version="0123456789abcdef")
    )
    _db.session.commit()
    report = sweep(shanghai(2027, 2, 18, 9))
    _db.session.expire_all()
    assert report.count("terminated_t5") == 0
    assert c.state == "mediating"
    assert c.deadline_at == true_deadline
    assert c.calendar_version == deadlines.current().version
    assert [(a, d) for _, a, d in report.actions if a == "deadline_moved"] == [
        ("deadline_moved", "2027-02-16 -> 2027-02-23")
    ]
    [event] = _events(c, "recompute_clock")
    assert event.details["why"] == "calendar_updated"
    # A clock with no version (stored before this release) is derived the same way; one
    # that is right already is only stamped, without an event.
    _db.session.execute(
        _db.update(Complaint).where(Complaint.id == c.id).values(calendar_version=None)
    )
    _db.session.commit()
    sweep(shanghai(2027, 2, 18, 10))
    _db.session.expire_all()
    assert c.calendar_version == deadlines.current().version
    assert len(_events(c, "recompute_clock")) == 1
    assert clocks.stale_ids(deadlines.current().version) == []


def test_editing_one_day_moves_the_clocks_too(world, db):
    c = _mediating(world, shanghai(2026, 12, 15, 10))
    supervision.set_day(world.admin, "2027-01-04", "holiday", "调整", now=shanghai(2026, 12, 20))
    _db.session.commit()
    _db.session.expire_all()
    assert c.deadline_at == eod(2027, 2, 24)
    [event] = _events(c, "recompute_clock")
    assert event.details["why"] == "day_edited"
    supervision.set_day(world.admin, "2027-01-04", "official", now=shanghai(2026, 12, 21))
    _db.session.commit()
    _db.session.expire_all()
    assert c.deadline_at == eod(2027, 2, 23)
    assert len(_events(c, "recompute_clock")) == 2


def test_the_timeline_shows_the_old_and_new_dates(world, client, db):
    c = _mediating(world, shanghai(2026, 12, 15, 10))
    supervision.store_schedule(SCHEDULE_2027, source="2027.csv", now=shanghai(2026, 12, 20))
    _db.session.commit()
    client.post("/auth/login", data={"email": world.consumer.email, "password": PASSWORD})
    page = client.get(f"/consumer/cases/{c.id}").get_data(as_text=True)
    assert "2027年2月23日" in page and "2027年2月24日" in page
