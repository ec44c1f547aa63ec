"""One capability check (permissions.may_act) on every channel: a suspended enterprise, a
deactivated mediator and an enterprise still applying are refused by the web forms, the
API and the operations alike, and nothing is written."""

from datetime import date, time

import pytest

from odr.auth.models import StaffRole, UserRole
from odr.disputes import enterprises, records, supervision
from odr.disputes import operations as ops
from odr.disputes.models import CaseEvent, Message, Offer
from odr.disputes.permissions import may_act, require_capability
from odr.disputes.sessions import schedule_session
from odr.disputes.states import DomainError, Forbidden
from odr.extensions import db
from tests.factories import PASSWORD, file_case, user


def login(client, email):
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def _counts(case_id):
    return tuple(
        db.session.scalar(db.select(db.func.count()).where(column == case_id))
        for column in (Offer.complaint_id, Message.complaint_id, CaseEvent.complaint_id)
    )


OFFER = {"offer-remedy": "refund", "offer-amount": "900.00", "offer-terms": "退款900元"}


def test_a_suspended_enterprise_is_refused_on_the_web_the_api_and_in_the_operations(
    world, db, client, api
):
    case = file_case(world.consumer, world.enterprise)
    token = api.token(world.agent)  # issued while the enterprise was approved
    login(client, "agent@test.example")
    assert client.get(f"/merchant/cases/{case.id}").status_code == 200
    enterprises.decide(world.admin, world.enterprise, "suspend", "多次超期")
    db.session.commit()
    before = _counts(case.id)

    # The web: the offer and message forms are refused; the case stays readable.
    assert client.post(f"/merchant/cases/{case.id}/offers", data=OFFER).status_code == 403
    message = {"message-body": "已安排退款"}
    assert client.post(f"/merchant/cases/{case.id}/messages", data=message).status_code == 403
    assert client.get(f"/merchant/cases/{case.id}").status_code == 200
    # The API: the token no longer opens anything (401, as test_api_enterprise says).
    headers = {"Authorization": f"Bearer {token}"}
    offered = client.post(
        f"/api/v1/complaints/{case.id}/offers",
        json={"remedy": "refund", "amount": "900.00", "terms": "退款"},
        headers=headers,
    )
    assert offered.status_code == 401
    said = client.post(
        f"/api/v1/complaints/{case.id}/messages", json={"body": "您好"}, headers=headers
    )
    assert said.status_code == 401
    # The operations themselves, whoever calls them.
    with pytest.raises(Forbidden):
        ops.make_offer(world.agent, case, remedy="refund", amount="900", terms="退款")
    db.session.rollback()
    with pytest.raises(Forbidden):
        ops.post_message(world.owner, case, "您好")
    db.session.rollback()
    assert _counts(case.id) == before
    assert not may_act(world.agent)

    enterprises.decide(world.admin, world.enterprise, "reinstate")
    db.session.commit()
    assert client.post(f"/merchant/cases/{case.id}/offers", data=OFFER).status_code == 302
    assert _counts(case.id)[0] == before[0] + 1


def test_an_exited_enterprise_may_not_act(world, db, client):
    case = file_case(world.consumer, world.enterprise)
    login(client, "owner@test.example")
    enterprises.decide(world.admin, world.enterprise, "exit", "主动退出")
    db.session.commit()
    before = _counts(case.id)
    assert client.post(f"/merchant/cases/{case.id}/offers", data=OFFER).status_code == 403
    assert _counts(case.id) == before
    with pytest.raises(Forbidden):
        require_capability(world.owner)


def test_a_deactivated_mediator_is_refused_on_the_web_the_api_and_in_the_operations(
    world, db, client, api
):
    case = file_case(world.consumer, world.enterprise, green_channel=False)
    token = api.token(world.mediator)
    login(client, "mediator@test.example")
    supervision.set_mediator_active(world.admin, world.mediator, False)
    db.session.commit()
    before = _counts(case.id)

    # The web signs the account out and asks for a login; nothing is written.
    accepted = client.post(f"/mediation/cases/{case.id}/accept", data={})
    assert accepted.status_code == 302 and "/auth/login" in accepted.headers["Location"]
    assert client.get("/mediation/").status_code == 302
    response = client.post(
        f"/api/v1/complaints/{case.id}/accept", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    with pytest.raises(DomainError):
        ops.accept_case(world.mediator, case)
    db.session.rollback()
    assert _counts(case.id) == before
    assert not may_act(world.mediator)


def test_an_enterprise_still_applying_may_not_act_and_is_not_found(world, db, client, api):
    applicant = user(
        UserRole.ENTERPRISE,
        "applicant@test.example",
        enterprise=world.pending_enterprise,
        staff_role=StaffRole.OWNER,
    )
    db.session.commit()
    assert not may_act(applicant)
    # No token through the API's login; no action on the web.
    login_api = client.post(
        "/api/v1/auth/tokens", json={"email": "applicant@test.example", "password": PASSWORD}
    )
    assert login_api.status_code == 401
    login(client, "applicant@test.example")
    created = client.post("/merchant/integration/tokens", data={"token-name": "CRM"})
    assert created.status_code == 403
    client.post("/auth/logout")
    # Neither search finds it: the wizard's (web) and the API's.
    login(client, "consumer@test.example")
    name = world.pending_enterprise.name
    assert name not in client.get("/consumer/file?q=待审").get_data(as_text=True)
    found = client.get("/api/v1/enterprises?q=待审").get_json()["items"]
    assert found == []
    by_code = client.get(f"/api/v1/enterprises?q={world.pending_enterprise.credit_code}")
    assert by_code.get_json()["items"] == []


def test_the_other_domain_actions_ask_the_same_check(world, db):
    """Asking for the case file and scheduling a session are refused alike."""
    case = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, case)
    enterprises.decide(world.admin, world.enterprise, "suspend", "多次超期")
    db.session.commit()
    with pytest.raises(Forbidden):
        records.issue_case_file(world.agent, case)
    db.session.rollback()
    world.mediator.active = False
    with pytest.raises(DomainError):
        schedule_session(world.mediator, case, day=date(2030, 1, 7), at=time(10), mode="online")
    db.session.rollback()
