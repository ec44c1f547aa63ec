"""What a person meets on the way (issue 18), through the API and the domain: sessions the
parties can read (when and where, the .ics file, the reminder the working day before),
notifications that are read when the case is, whose turn it is, and records rendered
after the commit."""

from datetime import time, timedelta

import icalendar
from pypdf import PdfReader

from odr.disputes import deadlines, records, sessions, turns
from odr.disputes import operations as ops
from odr.disputes.choices import RecordKind
from odr.disputes.models import Notification, Outbox, Record
from odr.disputes.notifications import notification_text, written
from odr.disputes.states import Role
from odr.disputes.sweep import sweep
from odr.types import utcnow
from tests.factories import file_case, shanghai


def mediating_case(db, world):
    complaint = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, complaint)
    ops.accept_case(world.mediator, complaint)
    db.session.commit()
    return complaint


def schedule(world, complaint, *, days=5, **fields):
    values = {"mode": "in_person", "place": "金水区市场监管局三楼调解室"} | fields
    return sessions.schedule_session(
        world.mediator,
        complaint,
        day=deadlines.local_date(utcnow()) + timedelta(days=days),
        at=time(14, 30),
        until=time(16),
        **values,
    )


def test_the_parties_read_a_session_with_when_and_where_and_its_calendar_file(world, api, db):
    case = mediating_case(db, world)
    session = schedule(world, case, note="请携带购物凭证")
    db.session.commit()
    base = f"/complaints/{case.id}"

    for party in (world.consumer, world.agent, world.mediator):
        [item] = api.get(party, base).get_json()["sessions"]
        assert item["mode"] == "in_person" and item["place"] == "金水区市场监管局三楼调解室"
        assert item["starts_at"].endswith("+00:00") and item["link"] is None
        assert item["note"] == "请携带购物凭证"
    assert "sessions" not in api.get(world.admin, base).get_json()  # parties and mediator

    ics = api.get(world.consumer, f"{base}/sessions/{session.id}.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    event = next(iter(icalendar.Calendar.from_ical(ics.data).walk("VEVENT")))
    assert event["location"] == "金水区市场监管局三楼调解室"
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)
    assert case.reference in str(event["summary"])
    # Nobody else, and no other case's session.
    assert api.get(world.other_consumer, f"{base}/sessions/{session.id}.ics").status_code == 404
    assert api.get(world.admin, f"{base}/sessions/{session.id}.ics").status_code == 404
    assert api.get(world.consumer, f"{base}/sessions/999999.ics").status_code == 404


def test_the_notice_and_the_e_mail_say_when_and_where(world, db):
    case = mediating_case(db, world)
    schedule(world, case, mode="online", place=None, link="https://meeting.example.cn/j/42")
    db.session.commit()
    notice = db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == world.consumer.id, Notification.kind == "session_scheduled"
        )
    )
    text = notification_text(notice.kind, notice.params)
    assert "https://meeting.example.cn/j/42" in text and "14:30–16:00" in text
    mails = db.session.scalars(
        db.select(Outbox).where(Outbox.recipient == world.consumer.email)
    ).all()
    bodies = [written(item)[1] for item in mails]
    [body] = [b for b in bodies if "14:30" in b]
    assert "https://meeting.example.cn/j/42" in body
    assert f"/consumer/cases/{case.id}#sessions" in body


def test_an_online_session_needs_a_way_to_join(world, db):
    case = mediating_case(db, world)
    try:
        schedule(world, case, mode="online", place=None)
    except sessions.Invalid as exc:
        assert "link" in exc.fields
    else:  # pragma: no cover
        raise AssertionError("an online session without a link was scheduled")
    db.session.rollback()


def test_the_sweep_reminds_of_a_session_on_the_working_day_before(world, db):
    # Monday 2026-10-12 10:00: a session on Monday 2026-10-19 at 14:30.
    case = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 9))
    ops.escalate(world.consumer, case, now=shanghai(2026, 10, 9))
    ops.accept_case(world.mediator, case, now=shanghai(2026, 10, 12))
    session = sessions.schedule_session(
        world.mediator,
        case,
        day=shanghai(2026, 10, 19).date(),
        at=time(14, 30),
        mode="phone",
        now=shanghai(2026, 10, 12),
    )
    db.session.commit()

    def reminded():
        return db.session.scalar(
            db.select(db.func.count(Notification.id)).where(
                Notification.kind == "session_reminder", Notification.user_id == world.consumer.id
            )
        )

    sweep(shanghai(2026, 10, 15, 9))  # Thursday: too early
    assert reminded() == 0
    report = sweep(shanghai(2026, 10, 16, 9))  # Friday, the working day before Monday
    assert any(a == "session_reminded" for _, a, _ in report.actions)
    assert reminded() == 1
    sweep(shanghai(2026, 10, 17, 9))  # Saturday: not twice
    assert reminded() == 1
    db.session.refresh(session)
    assert session.reminded_at is not None


