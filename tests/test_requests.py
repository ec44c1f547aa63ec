"""Consultations, reports and suggestions: filed by consumers, routed to an office, each
with its own clock on real working days; a report is verified within 15 working days,
extendable once by 15, and closed with a filing decision told to a real-name reporter."""

from datetime import date

import pytest

from odr.disputes import deadlines, stats
from odr.disputes import requests as service
from odr.disputes.models import Notification, Outbox, RequestKind, ServiceRequest
from odr.disputes.states import InvalidTransition, NotFound
from odr.extensions import db
from tests.factories import PASSWORD, shanghai


def login(client, user):
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return client


def report(w, *, real_name=True, now=None, **extra):
    data = {
        "enterprise_id": w.enterprise.id,
        "subject": "无证经营",
        "text": "店内销售过期食品。",
        "real_name": real_name,
        **extra,
    }
    item = service.file_request(w.consumer, "report", data, now=now or shanghai(2026, 9, 29))
    db.session.commit()
    return item


def test_a_report_goes_to_the_office_of_the_enterprises_region_with_a_15_day_clock(world):
    item = report(world)
    assert item.reference.startswith("JB-2026-")
    assert item.body_id == world.jinshui.id  # the enterprise is in Jinshui (410105)
    # 15 working days from Tue 29 Sep 2026 across the National Day holiday, with the
    # make-up working day Sat 10 Oct counted: Mon 26 Oct.
    assert deadlines.local_date(item.deadline_at) == date(2026, 10, 26)


def test_the_verification_is_extended_once_by_15_working_days(world):
    item = report(world)
    service.extend_report(world.mediator, item, "需要抽检")
    db.session.commit()
    assert item.extended and item.extension_reason == "需要抽检"
    assert deadlines.local_date(item.deadline_at) == date(2026, 11, 16)
    with pytest.raises(InvalidTransition):
        service.extend_report(world.mediator, item, "again")


def test_only_the_office_or_the_regulator_handles_a_report(world):
    item = report(world)
    for outsider in (world.other_mediator, world.owner, world.agent, world.other_consumer):
        with pytest.raises(NotFound):
            service.decide_report(outsider, item, "filed", "立案")
    service.decide_report(world.admin, item, "not_filed", "证据不足")
    assert item.state == "closed" and item.outcome == "not_filed"


def test_a_real_name_reporter_is_told_the_decision_and_an_anonymous_one_is_not(world):
    named = report(world)
    anonymous = report(world, real_name=False)
    for item in (named, anonymous):
        service.decide_report(world.mediator, item, "filed", "已立案调查。")
    db.session.commit()
    notices = db.session.scalars(
        db.select(Notification).where(
            Notification.user_id == world.consumer.id, Notification.kind == "report_decided"
        )
    ).all()
    assert [n.params["reference"] for n in notices] == [named.reference]
    mails = db.session.scalars(
        db.select(Outbox).where(Outbox.recipient == world.consumer.email)
    ).all()
    assert len(mails) == 1 and "已立案调查。" in mails[0].body
    assert named.reference in mails[0].subject


def test_consultations_go_to_the_consumers_region_and_suggestions_to_the_regulator(world):
    now = shanghai(2026, 11, 2)
    question = service.file_request(
        world.consumer, "consultation", {"subject": "退货", "text": "七天无理由？"}, now=now
    )
    idea = service.file_request(
        world.consumer, "suggestion", {"subject": "建议", "text": "增加夜间客服"}, now=now
    )
    db.session.commit()
    assert question.body_id == world.jinshui.id and question.reference.startswith("ZX-")
    assert idea.body_id is None and idea.reference.startswith("JY-")
    assert deadlines.local_date(question.deadline_at) == date(2026, 11, 11)  # 7 working days
    assert deadlines.local_date(idea.deadline_at) == date(2026, 11, 23)  # 15 working days
    # The regulator hears of the suggestion, the Jinshui office of the question.
    admin_notes = db.session.scalars(
        db.select(Notification.params).where(Notification.user_id == world.admin.id)
    ).all()
    assert [p["reference"] for p in admin_notes] == [idea.reference]


def test_answering_needs_text_and_closes(world):
    question = service.file_request(
        world.consumer, "consultation", {"subject": "退货", "text": "七天无理由？"}
    )
    from odr.disputes.states import Invalid

    with pytest.raises(Invalid):
        service.answer_request(world.mediator, question, "  ")
    service.answer_request(world.mediator, question, "可以退货。")
    assert question.state == "closed" and question.outcome == "answered"
    with pytest.raises(InvalidTransition):
        service.answer_request(world.mediator, question, "again")


# -- the web -----------------------------------------------------------------------------


def test_a_consumer_files_each_kind_on_the_web_and_follows_it(world, client):
    login(client, world.consumer)
    assert client.get("/consumer/requests/").status_code == 200
    for kind in ("consultation", "report", "suggestion"):
        assert client.get(f"/consumer/requests/new/{kind}").status_code == 200
    response = client.post(
        "/consumer/requests/new/report",
        data={
            "enterprise_id": str(world.enterprise.id),
            "subject": "虚假宣传",
            "text": "广告称“全网最低价”。",
            "real_name": "y",
        },
    )
    assert response.status_code == 302
    item = db.session.scalar(db.select(ServiceRequest))
    assert item.kind == RequestKind.REPORT and item.real_name
    page = client.get(f"/consumer/requests/{item.id}").get_data(as_text=True)
    assert item.reference in page and "虚假宣传" in page
    listing = client.get("/consumer/requests/?kind=report").get_data(as_text=True)
    assert item.reference in listing
    assert client.get("/consumer/requests/new/complaint").status_code == 404


