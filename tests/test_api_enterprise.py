"""The enterprise's API: answering claims, who may see and do what, joining, the
regulator's decisions, webhooks and integration tokens."""

from odr.disputes.models import Enterprise, EnterpriseStatus, Outbox, WebhookEndpoint
from tests.factories import PASSWORD, complaint_data, credit_code, file_case

OFFER = {"remedy": "refund", "amount": "500.00", "terms": "退款 500 元", "performance_due": None}


def test_agent_answers_with_an_offer_and_the_consumer_accepts(world, api):
    case = file_case(world.consumer, world.enterprise)
    made = api.post(world.agent, f"/complaints/{case.id}/offers", json={**OFFER, "amount": 500})
    assert made.status_code == 201
    offer = made.get_json()
    assert offer["id"] and offer["status"] == "open" and offer["amount"] == "500.00"
    accepted = api.post(world.consumer, f"/complaints/{case.id}/offers/{offer['id']}/accept")
    assert accepted.get_json()["state"] == "settled"
    late = api.post(world.agent, f"/complaints/{case.id}/offers", json=OFFER)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "invalid_transition"


def test_offer_fields_are_checked(world, api):
    case = file_case(world.consumer, world.enterprise)
    response = api.post(
        world.agent,
        f"/complaints/{case.id}/offers",
        json={"remedy": "magic", "amount": "-5", "terms": "", "performance_due": "2020-01-01"},
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"remedy", "amount", "terms"}
    past = api.post(
        world.agent,
        f"/complaints/{case.id}/offers",
        json={**OFFER, "performance_due": "2020-01-01"},
    )
    assert past.status_code == 422
    assert set(past.get_json()["error"]["fields"]) == {"performance_due"}


def test_a_consumer_token_cannot_make_offers(world, api):
    case = file_case(world.consumer, world.enterprise)
    response = api.post(world.consumer, f"/complaints/{case.id}/offers", json=OFFER)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    # Whatever the body: the role is judged first.
    assert api.post(world.consumer, f"/complaints/{case.id}/offers", json={}).status_code == 403
    assert api.post(world.consumer, f"/complaints/{case.id}/decline").status_code == 403


def test_an_agent_of_another_enterprise_gets_404(world, api):
    case = file_case(world.consumer, world.enterprise)
    for path in ("", "/messages", "/records"):
        assert api.get(world.other_agent, f"/complaints/{case.id}{path}").status_code == 404
    for path, body in (("/offers", OFFER), ("/decline", {}), ("/messages", {"body": "hi"})):
        response = api.post(world.other_agent, f"/complaints/{case.id}{path}", json=body)
        assert response.status_code == 404, path
    assert api.get(world.other_agent, "/complaints").get_json()["items"] == []
    mine = api.get(world.agent, "/complaints").get_json()["items"]
    assert [c["id"] for c in mine] == [case.id]


def test_contact_details_only_for_those_who_may_see_them(world, api):
    case = file_case(world.consumer, world.enterprise)
    for_agent = api.get(world.agent, f"/complaints/{case.id}").get_json()
    assert for_agent["complainant_phone"] == "13800000000"
    assert for_agent["complainant_address"]
    for_admin = api.get(world.admin, f"/complaints/{case.id}").get_json()
    assert "complainant_phone" not in for_admin and "complainant_address" not in for_admin
    assert for_admin["complainant_name"] == "张三"
    listed = api.get(world.agent, "/complaints").get_json()["items"][0]
    assert "complainant_phone" not in listed


