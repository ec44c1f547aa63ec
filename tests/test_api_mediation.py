"""The mediator's API: the whole way from an escalated case to `mediated`, and the other
decisions (refuse, transfer, suspend and resume, assign, terminate)."""

from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Signature
from tests.factories import file_case


def escalated_case(db, world):
    """A case of the Jinshui enterprise the consumer sent to mediation (at the Jinshui
    office)."""
    complaint = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, complaint)
    db.session.commit()
    return complaint


def test_full_flow_to_mediated(world, api, db):
    case = escalated_case(db, world)
    base = f"/complaints/{case.id}"
    queue = api.get(world.mediator, "/complaints?state=pending_acceptance").get_json()["items"]
    assert [c["id"] for c in queue] == [case.id]
    assert api.get(world.other_mediator, base).status_code == 404
    assert api.post(world.other_mediator, base + "/accept").status_code == 404
    assert api.post(world.agent, base + "/accept").status_code == 403

    early = api.post(world.consumer, base + "/agreement/sign")
    assert early.status_code == 409

    accepted = api.post(world.mediator, base + "/accept")
    assert accepted.status_code == 200
    data = accepted.get_json()
    assert data["state"] == "mediating" and data["mediator_id"] == world.mediator.id
    assert data["deadline_at"] is not None
    assert data["complainant_phone"] == "13800000000"  # the mediator sees the contact
    assert api.post(world.mediator, base + "/accept").status_code == 409

    note = api.post(
        world.mediator,
        base + "/messages",
        json={"body": "内部备注：双方分歧不大", "internal": True},
    )
    assert note.status_code == 201 and note.get_json()["internal"] is True
    assert api.get(world.consumer, base).get_json()["messages"] == []
    assert api.get(world.consumer, base + "/messages").get_json()["items"] == []
    assert [m["internal"] for m in api.get(world.mediator, base).get_json()["messages"]] == [True]

    bad = api.post(world.mediator, base + "/agreement", json={"terms": "", "amount": "x"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"terms", "amount"}
    proposed = api.post(
        world.mediator,
        base + "/agreement",
        json={"terms": "企业退款 800 元", "amount": 800, "performance_due": "2026-12-31"},
    )
    assert proposed.status_code == 201
    agreement = proposed.get_json()
    assert agreement["id"] and agreement["amount"] == "800.00"
    assert agreement["status"] == "proposed" and agreement["signatures"] == []
    assert agreement["complaint"] == {
        "id": case.id,
        "reference": case.reference,
        "state": "mediating",
        "deadline_at": data["deadline_at"],
    }
    assert api.post(world.mediator, base + "/agreement/sign").status_code == 403

    first = api.post(
        world.consumer, base + "/agreement/sign", environ_base={"REMOTE_ADDR": "1.2.3.4"}
    )
    assert first.status_code == 200
    assert first.get_json()["state"] == "mediating"
    assert [s["party"] for s in first.get_json()["agreement"]["signatures"]] == ["consumer"]
    assert api.post(world.consumer, base + "/agreement/sign").status_code == 409
    signed = db.session.scalar(db.select(Signature).where(Signature.party == "consumer"))
    assert signed.ip_address == "1.2.3.4"
    # The other side sees the signature, not where it was made from.
    assert "1.2.3.4" not in api.get(world.agent, base).get_data(as_text=True)

    second = api.post(world.agent, base + "/agreement/sign")
    assert second.status_code == 200
    final = second.get_json()
    assert final["state"] == "mediated" and final["deadline_at"] is None
    assert final["settled_amount"] == "800.00" and final["performance_due"] == "2026-12-31"
    assert final["agreement"]["status"] == "signed"
    assert [e["action"] for e in final["events"]] == [
        "file",
        "escalate",
        "accept",
        "propose_agreement",
        "sign_agreement",
        "sign_agreement",
    ]
    assert final["events"][-1]["to_state"] == "mediated"
    records = api.get(world.mediator, base + "/records").get_json()["items"]
    assert [r["kind"] for r in records] == ["mediation_agreement"]
    assert api.get(world.mediator, records[0]["url"][len("/api/v1") :]).status_code == 200
    assert api.get(world.agent, records[0]["url"][len("/api/v1") :]).status_code == 200
    assert api.get(world.other_mediator, records[0]["url"][len("/api/v1") :]).status_code == 404


def test_refuse_needs_a_legal_reason(world, api, db):
    case = escalated_case(db, world)
    base = f"/complaints/{case.id}"
    for wrong in ({}, {"reason": "R9"}, {"reason": 1}):
        response = api.post(world.mediator, base + "/refuse", json=wrong)
        assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    refused = api.post(
        world.mediator, base + "/refuse", json={"reason": "R2", "explanation": "法院已受理"}
    )
    assert refused.status_code == 200
    assert refused.get_json()["state"] == "refused"
    assert refused.get_json()["refusal_reason"] == "R2"
    kinds = [r["kind"] for r in api.get(world.consumer, base + "/records").get_json()["items"]]
    assert kinds == ["refusal"]


def test_transfer_to_the_competent_body(world, api, db):
    case = escalated_case(db, world)
    base = f"/complaints/{case.id}"
    for wrong in ({}, {"body_id": "x"}, {"body_id": 424242}, {"body_id": world.jinshui.id}):
        response = api.post(world.mediator, base + "/transfer", json=wrong)
        assert response.status_code == 422 and "body_id" in response.get_json()["error"]["fields"]
    moved = api.post(
        world.mediator, base + "/transfer", json={"body_id": world.laocheng.id, "reason": "管辖"}
    )
    assert moved.status_code == 200
    assert moved.get_json()["state"] == "pending_acceptance"
    assert moved.get_json()["body"]["id"] == world.laocheng.id
    # It now belongs to the Laocheng office: Jinshui no longer sees it.
    assert api.get(world.mediator, base).status_code == 404
    assert api.get(world.other_mediator, base).status_code == 200


def test_suspend_resume_assign_and_terminate(world, api, db):
    case = escalated_case(db, world)
    base = f"/complaints/{case.id}"
    api.post(world.mediator, base + "/accept")
    assert api.post(world.mediator, base + "/resume").status_code == 409
    assert api.post(world.mediator, base + "/suspend", json={}).status_code == 422
    suspended = api.post(world.mediator, base + "/suspend", json={"reason": "等待质量检测"})
    assert suspended.status_code == 200
    assert suspended.get_json()["state"] == "suspended"
    assert suspended.get_json()["deadline_at"] is None
    resumed = api.post(world.mediator, base + "/resume")
    assert resumed.status_code == 200 and resumed.get_json()["state"] == "mediating"
    assert resumed.get_json()["deadline_at"] is not None

    not_head = api.post(world.mediator, base + "/assign", json={"mediator_id": world.head.id})
    assert not_head.status_code == 403
    stranger = api.post(world.head, base + "/assign", json={"mediator_id": world.other_mediator.id})
    assert stranger.status_code == 422
    assigned = api.post(world.head, base + "/assign", json={"mediator_id": world.head.id})
    assert assigned.status_code == 200 and assigned.get_json()["mediator_id"] == world.head.id

    for wrong in ({}, {"reason": "T8"}):
        assert api.post(world.mediator, base + "/terminate", json=wrong).status_code == 422
    ended = api.post(
        world.mediator, base + "/terminate", json={"reason": "T4", "explanation": "无法达成一致"}
    )
    assert ended.status_code == 200
    assert ended.get_json()["state"] == "terminated"
    assert ended.get_json()["termination_reason"] == "T4"
    assert db.session.get(Complaint, case.id).closed_at is not None
    assert api.post(world.consumer, base + "/escalate").status_code == 409


def test_mediators_list_the_cases_of_their_bodies(world, api, db):
    here = escalated_case(db, world)
    elsewhere = file_case(world.consumer, world.other_enterprise)
    ops.escalate(world.consumer, elsewhere)
    db.session.commit()
    assert [c["id"] for c in api.get(world.mediator, "/complaints").get_json()["items"]] == [
        here.id
    ]
    assert [c["id"] for c in api.get(world.other_mediator, "/complaints").get_json()["items"]] == [
        elsewhere.id
    ]
    everything = api.get(world.admin, "/complaints").get_json()["items"]
    assert {c["id"] for c in everything} == {here.id, elsewhere.id}


def test_mediators_list_cases_raised_to_their_body_once_newest_first(world, api, db):
    """The list is the union of the cases at the caller's bodies and those raised to them
    (overdue acceptance): each case once, newest first, the same across pages."""
    cases = [escalated_case(db, world) for _ in range(5)]
    cases[1].raised_to_body_id = world.city_body.id  # raised from Jinshui to the city
    cases[3].raised_to_body_id = world.city_body.id
    cases[4].body_id = world.city_body.id  # at the city and raised to it: both arms
    cases[4].raised_to_body_id = world.city_body.id
    db.session.commit()
    expected = [cases[4].id, cases[3].id, cases[1].id]

    def listed(user, query=""):
        ids, cursor = [], None
        while True:
            path = "/complaints?limit=1" + query + (f"&cursor={cursor}" if cursor else "")
            answer = api.get(user, path).get_json()
            ids += [c["id"] for c in answer["items"]]
            cursor = answer["next_cursor"]
            if cursor is None:
                return ids

    assert listed(world.city_mediator) == expected
    assert listed(world.city_mediator, "&state=pending_acceptance") == expected
    assert listed(world.city_mediator, "&state=mediating") == []
    assert listed(world.mediator) == [cases[3].id, cases[2].id, cases[1].id, cases[0].id]
    assert listed(world.other_mediator) == []
