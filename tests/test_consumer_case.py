"""My cases and the case page: who sees what, every action through its operation, files
served only to the case's parties and mediator."""

import io
import re
from datetime import timedelta

import pytest

from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.evidence import store_evidence
from odr.disputes.models import Complaint, Message, Offer, Record, Signature
from odr.extensions import db
from odr.types import utcnow
from tests.factories import PASSWORD, file_case
from tests.test_consumer_wizard import in_language, login, png_bytes, text


def yesterday() -> str:
    return (deadlines.local_date(utcnow()) - timedelta(days=1)).isoformat()


def new_case(world, consumer=None, **overrides):
    overrides.setdefault("purchase_date", yesterday())
    return file_case(consumer or world.consumer, world.enterprise, **overrides)


def offer_on(world, complaint, amount="800.00"):
    offer = ops.make_offer(
        world.agent, complaint, remedy="refund", amount=amount, terms="退款八百元，三日内到账。"
    )
    db.session.commit()
    return offer


def in_mediation(world, complaint):
    ops.escalate(world.consumer, complaint, reason="谈不拢")
    ops.accept_case(world.mediator, complaint)
    agreement = ops.propose_agreement(
        world.mediator, complaint, terms="企业退款一千元。", amount="1000.00"
    )
    db.session.commit()
    return agreement


def test_my_cases_lists_own_cases_with_badges_and_who_must_act(client, world):
    mine = new_case(world)
    theirs = new_case(world, world.other_consumer, subject="别人的东西")
    login(client, "consumer.en@test.example")
    assert 'id="no-cases"' in text(client.get("/consumer/cases"))
    client.post("/auth/logout")
    login(client, "consumer@test.example")
    page = in_language(client, "/consumer/cases", "en")
    assert mine.reference in page and theirs.reference not in page
    assert 'data-state="negotiating"' in page
    assert "The enterprise must answer by" in page
    left = deadlines.working_days_left(mine.deadline_at, utcnow())
    assert f"{left} working days left" in page
    ops.escalate(world.consumer, mine)
    db.session.commit()
    page = in_language(client, "/consumer/cases", "en")
    assert "The mediation body must decide whether to accept it by" in page


def test_my_cases_filters_by_state_and_pages_by_keyset(client, world):
    cases = [new_case(world, subject=f"物品{i}") for i in range(23)]
    ops.withdraw(world.consumer, cases[0])
    db.session.commit()
    login(client, "consumer@test.example")
    first = text(client.get("/consumer/cases"))
    shown = re.findall(r'data-case="(\d+)"', first)
    assert len(shown) == 20 and shown[0] == str(cases[-1].id)
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = re.findall(r'data-case="(\d+)"', text(client.get(older)))
    assert second == [str(c.id) for c in reversed(cases[:3])]
    withdrawn = re.findall(
        r'data-case="(\d+)"', text(client.get("/consumer/cases?state=withdrawn"))
    )
    assert withdrawn == [str(cases[0].id)]
    closed = re.findall(r'data-case="(\d+)"', text(client.get("/consumer/cases?state=closed")))
    assert closed == [str(cases[0].id)]
    open_ = re.findall(r'data-case="(\d+)"', text(client.get("/consumer/cases?state=open")))
    assert str(cases[0].id) not in open_ and len(open_) == 20
    # A made-up filter is ignored rather than failing.
    assert client.get("/consumer/cases?state=nonsense&before=abc").status_code == 200


def test_case_of_another_consumer_is_404(client, world):
    theirs = new_case(world, world.other_consumer)
    login(client, "consumer@test.example")
    assert client.get(f"/consumer/cases/{theirs.id}").status_code == 404
    assert client.get("/consumer/cases/999999").status_code == 404
    assert client.post(f"/consumer/cases/{theirs.id}/withdraw").status_code == 404
    assert (
        client.post(f"/consumer/cases/{theirs.id}/messages", data={"msg-body": "x"}).status_code
        == 404
    )
    db.session.refresh(theirs)
    assert theirs.state == "negotiating"


def test_case_page_shows_facts_timeline_and_deadline_in_both_languages(client, world):
    complaint = new_case(world)
    login(client, "consumer@test.example")
    en = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert "拉链三天就坏了" in en
    assert "Complaint filed" in en and "Now: Direct settlement" in en
    assert "The enterprise must answer by" in en
    assert world.enterprise.name in en
    zh = in_language(client, f"/consumer/cases/{complaint.id}", "zh_CN")
    assert 'lang="zh-CN"' in zh and "当前状态" in zh and "企业须在以下日期前答复" in zh
    assert "The enterprise must answer by" not in zh