def test_decline_sends_the_case_to_mediation(world, api):
    case = file_case(world.consumer, world.enterprise)
    response = api.post(
        world.agent, f"/complaints/{case.id}/decline", json={"reason": "超过退货期"}
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["state"] == "pending_acceptance" and data["body"]["id"] == world.jinshui.id
    assert data["events"][-1]["action"] == "decline"
    assert data["events"][-1]["details"]["reason"] == "超过退货期"
    assert api.post(world.agent, f"/complaints/{case.id}/decline").status_code == 409


def test_a_suspended_enterprises_tokens_stop_working(world, api, client):
    case = file_case(world.consumer, world.enterprise)
    assert api.get(world.agent, f"/complaints/{case.id}").status_code == 200
    suspended = api.post(
        world.admin, f"/enterprises/{world.enterprise.id}/suspend", json={"reason": "多次超期"}
    )
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    response = api.get(world.agent, f"/complaints/{case.id}")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    login = client.post(
        "/api/v1/auth/tokens", json={"email": "agent@test.example", "password": PASSWORD}
    )
    assert login.status_code == 401
    api.post(world.admin, f"/enterprises/{world.enterprise.id}/reinstate", json={})
    assert api.get(world.agent, f"/complaints/{case.id}").status_code == 200


def test_messages_from_the_enterprise_reach_the_consumer_and_webhooks_fire(world, api, db):
    hook = api.post(
        world.owner, "/webhooks", json={"url": "https://hooks.example.com/odr", "secret": "s" * 20}
    )
    assert hook.status_code == 201
    case = file_case(world.consumer, world.enterprise)
    sent = api.post(world.agent, f"/complaints/{case.id}/messages", json={"body": "您好"})
    assert sent.status_code == 201 and sent.get_json()["author_role"] == "enterprise"
    api.post(world.consumer, f"/complaints/{case.id}/messages", json={"body": "谢谢"})
    events = db.session.scalars(
        db.select(Outbox.event).where(Outbox.channel == "webhook").order_by(Outbox.id)
    ).all()
    assert events[0] == "complaint.created" and "complaint.message" in events


# -- joining and the regulator -----------------------------------------------------------


def application(**overrides):
    data = {
        "name": "新申请商贸有限公司",
        "credit_code": credit_code(777),
        "region_code": "410103",
        "address": "郑州市二七区测试路 8 号",
        "contact_phone": "0371-66668888",
        "owner": {"email": "boss@new.example", "password": "long-enough-1", "name": "赵老板"},
    }
    data.update(overrides)
    return data


def test_apply_then_approve(world, api, client, db):
    response = client.post("/api/v1/enterprises", json=application())
    assert response.status_code == 201
    data = response.get_json()
    assert data["status"] == "pending" and data["id"]
    assert data["credit_code"] == credit_code(777)
    # Not yet found by consumers, and its owner cannot act as an ODR enterprise yet.
    assert client.get("/api/v1/enterprises?q=新申请").get_json()["items"] == []
    assert api.post(world.consumer, f"/enterprises/{data['id']}/approve").status_code == 403
    assert api.post(world.owner, f"/enterprises/{data['id']}/approve").status_code == 403
    approved = api.post(world.admin, f"/enterprises/{data['id']}/approve", json={})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert approved.get_json()["approved_at"]
    assert client.get("/api/v1/enterprises?q=新申请").get_json()["items"][0]["id"] == data["id"]
    again = api.post(world.admin, f"/enterprises/{data['id']}/approve")
    assert again.status_code == 409
    assert api.post(world.admin, "/enterprises/99999/approve").status_code == 404
    no_reason = api.post(world.admin, f"/enterprises/{data['id']}/suspend", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    gone = api.post(world.admin, f"/enterprises/{data['id']}/exit", json={"reason": "主动退出"})
    assert gone.status_code == 200 and gone.get_json()["status"] == "exited"
    assert db.session.get(Enterprise, data["id"]).status == EnterpriseStatus.EXITED


def test_apply_errors_name_the_fields(world, client):
    bad_check = credit_code(778)[:-1] + ("0" if credit_code(778)[-1] != "0" else "1")
    response = client.post(
        "/api/v1/enterprises",
        json=application(
            credit_code=bad_check,
            region_code="000000",
            # A malformed address is named; a taken one is not (issue 16, see
            # test_trust_accounts.py).
            owner={"email": "owner@", "password": "short", "name": "x"},
        ),
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {
        "credit_code",
        "region_code",
        "owner.email",
        "owner.password",
    }
    taken = client.post("/api/v1/enterprises", json=application(credit_code="91330100716105852F"))
    assert set(taken.get_json()["error"]["fields"]) == {"credit_code"}
    no_owner = client.post("/api/v1/enterprises", json=application(owner=None))
    assert no_owner.status_code == 422 and "owner" in no_owner.get_json()["error"]["fields"]
    nested = client.post("/api/v1/enterprises", json=application(owner={"email": 5}))
    assert {"owner.email", "owner.password", "owner.name"} <= set(
        nested.get_json()["error"]["fields"]
    )


def test_an_unapproved_enterprise_cannot_be_named_as_respondent(world, api):
    """Issue 16: it used to be taken (and sent to mediation), which let an applicant read
    the consumer's particulars; now an enterprise still applying is no enterprise to name."""
    response = api.post(
        world.consumer, "/complaints", json=complaint_data(world.pending_enterprise)
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"enterprise_id"}
    assert api.get(world.consumer, "/complaints").get_json()["items"] == []


# -- integration -------------------------------------------------------------------------


def test_webhooks_owner_manages_staff_reads(world, api, client, db):
    created = api.post(world.owner, "/webhooks", json={"url": "https://erp.example.com/hook"})
    assert created.status_code == 201
    hook = created.get_json()
    assert hook["secret"] and hook["active"] is True and hook["url"].startswith("https://")
    listed = api.get(world.agent, "/webhooks").get_json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    assert api.get(world.other_agent, "/webhooks").get_json()["items"] == []
    assert api.post(world.agent, "/webhooks", json={"url": "https://x.example"}).status_code == 403
    assert api.get(world.consumer, "/webhooks").status_code == 403
    for url in ("ftp://erp.example.com", "not a url", "https://"):
        bad = api.post(world.owner, "/webhooks", json={"url": url})
        assert bad.status_code == 422 and "url" in bad.get_json()["error"]["fields"], url
    short = api.post(world.owner, "/webhooks", json={"url": "https://a.example", "secret": "x"})
    assert short.status_code == 422 and "secret" in short.get_json()["error"]["fields"]
    deleted = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.headers(world.owner))
    assert deleted.status_code == 204 and deleted.data == b""
    assert db.session.get(WebhookEndpoint, hook["id"]).active is False
    other = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.headers(world.other_agent))
    assert other.status_code == 403
    missing = client.delete("/api/v1/webhooks/424242", headers=api.headers(world.owner))
    assert missing.status_code == 404


def test_integration_tokens_are_shown_once_work_and_can_be_revoked(world, api, client):
    case = file_case(world.consumer, world.enterprise)
    created = api.post(world.owner, "/tokens", json={"name": "ERP 系统"})
    assert created.status_code == 201
    token = created.get_json()
    assert token["token"].startswith("odr_") and token["expires_at"] is None
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get(f"/api/v1/complaints/{case.id}", headers=headers).status_code == 200
    listed = api.get(world.owner, "/tokens").get_json()["items"]
    assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
    assert api.get(world.agent, "/tokens").status_code == 403
    assert api.post(world.agent, "/tokens", json={"name": "x"}).status_code == 403
    assert api.post(world.owner, "/tokens", json={}).status_code == 422
    other = client.delete(f"/api/v1/tokens/{token['id']}", headers=api.headers(world.other_agent))
    assert other.status_code == 403
    revoked = client.delete(f"/api/v1/tokens/{token['id']}", headers=api.headers(world.owner))
    assert revoked.status_code == 204
    assert client.get(f"/api/v1/complaints/{case.id}", headers=headers).status_code == 401
    assert api.get(world.owner, "/tokens").get_json()["items"][0]["revoked_at"]
    assert client.delete("/api/v1/tokens/9999", headers=api.headers(world.owner)).status_code == (
        404
    )
