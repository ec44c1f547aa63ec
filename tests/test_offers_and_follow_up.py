"""Issue 18: what a party meets around offers and agreements. Structured counter-offers, offer
expiry (the rule in the operation), a warning on ¥0 offers, "ask for changes" on a proposed
mediation agreement, and the performance follow-up (asked from the due date, the sweep's
reminder, a breach that reopens mediation), through the operations and the API."""

from datetime import timedelta

import pytest

from odr.disputes import operations as ops
from odr.disputes.choices import OfferStatus, PerformanceStatus
from odr.disputes.models import CaseEvent, Complaint, Notification, Offer
from odr.disputes.states import Invalid, InvalidTransition, State
from odr.disputes.sweep import sweep
from odr.types import utcnow
from tests.factories import PASSWORD, file_case, shanghai

T0 = shanghai(2026, 9, 7, 10)  # a Monday


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch):
    monkeypatch.setattr(
        "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
    )


def _offer(db, world, case, *, now=T0 + timedelta(hours=1), **kw):
    values = {"remedy": "refund", "amount": "500.00", "terms": "Refund 500"} | kw
    offer = ops.make_offer(world.agent, case, now=now, **values)
    db.session.commit()
    return offer


def _notices(user, kind):
    return [n for n in Notification.query.filter_by(user_id=user.id).all() if n.kind == kind]


# -- offers ----------------------------------------------------------------------------------