def test_accepting_an_offer_settles_the_case_and_issues_the_record(client, world):
    complaint = new_case(world)
    offer = offer_on(world, complaint)
    login(client, "consumer@test.example")
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert 'id="accept-offer"' in page and "¥800.00" in page and "Offer made" in page
    response = client.post(f"/consumer/cases/{complaint.id}/offers/{offer.id}/accept")
    assert response.status_code == 302
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == "settled" and str(complaint.settled_amount) == "800.00"
    record = db.session.scalars(db.select(Record).where(Record.complaint_id == complaint.id)).one()
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert 'data-state="settled"' in page and 'id="accept-offer"' not in page
    assert f"/consumer/cases/{complaint.id}/records/{record.code}.pdf" in page
    pdf = client.get(f"/consumer/cases/{complaint.id}/records/{record.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    pdf.close()
    assert client.get(f"/consumer/cases/{complaint.id}/records/NOPE.pdf").status_code == 404
    # Answering the offer again: the case has moved on; said on the page, nothing changes.
    again = client.post(f"/consumer/cases/{complaint.id}/offers/{offer.id}/accept")
    assert again.status_code == 302
    assert "alert-danger" in text(client.get(f"/consumer/cases/{complaint.id}"))


def test_rejecting_with_a_counter_proposal(client, world):
    complaint = new_case(world)
    offer = offer_on(world, complaint)
    login(client, "consumer@test.example")
    response = client.post(
        f"/consumer/cases/{complaint.id}/offers/{offer.id}/reject",
        data={"reject-counter_proposal": "全额退款一千二百九十九元"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    offer = db.session.get(Offer, offer.id)
    assert offer.status == "rejected" and offer.counter_proposal == "全额退款一千二百九十九元"
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert "Offer rejected" in page and "Counter-proposal" in page
    assert "全额退款一千二百九十九元" in page


def test_escalate_then_withdraw(client, world):
    complaint = new_case(world)
    login(client, "consumer@test.example")
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert 'id="escalate-form"' in page and "data-confirm=" in page
    client.post(f"/consumer/cases/{complaint.id}/escalate", data={"escalate-reason": "不回复"})
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).state == "pending_acceptance"
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert 'id="escalate-form"' not in page and 'id="withdraw-form"' in page
    assert world.jinshui.name in page
    client.post(f"/consumer/cases/{complaint.id}/withdraw", data={})
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == "withdrawn" and complaint.termination_reason == "T1"
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert "Complaint withdrawn" in page and 'id="withdraw-form"' not in page
    assert 'id="rating-submit"' in page


def test_messages_are_posted_and_a_blank_one_is_refused(client, world):
    complaint = new_case(world)
    ops.post_message(world.agent, complaint, "请提供购物小票。")
    db.session.commit()
    login(client, "consumer@test.example")
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert "请提供购物小票。" in page
    blank = client.post(f"/consumer/cases/{complaint.id}/messages", data={"msg-body": "  "})
    assert blank.status_code == 422 and 'id="msg-body-err"' in text(blank)
    client.post(f"/consumer/cases/{complaint.id}/messages", data={"msg-body": "小票已上传。"})
    bodies = [m.body for m in db.session.scalars(db.select(Message).order_by(Message.id))]
    assert bodies == ["请提供购物小票。", "小票已上传。"]


def test_sign_agreement_with_password(client, world):
    complaint = new_case(world)
    in_mediation(world, complaint)
    login(client, "consumer@test.example")
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert '<form id="sign-agreement" method="post">' in page
    assert '<input type="password" name="password" id="sign-password"' in page
    assert 'id="sign-submit"' in page
    wrong = client.post(f"/consumer/cases/{complaint.id}", data={"password": "wrong-one"})
    assert wrong.status_code == 422 and 'id="sign-password-err"' in text(wrong)
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0
    ok = client.post(
        f"/consumer/cases/{complaint.id}",
        data={"password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert ok.status_code == 302
    signature = db.session.scalars(db.select(Signature)).one()
    assert (signature.party, signature.ip_address) == ("consumer", "10.1.2.3")
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert 'id="sign-agreement"' not in page


def test_performance_and_rating_after_settlement(client, world):
    complaint = new_case(world)
    offer = offer_on(world, complaint)
    ops.accept_offer(world.consumer, complaint, offer.id)
    db.session.commit()
    login(client, "consumer@test.example")
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert 'id="performance-submit"' in page and 'id="rating-submit"' in page
    bad = client.post(
        f"/consumer/cases/{complaint.id}/performance", data={"perf-status": "pending"}
    )
    assert bad.status_code == 422
    client.post(
        f"/consumer/cases/{complaint.id}/performance",
        data={"perf-status": "confirmed", "perf-note": "已收到退款"},
    )
    bad = client.post(f"/consumer/cases/{complaint.id}/rating", data={"rate-rating": "9"})
    assert bad.status_code == 422 and 'value="9"' not in text(bad)
    client.post(
        f"/consumer/cases/{complaint.id}/rating",
        data={"rate-rating": "4", "rate-comment": "处理及时"},
    )
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.performance_status == "confirmed"
    assert (complaint.rating, complaint.rating_comment) == (4, "处理及时")
    page = in_language(client, f"/consumer/cases/{complaint.id}", "en")
    assert 'id="rating-given"' in page and "You rated this case 4 of 5." in page
    assert 'id="performance-submit"' not in page
    assert "Performance reported" in page and "Case rated" in page


def test_rating_is_not_offered_on_an_open_case(client, world):
    complaint = new_case(world)
    login(client, "consumer@test.example")
    assert 'id="rating-submit"' not in text(client.get(f"/consumer/cases/{complaint.id}"))
    client.post(f"/consumer/cases/{complaint.id}/rating", data={"rate-rating": "5"})
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).rating is None


def test_consumer_adds_evidence_on_an_open_case(client, world):
    complaint = new_case(world)
    login(client, "consumer@test.example")
    response = client.post(
        f"/consumer/cases/{complaint.id}/evidence",
        data={"ev-files": [(io.BytesIO(png_bytes()), "later.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    refused = client.post(
        f"/consumer/cases/{complaint.id}/evidence",
        data={"ev-files": [(io.BytesIO(b"MZ" + b"\0" * 100), "virus.jpg")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "virus.jpg" in text(refused)
    empty = client.post(f"/consumer/cases/{complaint.id}/evidence", data={})
    assert empty.status_code == 422
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    assert "later.png" in page and "virus.jpg" not in page


@pytest.fixture
def case_with_file(world, app):
    complaint = new_case(world)
    item = store_evidence(
        world.consumer, io.BytesIO(png_bytes()), "receipt.png", complaint=complaint
    )
    db.session.commit()
    return complaint, item


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("consumer@test.example", 200),
        ("agent@test.example", 200),
        ("owner@test.example", 200),
        ("other@test.example", 404),
        ("agent@other.example", 404),
        ("mediator@test.example", 404),  # not the mediator of this case (still negotiating)
        ("admin@test.example", 404),
    ],
)
def test_evidence_is_served_to_the_parties_only(client, case_with_file, email, status):
    complaint, item = case_with_file
    login(client, email)
    response = client.get(f"/consumer/cases/{complaint.id}/evidence/{item.id}")
    assert response.status_code == status
    if status == 200:
        assert response.data == png_bytes()
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "receipt.png" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_evidence_reaches_the_mediator_once_the_case_is_at_the_body(client, world, case_with_file):
    complaint, item = case_with_file
    ops.escalate(world.consumer, complaint)
    db.session.commit()
    login(client, "mediator@test.example")
    response = client.get(f"/consumer/cases/{complaint.id}/evidence/{item.id}")
    assert response.status_code == 200
    response.close()
    # A file id of another case under this case's address is not served.
    other = new_case(world)
    assert client.get(f"/consumer/cases/{other.id}/evidence/{item.id}").status_code == 404


def test_evidence_is_not_in_the_static_folder(app, case_with_file):
    from pathlib import Path

    _, item = case_with_file
    static = Path(app.static_folder).resolve()
    upload_dir = Path(app.config["UPLOAD_DIR"]).resolve()
    assert static not in upload_dir.parents and upload_dir != static
    assert item.stored_name != "receipt.png" and not item.stored_name.startswith("receipt")


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def csrf_token(page: str, form_id: str | None = None) -> str:
    if form_id is not None:
        page = page[page.index(f'id="{form_id}"') :]
    return re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_every_consumer_form_carries_its_csrf_token(client, world, csrf_on):
    complaint = new_case(world)
    in_mediation(world, complaint)
    login_page = text(client.get("/auth/login"))
    client.post(
        "/auth/login",
        data={
            "email": "consumer@test.example",
            "password": PASSWORD,
            "csrf_token": csrf_token(login_page),
        },
    )
    # Without the token: refused.
    assert client.post("/consumer/file", data={"enterprise_id": "other"}).status_code == 400
    assert (
        client.post(f"/consumer/cases/{complaint.id}", data={"password": PASSWORD}).status_code
        == 400
    )
    # With the token the page gave: accepted.
    page = text(client.get(f"/consumer/file?q={world.enterprise.name}"))
    response = client.post(
        "/consumer/file",
        data={
            "enterprise_id": str(world.enterprise.id),
            "green_channel": "y",
            "csrf_token": csrf_token(page, "respondent-form"),
        },
    )
    assert response.status_code == 302
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    response = client.post(
        f"/consumer/cases/{complaint.id}",
        data={"password": PASSWORD, "csrf_token": csrf_token(page, "sign-agreement")},
    )
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1
    page = text(client.get(f"/consumer/cases/{complaint.id}"))
    response = client.post(
        f"/consumer/cases/{complaint.id}/withdraw",
        data={"withdraw-csrf_token": csrf_token(page, "withdraw-form")},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).state == "withdrawn"
