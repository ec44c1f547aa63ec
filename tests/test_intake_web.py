"""The intake pages: the regulator registers a station and creates intake accounts; a seat
files for a caller through the form (bad input re-renders with messages), sees the case,
passes it on; consultations are logged and passed on; others are kept out."""

import pytest

from odr.auth.models import User, UserRole
from odr.disputes.models import Complaint, Consultation, Outbox, ServiceStation
from odr.extensions import db
from tests import factories
from tests.access_runner import fast_passwords, stand_in_records  # noqa: F401 - fixtures
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_passwords", "stand_in_records")


def login(client, user, password=PASSWORD):
    client.post("/auth/logout")
    answer = client.post("/auth/login", data={"email": user.email, "password": password})
    assert answer.status_code == 302


def test_the_regulator_registers_a_station_and_its_staff(world, client):
    w = world
    login(client, w.admin)
    assert client.get("/admin/stations").status_code == 200
    bad = client.post("/admin/stations", data={"name": "", "office_id": str(w.jinshui.id)})
    assert bad.status_code == 422
    made = client.post(
        "/admin/stations",
        data={
            "name": "金水万达维权服务站",
            "name_en": "Wanda Plaza station",
            "office_id": str(w.jinshui.id),
            "region_code": "",
            "address": "金水路1号",
            "phone": "0371-1",
        },
    )
    assert made.status_code == 302
    station = db.session.scalar(db.select(ServiceStation))
    assert station.office_id == w.jinshui.id and station.region_code == "410105"
    for place, email in (
        (f"station:{station.id}", "s1@test.example"),
        (f"office:{w.erqi.id}", "seat1@test.example"),
    ):
        answer = client.post(
            "/admin/intake-staff",
            data={
                "name": "新坐席",
                "email": email,
                "password": "Seat-pass-2026",
                "place": place,
                "locale": "zh_CN",
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)
    staff = {
        u.email: u for u in db.session.scalars(db.select(User).where(User.role == UserRole.INTAKE))
    }
    assert staff["s1@test.example"].station_id == station.id
    assert staff["s1@test.example"].intake_body_id == w.jinshui.id
    assert staff["seat1@test.example"].intake_body_id == w.erqi.id
    page = client.get("/admin/stations").get_data(as_text=True)
    assert "金水万达维权服务站" in page and "seat1@test.example" in page
    # Closing a seat's account stops it signing in; closing the station stops its staff.
    seat_user = staff["seat1@test.example"]
    client.post(f"/admin/intake-staff/{seat_user.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(User, seat_user.id).active is False
    client.post(f"/admin/stations/{station.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(ServiceStation, station.id).active is False
    login(client, staff["s1@test.example"], "Seat-pass-2026")
    assert client.post("/intake/consultations/new", data={}).status_code == 403


def test_a_seat_files_for_a_caller_through_the_form(world, client):
    w = world
    seat = factories.intake_user(w.jinshui, email="seat@test.example")
    other = factories.intake_user(w.erqi, email="erqi@test.example")
    db.session.commit()
    login(client, seat)
    home = client.get("/intake/")
    assert home.status_code == 200 and 'id="workload"' in home.get_data(as_text=True)
    form = {
        "caller_name": "赵来电",
        "caller_phone": "13912345678",
        "caller_address": "郑州市金水区来电路5号",
        "caller_locale": "zh_CN",
        "channel": "phone",
        "q": "郑州测试",
        "subject_kind": "goods",
        "subject": "电饭煲",
        "purchase_date": "2026-09-01",
        "amount": "399",
        "issue": "quality",
        "requests": ["refund"],
        "claimed_amount": "399",
        "facts": "用了三天就坏了",
        "note": "来电时间较长",
        "green_channel": "y",
    }
    found = client.post("/intake/complaints/new", data={**form, "find": "1"})
    assert found.status_code == 200
    assert f'<option selected value="{w.enterprise.id}">' in found.get_data(as_text=True)
    bad = client.post(
        "/intake/complaints/new",
        data={**form, "enterprise_id": str(w.enterprise.id), "amount": "abc", "caller_name": ""},
    )
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0
    done = client.post(
        "/intake/complaints/new", data={**form, "enterprise_id": str(w.enterprise.id)}
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    complaint = db.session.scalar(db.select(Complaint))
    assert done.location.endswith(f"/intake/cases/{complaint.id}")
    assert str(complaint.channel) == "phone" and complaint.taken_by_id == seat.id
    assert db.session.scalar(db.select(Outbox).where(Outbox.channel == "sms")) is not None
    page = client.get(f"/intake/cases/{complaint.id}").get_data(as_text=True)
    assert complaint.reference in page and "来电时间较长" in page
    # Resend the link, then pass the case to Erqi's hotline.
    assert (
        client.post(
            f"/intake/cases/{complaint.id}",
            data={"resend-submit": "1", "resend-email": "zhao@x.example"},
        ).status_code
        == 302
    )
    assert db.session.scalar(
        db.select(Outbox).where(Outbox.channel == "email", Outbox.recipient == "zhao@x.example")
    )
    moved = client.post(
        f"/intake/cases/{complaint.id}",
        data={
            "transfer-submit": "1",
            "transfer-body_id": str(w.erqi.id),
            "transfer-note": "住二七",
        },
    )
    assert moved.status_code == 302
    login(client, other)
    assert client.get(f"/intake/cases/{complaint.id}").status_code == 200
    assert complaint.reference in client.get("/intake/").get_data(as_text=True)
    # Others are kept out: a consumer by the gate, another office's seat by the case's 404.
    login(client, w.consumer)
    assert client.get("/intake/").status_code == 403


def test_consultation_logged_and_passed_on_the_web(world, client):
    w = world
    seat = factories.intake_user(w.jinshui, email="seat@test.example")
    db.session.commit()
    login(client, seat)
    assert client.post("/intake/consultations/new", data={"caller_name": ""}).status_code == 200
    done = client.post(
        "/intake/consultations/new",
        data={
            "caller_name": "钱咨询",
            "channel": "walk_in",
            "topic": "prepaid_card",
            "question": "健身卡退费？",
            "answer": "可以投诉。",
            "caller_locale": "zh_CN",
        },
    )
    assert done.status_code == 302
    item = db.session.scalar(db.select(Consultation))
    moved = client.post(
        f"/intake/consultations/{item.id}",
        data={"transfer-body_id": str(w.erqi.id), "transfer-note": "商家在二七"},
    )
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Consultation, item.id).intake_body_id == w.erqi.id
    page = client.get(f"/intake/consultations/{item.id}").get_data(as_text=True)
    assert "商家在二七" in page
    other = factories.intake_user(w.laocheng, email="lc@test.example")
    db.session.commit()
    login(client, other)
    assert client.get(f"/intake/consultations/{item.id}").status_code == 404
