"""Staff intake: a hotline seat files for a caller with no account, the caller gets the
link by SMS, claims the case online and answers the enterprise's offer; consultations are
logged and passed to another office's seats; intake staff see only what they filed or what
their office (station) holds; the statistics count cases by channel."""

import re
from pathlib import Path

import pytest

from odr.auth.models import User
from odr.disputes import intake, stats
from odr.disputes import operations as ops
from odr.disputes.delivery import deliver_due
from odr.disputes.models import CaseEvent, Complaint, Outbox
from odr.disputes.permissions import cases_visible_to, role_in_case
from odr.disputes.states import Forbidden, Role, State
from odr.extensions import db
from tests import factories
from tests.access_runner import fast_passwords, stand_in_records  # noqa: F401 - fixtures
from tests.factories import PASSWORD, intake_data


@pytest.fixture
def seats(world):
    """A seat at the Jinshui office's hotline, one at Erqi's, and a service station under
    Jinshui with its own staff member."""
    w = world
    w.seat = factories.intake_user(w.jinshui, email="seat@test.example", name="金水坐席")
    w.erqi_seat = factories.intake_user(w.erqi, email="erqi.seat@test.example", name="二七坐席")
    w.station = factories.station(w.jinshui)
    w.station_staff = factories.intake_user(
        station_=w.station, email="station@test.example", name="商场站员"
    )
    db.session.commit()
    return w


def _sms_files(app) -> list[str]:
    folder = Path(app.config["SMS_DIR"])
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))]


