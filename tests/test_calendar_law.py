"""The calendar's three sources (odr/disputes/deadlines.py): loaded overrides, the official
schedules of `chinese-calendar`, and for any other year the law itself (全国年节及纪念日放假办法,
2024 revision, with make-up rest for a holiday on a weekend) as the `holidays` package
computes it. Dates in 2027 and 2028 through the function, the CLI and the API; the console's
warning from 1 November; what `calendar load` prints."""

import io
import json
from datetime import date, datetime, timedelta

import chinese_calendar
import holidays
import pytest

from odr.admin import calendar as admin_calendar
from odr.disputes import deadlines
from odr.disputes.deadlines import SHANGHAI, add_working_days, is_workday
from tests.factories import PASSWORD, day, file_case, shanghai

# These tests count 2027 on the law: chinese-calendar (pinned to 1.11 in requirements.txt)
# has no 2027 schedule. An upgrade that brings one fails the first test below, which says so.


def _days(year):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


def _deadline_cli(app, start, n):
    result = app.test_cli_runner().invoke(
        args=["odr", "calendar", "deadline", "--from", start, "--working-days", str(n)]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


# -- which source answers which year ------------------------------------------------------


def test_chinese_calendar_covers_up_to_2026_and_the_law_covers_2028(app, db):
    assert deadlines.official_schedule_known(2026)
    assert not deadlines.official_schedule_known(2028)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2028, 1, 3))
    assert deadlines.year_source(2026) == "official"
    assert deadlines.year_source(2028) == "law"
    assert deadlines.year_source(2027) == "law", "chinese-calendar knows 2027: move to 2029"


@pytest.mark.parametrize("year", [2027, 2028])
def test_every_day_of_the_law_years_is_the_holidays_packages(app, db, year):
    """Not a list of our own: each day of the year as holidays.China says, weekends off."""
    law = holidays.China(years=year)
    mine = {d: is_workday(d) for d in _days(year)}
    assert mine == {d: law.is_working_day(d) for d in _days(year)}
    # The law's 13 days (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3), plus make-up
    # rest: every statutory holiday is off.
    assert all(not mine[d] for d in law)
    assert sum(1 for d in _days(year) if d.weekday() >= 5 and mine[d]) == 0  # no make-up work


def test_the_official_years_are_chinese_calendars(app, db):
    for d in _days(2026):
        assert is_workday(d) == chinese_calendar.is_workday(d), d


# -- 2027 on the law, weekend holidays and their make-up rest ------------------------------


def test_2027_spring_festival_from_new_years_eve_with_make_up_rest(app, db):
    # 除夕 Fri 02-05, 初一 Sat 02-06, 初二 Sun 02-07, 初三 Mon 02-08; the two weekend days
    # give rest on Tue 02-09 and Wed 02-10.
    for d in ("2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"):
        assert not is_workday(day(d)), d
    assert is_workday(day("2027-02-04")) and is_workday(day("2027-02-11"))
    assert add_working_days(day("2027-02-04"), 1) == day("2027-02-11")
    assert _deadline_cli(app, "2027-02-04", 1) == "2027-02-11"


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2027-04-02", 1, "2027-04-06"),  # 清明 Mon 04-05
        ("2027-04-30", 1, "2027-05-05"),  # 劳动节 Sat-Sun 05-01..02 → rest Mon-Tue 05-03..04
        ("2027-06-08", 1, "2027-06-10"),  # 端午 Wed 06-09
        ("2027-09-14", 1, "2027-09-16"),  # 中秋 Wed 09-15
        ("2027-09-30", 1, "2027-10-06"),  # 国庆 Fri-Sun 10-01..03 → rest Mon-Tue 10-04..05
        ("2026-12-31", 1, "2027-01-04"),  # 元旦 Fri 2027-01-01
        ("2026-12-15", 45, "2027-02-23"),  # a mediation accepted now: past the Spring Festival
    ],
)
def test_2027_deadlines_on_the_law(app, db, start, n, expected):
    assert add_working_days(day(start), n) == day(expected)
    assert _deadline_cli(app, start, n) == expected