def test_a_counter_offer_is_a_remedy_and_an_amount(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    offer = _offer(db, world, case, now=None)
    base = f"/complaints/{case.id}/offers/{offer.id}"

    half = api.post(world.consumer, base + "/reject", json={"counter_remedy": "refund"})
    assert half.status_code == 422
    assert set(half.get_json()["error"]["fields"]) == {"counter_amount"}
    bad = api.post(
        world.consumer, base + "/reject", json={"counter_remedy": "cash", "counter_amount": "1"}
    )
    assert bad.status_code == 422

    answered = api.post(
        world.consumer,
        base + "/reject",
        json={"counter_remedy": "refund", "counter_amount": "1299", "counter_proposal": "全额"},
    )
    assert answered.status_code == 200, answered.get_json()
    [shown] = answered.get_json()["offers"]
    assert shown["status"] == "rejected"
    assert (shown["counter_remedy"], shown["counter_amount"]) == ("refund", "1299.00")
    assert shown["counter_proposal"] == "全额"
    event = answered.get_json()["events"][-1]
    assert event["action"] == "reject_offer"
    assert event["details"]["counter_amount"] == "1299.00"
    assert _notices(world.agent, "offer_rejected")


def test_an_expired_offer_cannot_be_accepted(world, api, db):
    case = file_case(world.consumer, world.enterprise, now=T0)
    with pytest.raises(Invalid) as past:
        ops.make_offer(
            world.agent,
            case,
            remedy="refund",
            amount="500",
            terms="Refund",
            expires_on="2026-09-06",
            now=T0,
        )
    assert set(past.value.fields) == {"expires_on"}
    db.session.rollback()
    offer = _offer(db, world, case, expires_on="2026-09-10")
    # Still open on its last day (Shanghai), no longer the day after.
    assert ops.offer_status(offer, shanghai(2026, 9, 10, 23, 59).date()) == OfferStatus.OPEN
    with pytest.raises(InvalidTransition):
        ops.accept_offer(world.consumer, case, offer.id, now=shanghai(2026, 9, 11, 0, 5))
    db.session.rollback()

    # The API shows it expired (today is after 2026-09-10) and refuses to accept it.
    detail = api.get(world.consumer, f"/complaints/{case.id}").get_json()
    shown = detail["offers"][0]
    assert shown["status"] == "expired" and shown["expires_on"] == "2026-09-10"
    # Nobody waits on the consumer to answer it: the enterprise's turn is another offer.
    assert detail["your_turn"] is None
    theirs = api.get(world.agent, f"/complaints/{case.id}").get_json()["your_turn"]
    assert theirs["step"] == "answer_rejection"
    refused = api.post(world.consumer, f"/complaints/{case.id}/offers/{offer.id}/accept")
    assert refused.status_code == 409
    assert db.session.get(Complaint, case.id).state == State.NEGOTIATING

    # One accepted on its last day settles the case.
    again = _offer(db, world, case, expires_on="2026-09-12", now=shanghai(2026, 9, 11, 9))
    ops.accept_offer(world.consumer, case, again.id, now=shanghai(2026, 9, 12, 20))
    db.session.commit()
    assert case.state == State.SETTLED


def test_a_zero_refund_is_made_with_a_warning(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    path = f"/complaints/{case.id}/offers"
    zero = api.post(world.agent, path, json={"remedy": "refund", "amount": "0", "terms": "x"})
    assert zero.status_code == 201
    assert [w["code"] for w in zero.get_json()["warnings"]] == ["zero_amount"]
    repair = api.post(world.agent, path, json={"remedy": "repair", "amount": "0", "terms": "x"})
    assert repair.status_code == 201 and repair.get_json()["warnings"] == []
    paid = api.post(world.agent, path, json={"remedy": "refund", "amount": "10", "terms": "x"})
    assert paid.get_json()["warnings"] == []
    assert ops.offer_warnings("compensate", "0.00")[0]["code"] == "zero_amount"


def test_the_web_offer_form_asks_to_confirm_a_zero_refund(world, client, db):
    case = file_case(world.consumer, world.enterprise)
    _signed_in(client, world.agent)
    form = {
        "offer-remedy": "refund",
        "offer-amount": "0",
        "offer-terms": "No refund, a voucher",
    }
    page = client.post(f"/merchant/cases/{case.id}/offers", data=form, follow_redirects=True)
    assert page.status_code in (200, 422)
    assert db.session.scalar(db.select(db.func.count()).select_from(Offer)) == 0
    assert "offer-confirm_zero" in page.get_data(as_text=True)
    form["offer-confirm_zero"] = "y"
    client.post(f"/merchant/cases/{case.id}/offers", data=form, follow_redirects=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Offer)) == 1


# -- asking for changes to a proposed agreement ----------------------------------------------


def _mediating(db, world):
    case = file_case(world.consumer, world.enterprise, now=T0)
    ops.escalate(world.consumer, case, now=T0 + timedelta(hours=1))
    ops.accept_case(world.head, case, now=T0 + timedelta(hours=2))
    ops.assign_mediator(
        world.head, case, mediator_id=world.mediator.id, now=T0 + timedelta(hours=2)
    )
    agreement = ops.propose_agreement(
        world.mediator,
        case,
        terms="Refund 800",
        amount="800",
        performance_due="2026-10-20",
        now=T0 + timedelta(hours=3),
    )
    db.session.commit()
    return case, agreement


def test_a_party_asks_for_changes_and_the_mediator_sees_the_reasons(world, api, db):
    case, agreement = _mediating(db, world)
    path = f"/complaints/{case.id}/agreement/changes"
    assert api.post(world.consumer, path, json={"reasons": ""}).status_code == 422
    assert api.post(world.mediator, path, json={"reasons": "x"}).status_code == 403
    assert api.post(world.other_consumer, path, json={"reasons": "x"}).status_code == 404
    asked = api.post(world.consumer, path, json={"reasons": "退款应为 1,299 元，且十日内付清"})
    assert asked.status_code == 200, asked.get_json()
    data = asked.get_json()
    assert data["state"] == "mediating" and data["agreement"]["status"] == "proposed"
    assert data["events"][-1]["action"] == "ask_changes"
    assert data["events"][-1]["details"]["reasons"] == "退款应为 1,299 元，且十日内付清"
    assert _notices(world.mediator, "agreement_changes_requested")
    assert [e.details["reasons"] for e in ops.change_requests(case, agreement.id)] == [
        "退款应为 1,299 元，且十日内付清"
    ]

    # A party that signed has agreed; no agreement at all is a 409 too.
    api.post(world.agent, f"/complaints/{case.id}/agreement/sign")
    assert api.post(world.agent, path, json={"reasons": "x"}).status_code == 409

    # The mediator's workspace shows the request with its reasons.
    page = _signed_in(api.client, world.mediator).get(f"/mediation/cases/{case.id}")
    assert "退款应为 1,299 元，且十日内付清" in page.get_data(as_text=True)


def _signed_in(client, user):
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return client


# -- performance follow-up -------------------------------------------------------------------


def _settled(db, world, due="2026-09-30"):
    case = file_case(world.consumer, world.enterprise, now=T0)
    offer = _offer(db, world, case, performance_due=due)
    ops.accept_offer(world.consumer, case, offer.id, now=T0 + timedelta(hours=2))
    db.session.commit()
    return case


def test_the_performance_question_waits_for_the_due_date(world, db):
    case = _settled(db, world)
    assert case.performance_reminder_at == shanghai(2026, 9, 30, 0)
    assert not ops.performance_asked(case, shanghai(2026, 9, 29).date())
    assert ops.performance_asked(case, shanghai(2026, 9, 30).date())
    with pytest.raises(Invalid) as early:
        ops.report_performance(
            world.consumer, case, status="breached", now=shanghai(2026, 9, 29, 23)
        )
    assert "2026-09-30" in early.value.fields["status"]
    db.session.rollback()
    # Performed early is welcome, and nobody is asked any more.
    ops.report_performance(world.consumer, case, status="confirmed", now=shanghai(2026, 9, 20))
    db.session.commit()
    assert case.performance_reminder_at is None
    assert not ops.performance_asked(case, shanghai(2026, 10, 1).date())


def test_the_sweep_asks_both_parties_on_the_due_date_once(world, db):
    case = _settled(db, world)
    before = sweep(shanghai(2026, 9, 29, 23, 59))
    assert before.count("performance_asked") == 0
    report = sweep(shanghai(2026, 9, 30, 0, 1))
    assert report.count("performance_asked") == 1
    assert sweep(shanghai(2026, 9, 30, 12)).count("performance_asked") == 0
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.performance_reminder_at is None and case.state == State.SETTLED
    asked = db.session.scalars(
        db.select(CaseEvent).where(
            CaseEvent.complaint_id == case.id, CaseEvent.action == "remind_performance"
        )
    ).all()
    assert len(asked) == 1 and asked[0].details == {"performance_due": "2026-09-30"}
    assert _notices(world.consumer, "performance_due")
    assert _notices(world.agent, "performance_due")


def test_a_breach_reopens_mediation(world, api, db):
    case = _settled(db, world, due=(utcnow() - timedelta(days=3)).date().isoformat())
    base = f"/complaints/{case.id}"
    early = api.post(world.consumer, base + "/reopen", json={"reason": "未退款"})
    assert early.status_code == 409  # no breach reported yet
    assert api.post(world.agent, base + "/reopen").status_code == 403
    reported = api.post(world.consumer, base + "/performance", json={"status": "breached"})
    assert reported.status_code == 200
    reopened = api.post(world.consumer, base + "/reopen", json={"reason": "未退款"})
    assert reopened.status_code == 200, reopened.get_json()
    data = reopened.get_json()
    assert data["state"] == "pending_acceptance" and data["deadline_at"] is not None
    assert data["events"][-1]["action"] == "reopen"
    assert data["events"][-1]["from_state"] == "settled"
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.closed_at is None and case.body_id == world.jinshui.id
    assert case.performance_status == PerformanceStatus.BREACHED
    assert _notices(world.mediator, "escalated")
    # Once open again it cannot be reopened twice.
    assert api.post(world.consumer, base + "/reopen").status_code == 409


def test_the_openapi_document_names_the_new_fields_and_paths(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert "/complaints/{complaint_id}/agreement/changes" in paths
    assert "/complaints/{complaint_id}/reopen" in paths
    schemas = spec["components"]["schemas"]
    assert "expires_on" in schemas["OfferIn"]["properties"]
    assert {"counter_remedy", "counter_amount"} <= set(schemas["RejectIn"]["properties"])
    assert "warnings" in schemas["OfferOut"]["properties"]  # created and read back alike


def test_the_timeline_names_a_counter_offer_and_a_change_request(world, client, db):
    case = file_case(world.consumer, world.enterprise)
    offer = _offer(db, world, case, now=None)
    ops.reject_offer(world.consumer, case, offer.id, counter_remedy="refund", counter_amount="1299")
    db.session.commit()
    _signed_in(client, world.consumer)
    page = client.get(f"/consumer/cases/{case.id}?lang=zh_CN").get_data(as_text=True)
    assert "还价" in page and "¥1,299.00" in page and "counter_remedy" not in page

    mediating, _agreement = _mediating(db, world)
    ops.ask_for_changes(world.consumer, mediating, reasons="请全额退款")
    db.session.commit()
    page = client.get(f"/consumer/cases/{mediating.id}").get_data(as_text=True)
    assert "申请修改调解协议" in page and "请全额退款" in page and "申请方" in page
