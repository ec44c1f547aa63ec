"""The mediator's web pages: who sees which case, the acceptance decision, the workspace."""

import html as html_lib
import io
import re
from datetime import timedelta

import pytest

from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.models import (
    Agreement,
    MediationSession,
    Message,
    Notification,
    Outbox,
    Record,
)
from odr.disputes.states import State
from odr.extensions import db
from odr.types import utcnow
from tests.factories import PASSWORD, file_case, shanghai


def login(client, user):
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def pending_case(world, **overrides):
    """A complaint sent straight to the Jinshui office (green channel off)."""
    return file_case(world.consumer, world.enterprise, green_channel=False, **overrides)


def mediating_case(world, mediator=None):
    complaint = pending_case(world)
    ops.accept_case(mediator or world.mediator, complaint)
    db.session.commit()
    return complaint


# -- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/mediation/cases/{id}",
        "/mediation/cases/{id}/acceptance",
    ],
)
def test_mediator_of_another_body_gets_404(world, client, path):
    complaint = pending_case(world)
    login(client, world.other_mediator)  # Laocheng office, not Jinshui
    assert client.get(path.format(id=complaint.id)).status_code == 404
    for action in ("accept", "refuse", "transfer", "messages", "agreement", "terminate"):
        assert client.post(f"/mediation/cases/{complaint.id}/{action}").status_code == 404
    db.session.refresh(complaint)
    assert complaint.state == State.PENDING_ACCEPTANCE


def test_other_roles_are_kept_out_of_the_mediation_pages(world, client):
    complaint = pending_case(world)
    login(client, world.consumer)
    assert client.get(f"/mediation/cases/{complaint.id}").status_code == 403
    assert client.get("/mediation/").status_code == 403


def test_anonymous_is_sent_to_sign_in(world, client):
    response = client.get("/mediation/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_unknown_case_is_404(world, client):
    login(client, world.mediator)
    assert client.get("/mediation/cases/999999").status_code == 404


# -- the queue -----------------------------------------------------------------------------


def test_queue_shows_overdue_and_due_soon_first(world, client):
    now = utcnow()
    today = deadlines.local_date(now)
    later = pending_case(world)  # 7 working days left
    overdue = pending_case(world, now=now - timedelta(days=30))
    soon_start = deadlines.subtract_working_days(today, 6)
    soon = pending_case(world, now=deadlines.start_of_day(soon_start) + timedelta(hours=10))
    login(client, world.head)
    html = client.get("/mediation/").get_data(as_text=True)
    positions = [html.index(c.reference) for c in (overdue, soon, later)]
    assert positions == sorted(positions)
    assert 'data-urgency="0"' in html and 'data-urgency="1"' in html


def test_head_sees_the_whole_body_and_a_mediator_only_theirs_and_unassigned(world, client):
    mine = mediating_case(world, mediator=world.mediator)
    heads = mediating_case(world, mediator=world.head)
    unassigned = pending_case(world)
    login(client, world.mediator)
    html = client.get("/mediation/").get_data(as_text=True)
    assert mine.reference in html and unassigned.reference in html
    assert heads.reference not in html
    client.post("/auth/logout")
    login(client, world.head)
    html = client.get("/mediation/").get_data(as_text=True)
    assert all(c.reference in html for c in (mine, heads, unassigned))
    mine_only = client.get("/mediation/?scope=mine").get_data(as_text=True)
    assert heads.reference in mine_only and mine.reference not in mine_only


def test_queue_filters_by_state(world, client):
    mediating = mediating_case(world)
    pending = pending_case(world)
    login(client, world.head)
    html = client.get("/mediation/?state=pending_acceptance").get_data(as_text=True)
    assert pending.reference in html and mediating.reference not in html
    html = client.get("/mediation/?state=mediating").get_data(as_text=True)
    assert mediating.reference in html and pending.reference not in html
    ops.terminate(world.mediator, mediating, reason="T4")
    db.session.commit()
    html = client.get("/mediation/?state=closed").get_data(as_text=True)
    assert mediating.reference in html
    assert client.get("/mediation/?state=nonsense").status_code == 200


def test_suspended_case_shows_the_paused_clock(world, client):
    complaint = mediating_case(world)
    ops.suspend(world.mediator, complaint, reason="送检")
    db.session.commit()
    login(client, world.mediator)
    html = client.get("/mediation/?state=suspended").get_data(as_text=True)
    assert complaint.reference in html
    assert 'data-clock="paused"' in html


def test_head_assigns_with_the_suggestion_of_the_least_busy_mediator(world, client):
    # The head carries two open cases, the mediator none: the mediator is suggested.
    mediating_case(world, mediator=world.head)
    mediating_case(world, mediator=world.head)
    complaint = pending_case(world)
    login(client, world.head)
    html = client.get("/mediation/").get_data(as_text=True)
    suggested = f'<option selected value="{world.mediator.id}">'
    assert suggested in html
    response = client.post(
        f"/mediation/cases/{complaint.id}/assign",
        data={f"assign{complaint.id}-mediator_id": world.mediator.id},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.mediator_id == world.mediator.id
    assert db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == world.mediator.id, Notification.kind == "assigned"
        )
    )