# -- 2028 (the public examples) and the year boundary ---------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2028-01-24", 1, "2028-01-31"),  # 除夕 Tue 01-25 .. 初三 Fri 01-28, then the weekend
        ("2028-09-29", 1, "2028-10-05"),  # 国庆 Sun 10-01 → rest Wed 10-04; 中秋 on 10-03
        ("2028-04-28", 3, "2028-05-05"),  # 劳动节 Mon-Tue 05-01..02
        ("2028-05-26", 1, "2028-05-30"),  # 端午 Sun 05-28 → rest Mon 05-29
        ("2028-03-31", 3, "2028-04-06"),  # 清明 Tue 04-04
    ],
)
def test_2028_deadlines_on_the_law(app, db, start, n, expected):
    assert add_working_days(day(start), n) == day(expected)
    assert _deadline_cli(app, start, n) == expected


def test_late_december_2027_runs_into_january_2028(app, db):
    # 元旦 2028 is a Saturday: rest on Monday 01-03.
    assert not is_workday(day("2028-01-03"))
    assert add_working_days(day("2027-12-24"), 5) == day("2027-12-31")
    assert add_working_days(day("2027-12-24"), 6) == day("2028-01-04")
    assert add_working_days(day("2027-12-27"), 10) == day("2028-01-11")
    assert _deadline_cli(app, "2027-12-31", 1) == "2028-01-04"
    assert deadlines.working_days_between(day("2027-12-24"), day("2028-01-04")) == 6
    assert deadlines.subtract_working_days(day("2028-01-04"), 1) == day("2027-12-31")


def test_the_api_answers_a_2027_deadline_on_the_law(world, api, db):
    # Filed on Thursday 2027-02-04, the day before 除夕: ten working days from 02-11.
    c = file_case(world.consumer, world.enterprise, now=shanghai(2027, 2, 4, 10))
    assert c.deadline_at == deadlines.working_day_deadline(day("2027-02-04"), 10)
    assert c.deadline_at == datetime(2027, 2, 24, 23, 59, 59, tzinfo=SHANGHAI)
    answer = api.get(world.consumer, f"/complaints/{c.id}").get_json()
    assert datetime.fromisoformat(answer["deadline_at"]) == c.deadline_at


# -- the console warns from 1 November -------------------------------------------------------


def _login(client, user):
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def _frozen(monkeypatch, y, m, d):
    moment = shanghai(y, m, d, 9)
    monkeypatch.setattr(admin_calendar, "utcnow", lambda: moment)


def test_the_console_warns_from_november_while_next_year_is_missing(world, client, monkeypatch):
    _login(client, world.admin)
    _frozen(monkeypatch, 2026, 10, 20)
    assert 'id="calendar-warning"' not in client.get("/admin/").get_data(as_text=True)
    assert 'id="calendar-warning"' not in client.get("/admin/calendar").get_data(as_text=True)

    _frozen(monkeypatch, 2026, 11, 5)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="calendar-warning" data-year="2027"' in page
    assert 'href="/admin/calendar?year=2027"' in page
    assert 'id="calendar-warning"' in client.get("/admin/calendar").get_data(as_text=True)

    # A day edited by hand is not a schedule: still missing.
    client.post("/admin/calendar/day", data={"day": "2027-01-04", "kind": "holiday"})
    assert 'id="calendar-warning"' in client.get("/admin/").get_data(as_text=True)
    schedule = {"holidays": ["2027-02-11", "2027-02-12"], "workdays": ["2027-02-20"]}
    response = client.post(
        "/admin/calendar/load?year=2027",
        data={"file": (_file(json.dumps(schedule)), "2027.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert 'id="calendar-warning"' not in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'id="year-source" data-source="loaded"' in page
    page = client.get("/admin/calendar?year=2028").get_data(as_text=True)
    assert 'id="year-source" data-source="law"' in page


def _file(text):
    return io.BytesIO(text.encode())


# -- `calendar load` prints what changes --------------------------------------------------------


def test_calendar_load_prints_the_days_that_change(app, db, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(
        "date,type,note\n"
        "2027-02-08,holiday,春节\n"  # off under the law already: no change
        "2027-02-11,holiday,春节\n"
        "2027-02-12,holiday,春节\n"
        "2027-02-20,workday,春节调休\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "loaded 4 days (3 days off, 1 working days)" in lines
    assert "2027-02-11 Thu: working day -> day off (春节)" in lines
    assert "2027-02-12 Fri: working day -> day off (春节)" in lines
    assert "2027-02-20 Sat: day off -> working day (春节调休)" in lines
    assert not any(line.startswith("2027-02-08") for line in lines)
    assert "3 days change" in lines
    assert "open cases whose deadline moved: 0" in lines
    assert _deadline_cli(app, "2027-02-04", 1) == "2027-02-15"

    # Loading it again changes nothing, and says so.
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "no day changes: the calendar in force already had these days" in result.output
