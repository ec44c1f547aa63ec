"""The regulator runs mediation bodies and mediators, keeps the holiday calendar and
publishes consumer warnings, through the console."""

import io
import json
from datetime import date

from odr.auth.models import User
from odr.disputes import deadlines
from odr.disputes.models import BodyMembership, CalendarOverride, ConsumerWarning, MediationBody
from odr.extensions import db
from tests.factories import PASSWORD, file_case


def login(client, user, password=PASSWORD):
    client.post("/auth/logout")
    return client.post("/auth/login", data={"email": user.email, "password": password})


# -- bodies ------------------------------------------------------------------------------


def test_the_regulator_creates_a_body_and_moves_it_under_another(world, client):
    login(client, world.admin)
    response = client.post(
        "/admin/bodies",
        data={
            "name": "惠济区市场监督管理局",
            "name_en": "Huiji AMR",
            "kind": "office",
            "level": "county",
            "region_code": "410103",
            "parent_id": str(world.city_body.id),
        },
    )
    assert response.status_code == 302
    body = db.session.scalar(db.select(MediationBody).where(MediationBody.name_en == "Huiji AMR"))
    assert body.parent_id == world.city_body.id and body.active
    response = client.post(
        f"/admin/bodies/{body.id}/move", data={"parent_id": str(world.luoyang.id)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MediationBody, body.id).parent_id == world.luoyang.id
    page = client.get("/admin/bodies").get_data(as_text=True)
    assert "惠济区市场监督管理局" in page


def test_a_body_cannot_go_under_itself_or_its_descendants(world, client):
    login(client, world.admin)
    response = client.post(
        f"/admin/bodies/{world.city_body.id}/move", data={"parent_id": str(world.jinshui.id)}
    )
    assert response.status_code == 422
    assert "cannot be placed" in response.get_data(as_text=True) or "不能" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(MediationBody, world.city_body.id).parent_id == world.province_body.id


def test_bad_body_input_re_renders_and_keeps_what_was_typed(world, client):
    login(client, world.admin)
    response = client.post(
        "/admin/bodies",
        data={"name": "保留的名称", "kind": "office", "level": "nowhere", "region_code": "999"},
    )
    assert response.status_code == 422
    assert "保留的名称" in response.get_data(as_text=True)


def test_a_body_with_open_cases_is_not_deactivated(world, client):
    file_case(world.consumer, world.enterprise, green_channel=False, purchase_date="2026-10-01")
    login(client, world.admin)
    client.post(f"/admin/bodies/{world.jinshui.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(MediationBody, world.jinshui.id).active
    client.post(f"/admin/bodies/{world.erqi.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert not db.session.get(MediationBody, world.erqi.id).active
    # No new case is routed to an inactive body.
    from odr.disputes import routing

    assert routing.competent_body_for_region("410103").id == world.city_body.id


# -- mediators ---------------------------------------------------------------------------


def test_the_regulator_creates_a_mediator_who_can_sign_in(world, client):
    login(client, world.admin)
    response = client.post(
        f"/admin/bodies/{world.erqi.id}/mediators",
        data={
            "name": "二七调解员",
            "email": "erqi.mediator@test.example",
            "password": "Mediator-2026",
            "locale": "zh_CN",
            "head": "y",
        },
    )
    assert response.status_code == 302
    mediator = db.session.scalar(db.select(User).where(User.email == "erqi.mediator@test.example"))
    assert mediator.role == "mediator" and mediator.body_ids == {world.erqi.id}
    assert mediator.memberships[0].is_head
    client.post("/auth/logout")
    response = login(client, mediator, "Mediator-2026")
    assert response.status_code == 302
    assert client.get("/office/requests").status_code == 200


def test_a_duplicate_mediator_email_is_refused_with_a_message(world, client):
    login(client, world.admin)
    response = client.post(
        f"/admin/bodies/{world.erqi.id}/mediators",
        data={"name": "x", "email": world.mediator.email, "password": "Mediator-2026"},
    )
    assert response.status_code == 422
    assert 'id="email-err"' in response.get_data(as_text=True)


def test_the_regulator_moves_marks_head_and_deactivates_a_mediator(world, client):
    login(client, world.admin)
    response = client.post(
        f"/admin/mediators/{world.mediator.id}/move",
        data={"body_id": str(world.erqi.id), "from_body": str(world.jinshui.id)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    mediator = db.session.get(User, world.mediator.id)
    assert mediator.body_ids == {world.erqi.id}
    old = db.session.scalar(
        db.select(BodyMembership).where(
            BodyMembership.user_id == mediator.id, BodyMembership.body_id == world.jinshui.id
        )
    )
    assert old is not None and not old.active
    client.post(f"/admin/bodies/{world.erqi.id}/mediators/{mediator.id}/head", data={"head": "1"})
    db.session.expire_all()
    from odr.disputes.permissions import is_body_head

    assert is_body_head(db.session.get(User, mediator.id), world.erqi.id)
    client.post(f"/admin/mediators/{mediator.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert not db.session.get(User, mediator.id).active
    client.post("/auth/logout")
    login(client, world.mediator)
    assert client.get("/office/requests").status_code == 302  # cannot sign in any more


# -- the calendar ------------------------------------------------------------------------


def test_the_regulator_loads_a_years_schedule_and_deadlines_follow_it(world, client):
    login(client, world.admin)
    schedule = {
        "holidays": ["2027-01-01", "2027-02-15", "2027-02-16"],
        "workdays": [{"date": "2027-02-20", "note": "春节调休"}],
    }
    response = client.post(
        "/admin/calendar/load?year=2027",
        data={"file": (io.BytesIO(json.dumps(schedule).encode()), "2027.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert not deadlines.is_workday(date(2027, 2, 15))
    assert deadlines.is_workday(date(2027, 2, 20))  # a Saturday, now a make-up working day
    # Fri 12 Feb + 2 working days: Mon 15 and Tue 16 are off, so Wed 17 and Thu 18.
    assert deadlines.add_working_days(date(2027, 2, 12), 2) == date(2027, 2, 18)
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'data-day="2027-02-15" data-kind="holiday"' in page
    assert 'data-day="2027-02-20" data-kind="makeup"' in page
    assert 'data-day="2027-02-13" data-kind="weekend"' in page


def test_a_csv_schedule_loads_too(world, client):
    login(client, world.admin)
    csv_text = "date,type,note\n2027-10-01,holiday,国庆节\n2027-10-09,workday,调休\n"
    response = client.post(
        "/admin/calendar/load",
        data={"file": (io.BytesIO(csv_text.encode()), "2027.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.get(CalendarOverride, date(2027, 10, 9)).is_workday


def test_a_bad_calendar_file_is_refused_with_a_message(world, client):
    login(client, world.admin)
    for name, content in (
        ("2027.json", b"{not json"),
        ("2027.csv", b"2027-13-45,holiday\n"),
        ("2027.txt", b"whatever"),
        ("2027.json", b'{"holidays": []}'),
    ):
        response = client.post(
            "/admin/calendar/load",
            data={"file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, name
        assert 'id="file-err"' in response.get_data(as_text=True)
    response = client.post("/admin/calendar/load", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(CalendarOverride)) == 0


def test_the_regulator_edits_one_day_and_can_undo_it(world, client):
    login(client, world.admin)
    assert deadlines.is_workday(date(2026, 12, 31))
    response = client.post(
        "/admin/calendar/day", data={"day": "2026-12-31", "kind": "holiday", "note": "调整"}
    )
    assert response.status_code == 302
    assert not deadlines.is_workday(date(2026, 12, 31))
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'class="cal-day cal-holiday cal-override" data-day="2026-12-31"' in page
    client.post("/admin/calendar/day", data={"day": "2026-12-31", "kind": "official"})
    assert deadlines.is_workday(date(2026, 12, 31))
    response = client.post("/admin/calendar/day", data={"day": "not a day", "kind": "holiday"})
    assert response.status_code == 422


def test_the_calendar_shows_the_official_schedule(world, client):
    login(client, world.admin)
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'data-day="2026-10-01" data-kind="holiday"' in page
    assert 'data-day="2026-10-10" data-kind="makeup"' in page
    assert 'data-day="2026-10-12" data-kind="workday"' in page


# -- consumer warnings -------------------------------------------------------------------


def test_a_warning_is_written_published_and_withdrawn(world, client):
    login(client, world.admin)
    response = client.post(
        "/admin/warnings/new", data={"title": "预付卡消费提示", "body": "谨慎办理大额预付卡。"}
    )
    assert response.status_code == 302
    warning = db.session.scalar(db.select(ConsumerWarning))
    assert warning.published_at is None
    public = client.get("/warnings").get_data(as_text=True)
    assert "预付卡消费提示" not in public
    assert client.get(f"/warnings/{warning.id}").status_code == 404
    client.post(f"/admin/warnings/{warning.id}/publish", data={"publish": "1"})
    client.post("/auth/logout")
    public = client.get("/warnings").get_data(as_text=True)
    assert "预付卡消费提示" in public
    assert "谨慎办理大额预付卡。" in client.get(f"/warnings/{warning.id}").get_data(as_text=True)
    login(client, world.admin)
    client.post(
        f"/admin/warnings/{warning.id}/edit", data={"title": "预付卡提示（修订）", "body": "新文"}
    )
    client.post(f"/admin/warnings/{warning.id}/publish", data={"publish": "0"})
    assert "预付卡" not in client.get("/warnings").get_data(as_text=True)


def test_a_warning_needs_a_title_and_text(world, client):
    login(client, world.admin)
    response = client.post("/admin/warnings/new", data={"title": "", "body": "保留正文"})
    assert response.status_code == 422
    assert "保留正文" in response.get_data(as_text=True)
    assert client.get("/admin/warnings/999/edit").status_code == 404
