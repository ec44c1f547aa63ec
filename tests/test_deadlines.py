"""Working-day deadlines on real dates of the official calendar (DESIGN.md: day X is not
counted; the deadline is the end, 23:59:59 Asia/Shanghai, of the N-th working day after X)."""

import json
import logging
from datetime import date, datetime

import pytest

from odr.auth.models import UserRole
from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.deadlines import SHANGHAI, add_working_days, is_workday, working_day_deadline
from odr.disputes.models import CalendarOverride
from tests.factories import complaint_data, day, file_case, shanghai, user


def eod(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.fixture
def fresh_fallback_log(monkeypatch):
    """The fallback warns once per year and process; make this test see its warning."""
    monkeypatch.setattr(deadlines, "_warned_years", set())
    monkeypatch.setattr(deadlines, "_rest_days", {})  # the years it has computed
    # Alembic's fileConfig (migration tests) disables loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger(deadlines.__name__), "disabled", False)


# -- the official schedule ------------------------------------------------------------------


def test_national_day_week_is_off_and_makeup_saturday_counts(app):
    assert not is_workday(day("2026-10-01"))
    assert not is_workday(day("2026-10-07"))
    assert is_workday(day("2026-10-08"))
    assert is_workday(day("2026-10-10"))  # Saturday, a make-up working day (调休上班)
    assert not is_workday(day("2026-10-11"))  # an ordinary Sunday


def test_enterprise_deadline_filed_2026_09_28(app):
    assert add_working_days(day("2026-09-28"), 10) == day("2026-10-16")
    # Without the make-up Saturday it would be one working day later.
    assert add_working_days(day("2026-10-09"), 1) == day("2026-10-10")


def test_seven_working_days_over_the_spring_festival(app):
    # 02-14 (Saturday) is a make-up day, 02-15..02-23 off, 02-28 (Saturday) make-up.
    assert add_working_days(day("2026-02-13"), 7) == day("2026-03-02")


def test_day_of_the_act_is_not_counted_whatever_the_hour(app):
    late = datetime(2026, 9, 28, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC, still the 28th
    assert working_day_deadline(late, 10) == eod(2026, 10, 16)
    # 00:30 in Shanghai on the 29th is still the 28th in UTC: Shanghai's day counts.
    just_after_midnight = datetime(2026, 9, 29, 0, 30, tzinfo=SHANGHAI)
    assert working_day_deadline(just_after_midnight, 9) == eod(2026, 10, 16)
    assert working_day_deadline(day("2026-09-28"), 0) == eod(2026, 9, 28)


def test_filing_sets_the_enterprise_clock(world, db):
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    assert complaint.state == "negotiating"
    assert complaint.deadline_at == eod(2026, 10, 16)
    assert complaint.deadline_at.astimezone(SHANGHAI).tzinfo is not None
    # The reminder goes out 2 working days before: the start of Wednesday 10-14.
    assert complaint.reminder_at == datetime(2026, 10, 14, tzinfo=SHANGHAI)


def test_filing_outside_the_green_channel_sets_the_acceptance_clock(world, db):
    complaint = file_case(
        world.consumer,
        world.enterprise,
        now=shanghai(2026, 2, 13, 16),
        green_channel=False,
        purchase_date="2026-02-01",
    )
    assert complaint.state == "pending_acceptance"
    assert complaint.deadline_at == eod(2026, 3, 2)


# -- a year with no schedule ----------------------------------------------------------------


def test_deadline_into_2027_falls_back_with_a_warning(app, fresh_fallback_log, caplog):
    with caplog.at_level(logging.WARNING, logger=deadlines.__name__):
        # 12-21..12-25, 12-28..12-31, then 2027-01-01 (fixed holiday) and the weekend.
        assert add_working_days(day("2026-12-20"), 10) == day("2027-01-04")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()
    assert "flask odr calendar load" in warnings[0].getMessage()


def test_fallback_counts_weekends_and_fixed_holidays(app, fresh_fallback_log):
    assert not is_workday(day("2027-10-01"))  # National Day (fixed date)
    assert not is_workday(day("2027-05-01"))
    assert not is_workday(day("2027-01-02"))  # a Saturday
    assert is_workday(day("2027-03-10"))


def test_filing_late_in_december_gives_a_2027_deadline(world, db, fresh_fallback_log, caplog):
    with caplog.at_level(logging.WARNING, logger=deadlines.__name__):
        complaint = file_case(
            world.consumer,
            world.enterprise,
            now=shanghai(2026, 12, 24, 11),
            purchase_date="2026-12-01",
        )
    assert complaint.deadline_at == eod(2027, 1, 8)
    assert any("2027" in r.getMessage() for r in caplog.records)


# -- overrides loaded by an admin ----------------------------------------------------------


def _deadline_cli(app, start="2026-09-28", n="10"):
    result = app.test_cli_runner().invoke(
        args=["odr", "calendar", "deadline", "--from", start, "--working-days", n]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_cli_prints_the_deadline(app, db):
    assert _deadline_cli(app) == "2026-10-16"
    assert _deadline_cli(app, "2026-02-13", "7") == "2026-03-02"


def test_cli_refuses_a_bad_date(app, db):
    result = app.test_cli_runner().invoke(
        args=["odr", "calendar", "deadline", "--from", "28/09/2026", "--working-days", "10"]
    )
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_json_overrides_change_the_deadline(app, db, tmp_path):
    path = tmp_path / "2026-extra.json"
    path.write_text(json.dumps({"holidays": ["2026-10-12"], "workdays": []}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "loaded 1 days (1 days off, 0 working days)" in result.output
    assert db.session.get(CalendarOverride, date(2026, 10, 12)).is_workday is False
    assert add_working_days(day("2026-09-28"), 10) == day("2026-10-19")
    assert _deadline_cli(app) == "2026-10-19"


def test_json_list_overrides(app, db, tmp_path):
    path = tmp_path / "list.json"
    path.write_text(
        json.dumps([{"date": "2026-10-03", "workday": True, "note": "extra"}]), encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert _deadline_cli(app) == "2026-10-15"


def test_csv_overrides_change_the_deadline(app, db, tmp_path):
    path = tmp_path / "2026.csv"
    path.write_text("date,type,note\n2026-10-03,workday,make-up\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "(0 days off, 1 working days)" in result.output
    assert add_working_days(day("2026-09-28"), 10) == day("2026-10-15")
    # Loading again updates the day instead of failing on the duplicate.
    path.write_text("date,type\n2026-10-03,holiday\n2026-10-12,off\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert _deadline_cli(app) == "2026-10-19"


def test_a_loaded_2027_schedule_replaces_the_fallback(app, db, tmp_path, fresh_fallback_log):
    assert add_working_days(day("2026-12-30"), 3) == day("2027-01-05")
    path = tmp_path / "2027.csv"
    path.write_text("2027-01-04,holiday\n2027-01-05,holiday\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert add_working_days(day("2026-12-30"), 3) == day("2027-01-07")


def test_a_bad_calendar_file_is_refused_without_loading(app, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("2026-10-12,holiday\n2026-10-13,sometimes\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["odr", "calendar", "load", str(path)])
    assert result.exit_code == 1
    assert "sometimes" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(CalendarOverride)) == 0


# -- suspension pauses the mediation clock --------------------------------------------------


def test_suspension_pauses_the_45_day_clock(world, db):
    c = file_case(
        world.consumer,
        world.enterprise,
        now=shanghai(2026, 2, 24, 9),
        purchase_date="2026-02-01",
    )
    ops.escalate(world.consumer, c, now=shanghai(2026, 2, 26, 9))
    ops.accept_case(world.head, c, now=shanghai(2026, 3, 2, 10))
    # 45 working days after Monday 03-02, past Qingming (04-04..06) and May Day (05-01..05).
    assert c.deadline_at == eod(2026, 5, 8)
    assert add_working_days(day("2026-03-02"), 45) == day("2026-05-08")

    ops.suspend(world.head, c, reason="Sent for testing", now=shanghai(2026, 3, 10, 10))
    assert c.state == "suspended"
    assert c.deadline_at is None and c.reminder_at is None
    assert c.clock_days_left == deadlines.working_days_between(day("2026-03-10"), day("2026-05-08"))

    ops.resume(world.head, c, now=shanghai(2026, 3, 20, 16))
    db.session.commit()
    # Suspended working days: 03-11..03-13 and 03-16..03-20 (8); the clock moves by them:
    # 05-09 (make-up Saturday), 05-11..05-15, 05-18, 05-19.
    assert deadlines.working_days_between(day("2026-03-10"), day("2026-03-20")) == 8
    assert c.state == "mediating"
    assert c.deadline_at == eod(2026, 5, 19)
    assert c.deadline_at == deadlines.end_of_day(add_working_days(day("2026-05-08"), 8))
    assert c.clock_days_left is None
    assert c.reminder_at is not None


def test_routing_preview_shows_the_same_deadline(world, db):
    # Erqi's office has a mediator (an unstaffed one passes cases up: test_routing_law.py).
    user(UserRole.MEDIATOR, "erqi.mediator@test.example", body_=world.erqi)
    db.session.commit()
    preview = ops.routing_preview(
        world.enterprise, True, day("2026-09-01"), None, now=shanghai(2026, 9, 28, 9)
    )
    assert preview["to"] == "enterprise"
    assert preview["deadline_at"] == eod(2026, 10, 16)
    preview = ops.routing_preview(
        world.pending_enterprise, True, day("2026-09-01"), None, now=shanghai(2026, 9, 28, 9)
    )
    assert preview["to"] == "body"
    assert preview["body"].id == world.erqi.id
    assert preview["deadline_at"] == eod(2026, 10, 13)


def test_complaint_data_default_is_eligible(world, db):
    # Guard for the fixtures above: the default purchase date is before the filing dates.
    assert complaint_data(world.enterprise)["purchase_date"] <= "2026-09-28"