def test_a_mediator_who_is_not_head_cannot_assign(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/assign",
        data={f"assign{complaint.id}-mediator_id": world.mediator.id},
    )
    assert response.status_code == 403
    db.session.refresh(complaint)
    assert complaint.mediator_id is None


def test_head_reassigns_a_recused_mediator(world, client):
    complaint = mediating_case(world, mediator=world.mediator)
    ops.suspend(world.mediator, complaint, reason="回避")
    db.session.commit()
    login(client, world.head)
    response = client.post(
        f"/mediation/cases/{complaint.id}/reassign",
        data={f"assign{complaint.id}-mediator_id": world.head.id},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.mediator_id == world.head.id


def overdue_at_jinshui(world):
    complaint = pending_case(world, now=shanghai(2026, 10, 12))
    from odr.disputes.sweep import sweep

    sweep(shanghai(2026, 10, 30))
    db.session.expire_all()
    assert complaint.raised_to_body_id == world.city_body.id
    return complaint


def test_parent_office_sees_overdue_cases_of_its_children_and_takes_one_up(world, client):
    complaint = overdue_at_jinshui(world)
    login(client, world.city_mediator)
    html = client.get("/mediation/").get_data(as_text=True)
    assert "raised-row" in html and complaint.reference in html
    assert client.get(f"/mediation/cases/{complaint.id}").status_code == 200
    response = client.post(f"/mediation/cases/{complaint.id}/pull-up")
    assert response.status_code == 302
    db.session.expire_all()
    assert complaint.state == State.MEDIATING
    assert complaint.body_id == world.city_body.id
    assert complaint.mediator_id == world.city_mediator.id
    assert complaint.raised_to_body_id is None


def test_parent_office_hands_an_overdue_case_down_to_another_child(world, client):
    complaint = overdue_at_jinshui(world)
    login(client, world.city_mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/hand-down",
        data={
            f"down{complaint.id}-body_id": world.erqi.id,
            f"down{complaint.id}-reason": "二七区局管辖",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert complaint.body_id == world.erqi.id
    assert complaint.state == State.PENDING_ACCEPTANCE
    assert complaint.raised_to_body_id is None


def test_overdue_acceptance_notifies_the_parent_office(world):
    complaint = overdue_at_jinshui(world)
    notice = db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == world.city_mediator.id,
            Notification.complaint_id == complaint.id,
            Notification.kind == "overdue",
        )
    )
    assert notice is not None


# -- acceptance ----------------------------------------------------------------------------


def test_acceptance_page_offers_reasons_and_bodies_of_other_provinces(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    html = client.get(f"/mediation/cases/{complaint.id}/acceptance").get_data(as_text=True)
    for code in ("R1", "R2", "R3", "R4", "R5", "R6"):
        assert f'value="{code}"' in html
    assert "<optgroup" in html
    assert world.xihu.name in html  # Zhejiang
    assert f'<option value="{world.jinshui.id}"' not in html  # not its own body


def test_accept_starts_the_mediation_clock(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(f"/mediation/cases/{complaint.id}/accept")
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.state == State.MEDIATING
    assert complaint.mediator_id == world.mediator.id
    expected = deadlines.working_day_deadline(complaint.accepted_at, 45)
    assert complaint.deadline_at == expected


def test_refuse_needs_a_reason_and_an_explanation_and_keeps_what_was_typed(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/refuse",
        data={"refuse-explanation": "已由法院受理"},
    )
    assert response.status_code == 422
    assert "已由法院受理" in response.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.state == State.PENDING_ACCEPTANCE


def test_refuse_closes_the_case_and_issues_the_decision(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/refuse",
        data={"refuse-reason": "R2", "refuse-explanation": "已由法院受理"},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.state == State.REFUSED
    assert complaint.refusal_reason == "R2"
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == complaint.id))
    assert record.kind == "refusal"


def test_transfer_to_another_province_restarts_the_acceptance_clock(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/transfer",
        data={"transfer-body_id": world.xihu.id, "transfer-reason": "经营者实际在杭州"},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.body_id == world.xihu.id
    assert complaint.state == State.PENDING_ACCEPTANCE
    assert complaint.deadline_at == deadlines.working_day_deadline(complaint.arrived_at, 7)
    # The Jinshui mediator no longer has the case.
    assert client.get(f"/mediation/cases/{complaint.id}").status_code == 404


def test_transfer_without_a_reason_is_refused_with_the_form_kept(world, client):
    complaint = pending_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/transfer", data={"transfer-body_id": world.xihu.id}
    )
    assert response.status_code == 422
    db.session.refresh(complaint)
    assert complaint.body_id == world.jinshui.id


# -- the workspace -------------------------------------------------------------------------


def test_workspace_shows_the_whole_file(world, client, tmp_path):
    complaint = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(
        world.agent, complaint, remedy="refund", amount="600.00", terms="退一半货款"
    )
    ops.reject_offer(world.consumer, complaint, offer.id, counter_proposal="要求全额退款")
    ops.post_message(world.consumer, complaint, "拉链坏了，照片见附件。")
    from odr.disputes.evidence import store_evidence

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    import io

    item = store_evidence(world.consumer, io.BytesIO(png), "zipper.png", complaint=complaint)
    ops.escalate(world.consumer, complaint)
    db.session.commit()
    login(client, world.mediator)
    html = client.get(f"/mediation/cases/{complaint.id}").get_data(as_text=True)
    for text in (
        "退一半货款",
        "要求全额退款",
        "拉链坏了，照片见附件。",
        "zipper.png",
        complaint.facts,
    ):
        assert text in html
    with client.get(f"/mediation/cases/{complaint.id}/evidence/{item.id}") as download:
        assert download.status_code == 200
        assert download.data == png


def test_thread_and_private_notes(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    client.post(
        f"/mediation/cases/{complaint.id}/messages",
        data={"kind": "message", "msg-body": "请双方于周五前提交材料。"},
    )
    client.post(
        f"/mediation/cases/{complaint.id}/messages",
        data={"kind": "note", "note-body": "经营者态度消极，注意。"},
    )
    messages = db.session.scalars(
        db.select(Message).where(Message.complaint_id == complaint.id).order_by(Message.id)
    ).all()
    assert [(m.body, m.internal) for m in messages] == [
        ("请双方于周五前提交材料。", False),
        ("经营者态度消极，注意。", True),
    ]
    # The parties are told of the message, never of the note.
    kinds = db.session.scalars(
        db.select(Notification.kind).where(Notification.user_id == world.consumer.id)
    ).all()
    assert kinds.count("message") == 1
    html = client.get(f"/mediation/cases/{complaint.id}").get_data(as_text=True)
    assert "经营者态度消极，注意。" in html
    empty = client.post(
        f"/mediation/cases/{complaint.id}/messages", data={"kind": "note", "note-body": " "}
    )
    assert empty.status_code == 422


def test_schedule_a_session_and_notify_the_parties(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    day = deadlines.local_date(utcnow()) + timedelta(days=3)
    response = client.post(
        f"/mediation/cases/{complaint.id}/sessions",
        data={
            "sess-day": day.isoformat(),
            "sess-time": "14:30",
            "sess-mode": "in_person",
            "sess-place": "金水区市场监管局三楼调解室",
        },
    )
    assert response.status_code == 302
    session = db.session.scalar(
        db.select(MediationSession).where(MediationSession.complaint_id == complaint.id)
    )
    assert session.mode == "in_person"
    assert deadlines.local_date(session.starts_at) == day
    assert session.starts_at.astimezone(deadlines.SHANGHAI).hour == 14
    for user in (world.consumer, world.owner):
        assert db.session.scalar(
            db.select(Notification).where(
                Notification.user_id == user.id, Notification.kind == "session_scheduled"
            )
        )
    assert db.session.scalar(
        db.select(db.func.count(Outbox.id)).where(Outbox.recipient == world.consumer.email)
    )


def test_an_on_site_session_needs_a_place_and_a_future_date(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    day = deadlines.local_date(utcnow()) + timedelta(days=3)
    response = client.post(
        f"/mediation/cases/{complaint.id}/sessions",
        data={"sess-day": day.isoformat(), "sess-time": "09:00", "sess-mode": "in_person"},
    )
    assert response.status_code == 422
    past = client.post(
        f"/mediation/cases/{complaint.id}/sessions",
        data={"sess-day": "2020-01-02", "sess-time": "09:00", "sess-mode": "online"},
    )
    assert past.status_code == 422
    assert db.session.scalar(db.select(db.func.count(MediationSession.id))) == 0


def test_suspend_pauses_and_resume_restarts_the_clock(world, client):
    complaint = pending_case(world, now=shanghai(2026, 10, 12))
    ops.accept_case(world.mediator, complaint, now=shanghai(2026, 10, 13))
    db.session.commit()
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/suspend",
        data={"susp-kind": "testing", "susp-reason": "羽绒服送检"},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.state == State.SUSPENDED
    assert complaint.deadline_at is None
    assert complaint.clock_days_left is not None
    left = complaint.clock_days_left
    response = client.post(f"/mediation/cases/{complaint.id}/resume")
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.state == State.MEDIATING
    assert complaint.deadline_at == deadlines.working_day_deadline(utcnow(), left)


def test_propose_agreement_and_see_who_signed(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/agreement",
        data={
            "agr-terms": "被申请人退还货款。",
            "agr-amount": "1299.00",
            "agr-performance_due": "2026-12-15",
        },
    )
    assert response.status_code == 302
    agreement = db.session.scalar(
        db.select(Agreement).where(Agreement.complaint_id == complaint.id)
    )
    assert agreement.terms == "被申请人退还货款。"
    assert str(agreement.amount) == "1299.00"
    ops.sign_agreement(world.consumer, complaint, ip_address="203.0.113.9")
    db.session.commit()
    html = client.get(f"/mediation/cases/{complaint.id}").get_data(as_text=True)
    assert 'data-party="consumer" data-signed="yes"' in html
    assert "203.0.113.9" in html
    assert 'data-party="enterprise" data-signed="no"' in html


def test_an_agreement_with_a_bad_amount_is_refused_and_kept(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    response = client.post(
        f"/mediation/cases/{complaint.id}/agreement",
        data={"agr-terms": "被申请人退还货款。", "agr-amount": "-5"},
    )
    assert response.status_code == 422
    assert "被申请人退还货款。" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Agreement.id))) == 0


def test_terminate_with_a_reason_issues_the_decision(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    html = client.get(f"/mediation/cases/{complaint.id}").get_data(as_text=True)
    assert 'value="T5"' not in html  # the clock decides T5, never a mediator
    response = client.post(
        f"/mediation/cases/{complaint.id}/terminate",
        data={"term-reason": "T4", "term-explanation": "经营者明确表示不同意调解方案。"},
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.state == State.TERMINATED
    assert complaint.termination_reason == "T4"
    kinds = db.session.scalars(db.select(Record.kind).where(Record.complaint_id == complaint.id))
    assert list(kinds) == ["termination"]


def test_issue_the_case_file_and_download_it(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    response = client.post(f"/mediation/cases/{complaint.id}/case-file")
    assert response.status_code == 302
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == complaint.id))
    assert record.kind == "case_file"
    first = client.get(f"/mediation/cases/{complaint.id}/records/{record.code}.pdf")
    again = client.get(f"/mediation/cases/{complaint.id}/records/{record.code}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data == again.data
    assert first.headers["X-Record-SHA256"] == record.sha256
    # The parties are told a record was issued.
    assert db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == world.consumer.id, Notification.kind == "record_issued"
        )
    )


def test_a_record_of_another_case_is_not_served_through_this_one(world, client):
    first = mediating_case(world)
    second = mediating_case(world)
    from odr.disputes.records import issue_case_file

    record = issue_case_file(world.mediator, second)
    db.session.commit()
    login(client, world.mediator)
    assert client.get(f"/mediation/cases/{first.id}/records/{record.code}.pdf").status_code == 404


def test_workspace_pages_render_in_english(world, client):
    complaint = mediating_case(world)
    login(client, world.mediator)
    client.get("/lang/en")
    html = client.get(f"/mediation/cases/{complaint.id}").get_data(as_text=True)
    assert "Mediation agreement" in html
    html = client.get("/mediation/").get_data(as_text=True)
    assert "Mediation queue" in html


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("accept", {"accept-submit": "x"}),
        ("refuse", {"refuse-reason": "R9", "refuse-explanation": "x" * 6000}),
        ("transfer", {"transfer-body_id": "abc", "transfer-reason": "x"}),
        ("transfer", {"transfer-body_id": "999999", "transfer-reason": "x"}),
        ("assign", {"assign1-mediator_id": "not-a-number"}),
        ("reassign", {"assign1-mediator_id": "999999"}),
        ("pull-up", {}),
        ("hand-down", {"down1-body_id": "x"}),
        ("messages", {"kind": "message", "msg-body": ""}),
        ("sessions", {"sess-day": "31/02/2026", "sess-time": "25:99", "sess-mode": "boat"}),
        ("suspend", {"susp-kind": "holiday", "susp-reason": ""}),
        ("resume", {}),
        ("agreement", {"agr-terms": "", "agr-amount": "1e999", "agr-performance_due": "soon"}),
        ("terminate", {"term-reason": "T5", "term-explanation": "x"}),
        ("case-file", {}),
    ],
)
def test_bad_input_never_breaks_a_page(world, client, action, data):
    complaint = mediating_case(world)
    login(client, world.head)
    data = {k.replace("1-", f"{complaint.id}-", 1): v for k, v in data.items()}
    response = client.post(f"/mediation/cases/{complaint.id}/{action}", data=data)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    db.session.refresh(complaint)
    if action not in ("case-file",):
        assert complaint.state in (State.MEDIATING, State.PENDING_ACCEPTANCE)


def test_bad_verification_input_never_breaks_the_page(world, client):
    assert client.get("/verify", query_string={"code": "x" * 500}).status_code == 200
    assert client.get("/verify/" + "A" * 300).status_code == 404
    response = client.post(
        "/verify/ABCDEFGHJKLMNPQR",
        data={"pdf": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404  # no such record: nothing to compare with
    response = client.post("/verify", data={"pdf": "not a file"})
    assert response.status_code in (400, 422)


def test_private_notes_never_reach_the_parties(world, client, api):
    complaint = mediating_case(world)
    ops.post_message(world.mediator, complaint, "给双方的消息")
    ops.post_message(world.mediator, complaint, "仅供调解员：经营者可能让步", internal=True)
    db.session.commit()
    for user, path in (
        (world.consumer, f"/consumer/cases/{complaint.id}"),
        (world.owner, f"/merchant/cases/{complaint.id}"),
    ):
        login(client, user)
        html = client.get(path).get_data(as_text=True)
        assert "给双方的消息" in html, path
        assert "仅供调解员" not in html, path
        client.post("/auth/logout")
        detail = api.get(user, f"/complaints/{complaint.id}").get_data(as_text=True)
        assert "仅供调解员" not in detail


def queue_order(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="queue-row[^"]*" data-case="(\d+)"', html)]


def test_queue_pages_at_50_and_the_next_page_continues_in_urgency_order(world, client):
    from odr.mediation.queue import PAGE_SIZE

    now = utcnow()
    # Pending cases filed over 60 days (overdue, due soon, running), a few mediating and
    # suspended ones: more than two pages.
    cases = [pending_case(world, now=now - timedelta(days=i % 20)) for i in range(PAGE_SIZE + 8)]
    for _ in range(4):
        cases.append(mediating_case(world))
    for complaint in cases[-2:]:
        ops.suspend(world.mediator, complaint, reason="送检")
    for complaint in (pending_case(world), pending_case(world)):
        cases.append(complaint)
    db.session.commit()
    login(client, world.head)
    first = client.get("/mediation/").get_data(as_text=True)
    shown = queue_order(first)
    assert len(shown) == PAGE_SIZE
    assert 'id="next-page"' in first and 'id="first-page"' not in first
    link = html_lib.unescape(re.search(r'id="next-page" rel="next" href="([^"]+)"', first)[1])
    second = client.get(link).get_data(as_text=True)
    shown += queue_order(second)
    assert 'id="next-page"' not in second and 'id="first-page"' in second
    assert sorted(shown) == sorted(c.id for c in cases)  # every case once
    # The urgency order runs on across the pages: the running clocks by deadline, then
    # the paused ones.
    by_id = {c.id: c for c in cases}
    db.session.expire_all()
    keys = []
    for case_id in shown:
        complaint = db.session.get(type(by_id[case_id]), case_id)
        paused = complaint.state == State.SUSPENDED
        keys.append((paused, complaint.deadline_at if not paused else None, case_id))
    running = [k for k in keys if not k[0]]
    assert running == sorted(running)
    assert keys[-2:] == sorted(k for k in keys if k[0])
    assert all(c.reference in first + second for c in cases)
    # Every row of either page keeps its action (assignment with a suggestion, decide).
    assert first.count('class="d-flex gap-1 assign-form"') == PAGE_SIZE
    assert "<option selected value=" in second


def test_queue_cursor_that_is_bad_starts_at_the_first_page(world, client):
    complaint = pending_case(world)
    login(client, world.head)
    for cursor in ("nonsense", "eyJzIjoiYSJ9", "%00"):
        response = client.get(f"/mediation/?cursor={cursor}&raised={cursor}")
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            assert complaint.reference in response.get_data(as_text=True)


def test_closed_cases_page_newest_first(world, client):
    from odr.mediation import queue as q

    closed = []
    for _ in range(5):
        complaint = mediating_case(world)
        ops.terminate(world.mediator, complaint, reason="T4")
        closed.append(complaint)
    db.session.commit()
    rows, cursor = q.queue_page(world.head, state="closed", size=3)
    assert len(rows) == 3 and cursor
    more, end = q.queue_page(world.head, state="closed", size=3, cursor=cursor)
    assert end is None
    ids = [r.complaint.id for r in rows + more]
    assert sorted(ids) == sorted(c.id for c in closed) and len(set(ids)) == 5