def test_notifications_are_listed_marked_read_and_only_by_their_owner(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    ops.make_offer(
        world.agent, case, remedy="refund", amount="100.00", terms="退款", performance_due=None
    )
    ops.post_message(world.agent, case, "请查收方案")
    other = file_case(world.other_consumer, world.enterprise)
    ops.post_message(world.agent, other, "您好")
    db.session.commit()

    unread = api.get(world.consumer, "/notifications?unread=1&limit=1")
    assert unread.status_code == 200
    page = unread.get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    item = page["items"][0]
    assert (
        item["complaint_id"] == case.id and item["read"] is False and case.reference in item["text"]
    )
    rest = api.get(world.consumer, f"/notifications?unread=1&cursor={page['next_cursor']}")
    assert len(rest.get_json()["items"]) == 1

    # Someone else's notice does not exist for them.
    theirs = db.session.scalar(
        db.select(Notification.id).where(Notification.user_id == world.other_consumer.id)
    )
    assert api.post(world.consumer, f"/notifications/{theirs}/read").status_code == 404
    assert api.post(world.consumer, "/notifications/2147483648/read").status_code == 404
    one = api.post(world.consumer, f"/notifications/{item['id']}/read")
    assert one.status_code == 200 and one.get_json()["read"] is True
    assert len(api.get(world.consumer, "/notifications?unread=1").get_json()["items"]) == 1

    # Opening the case reads its notices.
    assert api.get(world.consumer, f"/complaints/{case.id}").status_code == 200
    assert api.get(world.consumer, "/notifications?unread=1").get_json()["items"] == []
    assert len(api.get(world.consumer, "/notifications").get_json()["items"]) == 2

    # Read-all touches only the caller's.
    done = api.post(world.other_consumer, "/notifications/read-all")
    assert done.status_code == 200 and done.get_json()["marked"] >= 1
    assert api.get(world.other_consumer, "/notifications?unread=1").get_json()["items"] == []


def test_whose_turn_it_is_follows_the_case(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    db.session.commit()
    base = f"/complaints/{case.id}"

    def turn(user):
        found = api.get(user, base).get_json()["your_turn"]
        return found and found["step"]

    assert turn(world.agent) == "answer_complaint" and turn(world.consumer) is None
    offer = ops.make_offer(
        world.agent, case, remedy="refund", amount="100.00", terms="退款", performance_due=None
    )
    db.session.commit()
    assert turn(world.consumer) == "answer_offer" and turn(world.agent) is None
    assert api.get(world.consumer, base).get_json()["your_turn"]["due"] is not None
    ops.reject_offer(world.consumer, case, offer.id, counter_proposal="全额退款")
    db.session.commit()
    assert turn(world.agent) == "answer_rejection" and turn(world.consumer) is None
    ops.escalate(world.consumer, case)
    db.session.commit()
    assert turn(world.mediator) == "decide_acceptance" and turn(world.agent) is None
    ops.accept_case(world.mediator, case)
    ops.propose_agreement(world.mediator, case, terms="退款80元", amount="80.00")
    db.session.commit()
    assert turn(world.mediator) is None
    assert turn(world.consumer) == turn(world.agent) == "sign_agreement"

    # The lists ask the same expression, in their own query.
    c = turns.Complaint.__table__.c
    waiting = db.session.scalars(
        db.select(c.id).where(
            turns.waiting_on(Role.CONSUMER, c), c.consumer_id == world.consumer.id
        )
    ).all()
    assert waiting == [case.id]


def test_an_accepted_offer_answers_at_once_and_its_record_is_rendered_later(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(
        world.agent,
        case,
        remedy="refund",
        amount="100.00",
        terms="退款一百元",
        performance_due=None,
    )
    db.session.commit()
    accepted = api.post(world.consumer, f"/complaints/{case.id}/offers/{offer.id}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "settled"
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == case.id))
    assert record.kind == RecordKind.SETTLEMENT and not record.ready  # issued, not rendered

    # The worker renders it: the PDF shows the case as it was when the record was issued.
    assert records.render_due() == 1
    db.session.refresh(record)
    assert record.ready and record.context is None
    text = "".join(page.extract_text() for page in PdfReader(record_path(record)).pages)
    assert record.code in text.replace(" ", "") and "100.00" in text
    assert records.render_due() == 0


def test_a_record_asked_for_before_the_worker_renders_it_is_rendered_on_demand(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(
        world.agent, case, remedy="refund", amount="50.00", terms="退款", performance_due=None
    )
    ops.accept_offer(world.consumer, case, offer.id)
    db.session.commit()
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == case.id))
    assert not record.ready
    listed = api.get(world.consumer, f"/complaints/{case.id}/records").get_json()["items"]
    assert listed[0]["sha256"] and len(listed[0]["sha256"]) == 64
    pdf = api.get(world.agent, f"/records/{record.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(pdf.data).hexdigest() == listed[0]["sha256"]
    assert records.render_due() == 0  # nothing left for the worker


def record_path(record):
    from pathlib import Path

    from flask import current_app

    return Path(current_app.config["RECORD_DIR"]) / record.path


def test_the_api_list_marks_and_filters_the_cases_waiting_on_the_caller(world, api, db):
    waiting = file_case(world.consumer, world.enterprise)
    quiet = file_case(world.consumer, world.enterprise)
    ops.make_offer(world.agent, waiting, remedy="refund", amount="100.00", terms="退款")
    db.session.commit()

    def listed(user, query=""):
        return {
            i["id"]: i["your_turn"]
            for i in api.get(user, "/complaints" + query).get_json()["items"]
        }

    mine = listed(world.consumer)
    assert mine[waiting.id]["step"] == "answer_offer" and mine[quiet.id] is None
    assert set(listed(world.consumer, "?your_turn=1")) == {waiting.id}
    # The enterprise's turn is the other case: it has no answer yet.
    assert set(listed(world.agent, "?your_turn=1")) == {quiet.id}
    assert listed(world.agent)[quiet.id]["step"] == "answer_complaint"
    # The regulator takes no turn: the list is the same with or without the filter.
    assert listed(world.admin, "?your_turn=1") == listed(world.admin)
    assert all(turn is None for turn in listed(world.admin).values())