def _link(text: str) -> str:
    return re.search(r"http://127\.0\.0\.1:5000(/auth/claim/\S+)", text).group(1)


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_phone_filing_for_a_caller_without_account_claimed_online_and_offer_answered(
    app, seats, api, client, tmp_path
):
    w = seats
    app.config["SMS_DIR"] = str(tmp_path / "sms")
    answer = api.post(w.seat, "/intake/complaints", json=intake_data(w.enterprise))
    assert answer.status_code == 201, answer.json
    case = answer.json
    assert case["channel"] == "phone" and case["taken_by"] == w.seat.id
    assert case["state"] == "negotiating" and case["complainant_name"] == "赵来电"
    assert case["events"][0]["action"] == "file" and case["events"][0]["actor"] == "intake"
    assert case["events"][0]["details"]["channel"] == "phone"

    # The caller has an account nobody can sign in to, with no e-mail address.
    complaint = db.session.get(Complaint, case["id"])
    caller = db.session.get(User, complaint.consumer_id)
    assert caller.email is None and not caller.active and caller.claim_pending
    assert complaint.intake_note == "来电人情绪激动，已安抚。"

    # The SMS with the link goes out through the outbox to the file backend.
    assert deliver_due() >= 1
    texts = _sms_files(app)
    assert len(texts) == 1 and "To: 13912345678" in texts[0]
    assert case["reference"] in texts[0]
    link = _link(texts[0])

    # The enterprise offers a refund; the caller is told by SMS, with the claim link again.
    offer = api.post(
        w.agent,
        f"/complaints/{case['id']}/offers",
        json={"remedy": "refund", "amount": "1000.00", "terms": "退款1000元"},
    )
    assert offer.status_code == 201, offer.json
    deliver_due()
    texts = _sms_files(app)
    assert len(texts) == 2 and "/auth/claim/" in texts[1] and case["reference"] in texts[1]

    # The caller follows the link and creates an account.
    page = client.get(link)
    assert page.status_code == 200 and case["reference"] in page.get_data(as_text=True)
    done = client.post(
        link,
        data={
            "new-email": "zhao@test.example",
            "new-password": "Caller-pass-2026",
            "new-confirm": "Caller-pass-2026",
        },
    )
    assert done.status_code == 302 and done.location.endswith(f"/consumer/cases/{case['id']}")
    db.session.expire_all()
    caller = db.session.get(User, complaint.consumer_id)
    assert caller.email == "zhao@test.example" and caller.active and not caller.claim_pending
    claimed = db.session.scalar(
        db.select(CaseEvent).where(
            CaseEvent.complaint_id == case["id"], CaseEvent.action == "claim"
        )
    )
    assert claimed.details == {"how": "new_account"}
    # The link works once.
    client.post("/auth/logout")
    assert client.get(link).status_code == 404

    # Signed in on their own, the caller sees the case and accepts the offer.
    token = client.post(
        "/api/v1/auth/tokens", json={"email": "zhao@test.example", "password": "Caller-pass-2026"}
    ).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    mine = client.get("/api/v1/complaints", headers=headers).json["items"]
    assert [c["id"] for c in mine] == [case["id"]]
    accepted = client.post(
        f"/api/v1/complaints/{case['id']}/offers/{offer.json['id']}/accept", headers=headers
    )
    assert accepted.status_code == 200 and accepted.json["state"] == "settled"
    assert accepted.json["channel"] == "phone"


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_a_signed_in_consumer_adds_the_case_to_their_account(app, seats, api, client):
    w = seats
    case = api.post(w.seat, "/intake/complaints", json=intake_data(w.enterprise)).json
    sms = db.session.scalar(db.select(Outbox).where(Outbox.channel == "sms"))
    link = _link(sms.body)
    client.post("/auth/login", data={"email": w.consumer.email, "password": PASSWORD})
    answer = client.post(link, data={"link-submit": "1"})
    assert answer.status_code == 302
    db.session.expire_all()
    complaint = db.session.get(Complaint, case["id"])
    assert complaint.consumer_id == w.consumer.id
    assert role_in_case(w.consumer, complaint) == Role.CONSUMER
    assert client.get(link).status_code == 404


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_a_forged_or_altered_claim_link_finds_nothing(seats, api, client):
    w = seats
    api.post(w.seat, "/intake/complaints", json=intake_data(w.enterprise))
    link = _link(db.session.scalar(db.select(Outbox.body).where(Outbox.channel == "sms")))
    assert client.get(link[:-3] + "abc").status_code == 404
    assert client.get("/auth/claim/nonsense").status_code == 404


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_intake_filing_refuses_bad_input_with_every_field_and_writes_nothing(seats, api):
    w = seats
    bad = intake_data(w.enterprise, channel="fax", amount="-1")
    bad["caller"] = {"name": "", "phone": "not a phone"}
    answer = api.post(w.seat, "/intake/complaints", json=bad)
    assert answer.status_code == 422
    assert {"channel", "amount", "caller.name"} <= set(answer.json["error"]["fields"])
    answer = api.post(w.seat, "/intake/complaints", json={**intake_data(), "caller": {}})
    assert answer.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.email.is_(None))) == 0


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_only_intake_staff_file_for_callers(seats, api):
    w = seats
    for user in (w.consumer, w.agent, w.mediator, w.admin):
        answer = api.post(user, "/intake/complaints", json=intake_data(w.enterprise))
        assert answer.status_code == 403
    assert api.post(None, "/intake/complaints", json=intake_data()).status_code == 401


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_consultation_logged_and_transferred_to_another_office(seats, api):
    w = seats
    logged = api.post(
        w.seat,
        "/intake/consultations",
        json={
            "caller": {"name": "钱咨询", "phone": "13600001111"},
            "question": "预付卡商家跑路怎么办？",
            "answer": "可以投诉，并保留购卡凭证。",
            "topic": "prepaid_card",
            "enterprise_id": w.enterprise.id,
        },
    )
    assert logged.status_code == 201, logged.json
    item = logged.json
    assert item["office"]["id"] == w.jinshui.id and item["taken_by"] == w.seat.id
    assert item["channel"] == "phone" and item["transfers"] == []
    assert api.get(w.erqi_seat, f"/intake/consultations/{item['id']}").status_code == 404

    moved = api.post(
        w.seat,
        f"/intake/consultations/{item['id']}/transfer",
        json={"body_id": w.erqi.id, "note": "商家在二七区"},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["office"]["id"] == w.erqi.id
    assert moved.json["transfers"][0]["from_body"]["id"] == w.jinshui.id
    assert moved.json["transfers"][0]["note"] == "商家在二七区"
    # Now Erqi's seats hold it; the seat who took it still sees it; the station does not.
    listed = api.get(w.erqi_seat, "/intake/consultations").json["items"]
    assert [c["id"] for c in listed] == [item["id"]]
    assert api.get(w.seat, f"/intake/consultations/{item['id']}").status_code == 200
    assert api.get(w.station_staff, "/intake/consultations").json["items"] == []
    # Passing it to the office that holds it, or to no office, is refused.
    again = api.post(
        w.erqi_seat, f"/intake/consultations/{item['id']}/transfer", json={"body_id": w.erqi.id}
    )
    assert again.status_code == 422
    nowhere = api.post(
        w.erqi_seat, f"/intake/consultations/{item['id']}/transfer", json={"body_id": 99999}
    )
    assert nowhere.status_code == 422
    assert api.post(w.consumer, "/intake/consultations", json={}).status_code == 403


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_complaint_passed_to_another_office_moves_who_holds_it(seats, api):
    w = seats
    case = api.post(w.station_staff, "/intake/complaints", json=intake_data(w.enterprise)).json
    assert api.get(w.seat, f"/complaints/{case['id']}").status_code == 200  # office holds it
    assert api.get(w.erqi_seat, f"/complaints/{case['id']}").status_code == 404
    moved = api.post(
        w.station_staff,
        f"/complaints/{case['id']}/intake-transfer",
        json={"body_id": w.erqi.id, "note": "来电人住二七区"},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["events"][-1]["action"] == "intake_transfer"
    assert moved.json["state"] == "negotiating"
    assert api.get(w.erqi_seat, f"/complaints/{case['id']}").status_code == 200
    assert api.get(w.station_staff, f"/complaints/{case['id']}").status_code == 200  # took it
    assert api.get(w.seat, f"/complaints/{case['id']}").status_code == 404


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_intake_staff_see_only_what_they_filed_or_their_office_holds(seats, api):
    w = seats
    online = factories.file_case(w.consumer, w.enterprise)
    by_seat = intake.file_for_caller(w.seat, intake_data(w.enterprise))[0]
    by_station = intake.file_for_caller(w.station_staff, intake_data(w.enterprise))[0]
    by_erqi = intake.file_for_caller(w.erqi_seat, intake_data(w.other_enterprise))[0]
    db.session.commit()
    expected = {
        w.seat: {by_seat.id, by_station.id},  # the office holds what its stations take
        w.station_staff: {by_station.id},
        w.erqi_seat: {by_erqi.id},
    }
    everyone = [w.seat, w.station_staff, w.erqi_seat, w.consumer, w.agent, w.mediator, w.admin]
    cases = [online, by_seat, by_station, by_erqi]
    for user in everyone:
        listed = set(db.session.scalars(db.select(Complaint.id).where(cases_visible_to(user))))
        one_by_one = {c.id for c in cases if role_in_case(user, c) is not None}
        assert listed == one_by_one, user.email
        if user in expected:
            assert listed == expected[user]
            api_ids = {c["id"] for c in api.get(user, "/complaints").json["items"]}
            assert api_ids == expected[user]
    # Seeing is not acting: a seat may not answer an offer or act for a party.
    assert api.post(w.seat, f"/complaints/{by_seat.id}/escalate").status_code == 403
    assert api.post(w.seat, f"/complaints/{online.id}/escalate").status_code == 404
    with pytest.raises(Forbidden):
        ops.escalate(w.seat, by_seat)
    # The caller's phone is theirs to see: intake staff who hold it do, others not.
    shown = api.get(w.seat, f"/complaints/{by_seat.id}").json
    assert shown["complainant_phone"] == "13912345678"
    # A closed station's staff may not act.
    w.station.active = False
    db.session.commit()
    assert api.post(w.station_staff, "/intake/complaints", json=intake_data()).status_code in (
        401,
        403,
    )


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_workload_counts_what_the_seat_took(seats, api):
    w = seats
    for _ in range(2):
        api.post(w.seat, "/intake/complaints", json=intake_data(w.enterprise))
    api.post(
        w.seat,
        "/intake/consultations",
        json={"caller": {"name": "孙"}, "question": "问", "answer": "答", "topic": "price"},
    )
    load = api.get(w.seat, "/intake/workload").json
    assert load == {
        "filed": 2,
        "filed_open": 2,
        "awaiting_claim": 2,
        "held_open": 2,
        "consultations": 1,
        "consultations_today": 1,
    }
    assert api.get(w.erqi_seat, "/intake/workload").json["filed"] == 0


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_consumers_who_chose_sms_get_notices_by_sms_and_e_mail(seats, api):
    w = seats
    w.consumer.sms_notices = True
    w.consumer.phone = "13800138000"
    db.session.commit()
    case = factories.file_case(w.consumer, w.enterprise)
    ops.make_offer(w.agent, case, remedy="refund", amount="100", terms="退100元")
    db.session.commit()
    channels = {
        (o.channel, o.recipient)
        for o in db.session.scalars(db.select(Outbox).where(Outbox.channel.in_(["sms", "email"])))
    }
    assert ("sms", "13800138000") in channels and ("email", w.consumer.email) in channels
    # Someone who did not choose SMS and has an e-mail address gets e-mail only.
    assert not any(r == w.other_consumer.phone for c, r in channels if c == "sms")


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_statistics_count_cases_by_channel(seats):
    w = seats
    factories.file_case(w.consumer, w.enterprise)
    intake.file_for_caller(w.seat, intake_data(w.enterprise))
    intake.file_for_caller(w.seat, intake_data(w.enterprise, channel="walk_in"))
    intake.file_for_caller(w.station_staff, intake_data(w.enterprise, channel="walk_in"))
    intake.file_for_caller(w.seat, intake_data(w.enterprise, channel="letter"))
    db.session.commit()
    overview = stats.case_overview()
    assert overview["by_channel"] == {"online": 1, "phone": 1, "walk_in": 2, "letter": 1}
    assert stats.build_dashboard()["overview"]["by_channel"]["walk_in"] == 2
    assert overview["by_state"][State.NEGOTIATING.value] == 5  # ordinary cases


def test_the_console_shows_cases_by_channel(seats, client):
    w = seats
    factories.file_case(w.consumer, w.enterprise)
    intake.file_for_caller(w.seat, intake_data(w.enterprise, channel="letter"))
    db.session.commit()
    client.post("/auth/login", data={"email": w.admin.email, "password": PASSWORD})
    assert 'id="channels' in client.get("/admin/").get_data(as_text=True)
    csv = client.get("/admin/analytics/channels.csv").get_data(as_text=True)
    rows = dict(line.split(",")[0::2] for line in csv.strip().splitlines()[1:])
    assert rows == {"online": "1", "phone": "0", "walk_in": "0", "letter": "1"}


def test_an_intake_filing_sent_twice_with_one_idempotency_key_files_once(seats, api):
    w = seats
    headers = {**api.headers(w.seat), "Idempotency-Key": "call-2026-12-07-0001"}
    body = intake_data(w.enterprise)
    first = api.client.post("/api/v1/intake/complaints", json=body, headers=headers)
    again = api.client.post("/api/v1/intake/complaints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 1