def test_bad_input_re_renders_with_messages_and_keeps_what_was_typed(world, client):
    login(client, world.consumer)
    response = client.post(
        "/consumer/requests/new/report",
        data={"enterprise_id": "", "respondent_name": "", "subject": "标题保留", "text": "x"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "标题保留" in html and "is-invalid" in html
    response = client.post(
        "/consumer/requests/new/report",
        data={"enterprise_id": "999999", "subject": "s", "text": "t"},
    )
    assert response.status_code == 422
    response = client.post(
        "/consumer/requests/new/report",
        data={"respondent_name": "无名小店", "region_code": "410103", "subject": "s", "text": "t"},
    )
    assert response.status_code == 302
    item = db.session.scalar(db.select(ServiceRequest))
    assert item.respondent_name == "无名小店" and item.body_id == world.erqi.id


def test_another_consumer_and_enterprises_cannot_open_a_request(world, client):
    item = report(world)
    login(client, world.other_consumer)
    assert client.get(f"/consumer/requests/{item.id}").status_code == 404
    login(client, world.owner)
    for path in (
        "/consumer/requests/",
        f"/consumer/requests/{item.id}",
        "/office/requests",
        f"/office/requests/{item.id}",
        f"/admin/requests/{item.id}",
    ):
        assert client.get(path).status_code == 403, path


def test_the_office_verifies_extends_and_decides_on_the_web(world, client):
    item = report(world)
    login(client, world.other_mediator)
    assert client.get(f"/office/requests/{item.id}").status_code == 404
    assert item.reference not in client.get("/office/requests").get_data(as_text=True)
    login(client, world.mediator)
    listing = client.get("/office/requests?kind=report").get_data(as_text=True)
    assert item.reference in listing
    page = client.get(f"/office/requests/{item.id}").get_data(as_text=True)
    assert world.consumer.name in page  # a real-name report shows the reporter to the office
    response = client.post(f"/office/requests/{item.id}/extend", data={"reason": ""})
    assert response.status_code == 422
    response = client.post(f"/office/requests/{item.id}/extend", data={"reason": "需要检测"})
    assert response.status_code == 302
    response = client.post(f"/office/requests/{item.id}/extend", data={"reason": "再次"})
    assert response.status_code == 302  # refused with a message
    db.session.expire_all()
    assert deadlines.local_date(db.session.get(ServiceRequest, item.id).deadline_at) == date(
        2026, 11, 16
    )
    response = client.post(
        f"/office/requests/{item.id}/decide", data={"outcome": "filed", "answer": "已立案。"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(ServiceRequest, item.id)
    assert closed.state == "closed" and closed.outcome == "filed"
    assert closed.handled_by_id == world.mediator.id
    login(client, world.consumer)
    assert "已立案。" in client.get(f"/consumer/requests/{item.id}").get_data(as_text=True)


def test_an_anonymous_reporter_is_hidden_from_the_office(world, client):
    item = report(world, real_name=False)
    login(client, world.mediator)
    page = client.get(f"/office/requests/{item.id}").get_data(as_text=True)
    assert world.consumer.name not in page and world.consumer.email not in page


def test_the_regulator_answers_a_suggestion_in_the_console(world, client):
    idea = service.file_request(
        world.consumer, "suggestion", {"subject": "建议", "text": "增加夜间客服"}
    )
    db.session.commit()
    login(client, world.admin)
    assert idea.reference in client.get("/admin/requests").get_data(as_text=True)
    response = client.post(f"/admin/requests/{idea.id}/answer", data={"answer": "感谢建议。"})
    assert response.status_code == 302
    assert client.post(f"/admin/requests/{idea.id}/bogus", data={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ServiceRequest, idea.id).outcome == "answered"


def test_requests_are_counted_in_the_analytics(world):
    now = shanghai(2026, 11, 2)
    report(world, now=now)
    late = report(world, now=shanghai(2026, 9, 1))  # due 2026-09-22, still open
    on_time = service.file_request(
        world.consumer, "consultation", {"subject": "s", "text": "t"}, now=now
    )
    service.answer_request(world.mediator, on_time, "answer", now=shanghai(2026, 11, 3))
    db.session.commit()
    overview = stats.request_overview(now=shanghai(2026, 11, 4))
    assert overview[RequestKind.REPORT]["total"] == 2
    assert overview[RequestKind.REPORT]["open"] == 2
    assert overview[RequestKind.REPORT]["overdue"] == 1
    assert overview[RequestKind.REPORT]["on_time_rate"] == 0.0
    assert overview[RequestKind.CONSULTATION]["on_time_rate"] == 1.0
    assert overview[RequestKind.SUGGESTION]["total"] == 0
    assert late.state == "open"
