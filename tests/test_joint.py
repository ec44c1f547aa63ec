"""Joint complaints (共同投诉): many consumers, one enterprise, one answer — through the API
(API.md "Joint complaints") and the domain, on both databases. A member's case is a case:
every member answers, signs and withdraws on their own case with the case endpoints."""

import io
import re
from datetime import date, timedelta

import pdfplumber
import pytest

from odr.auth.models import UserRole
from odr.disputes import deadlines
from odr.disputes import joint as groups
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    JointComplaint,
    JointMember,
    Notification,
    Offer,
)
from odr.disputes.states import State
from odr.disputes.sweep import sweep
from odr.extensions import db
from tests import factories

CLAIM = {
    "purchase_date": "2026-09-01",
    "amount": "3000.00",
    "claimed_amount": "2400.00",
    "requests": ["refund"],
    "complainant_address": "郑州市金水区健身路1号",
    "facts": "健身房突然关门，预付卡余额无法使用。",
}


@pytest.fixture
def real_pdf():
    """Ask for it to render records for real."""


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch, request):
    """Settlement and agreement records are proved elsewhere; here a stub keeps the tests
    fast, except where the group record itself is read (`real_pdf`)."""
    if "real_pdf" not in request.fixturenames:
        monkeypatch.setattr(
            "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
        )


def start(api, consumer, enterprise, **extra):
    body = {
        "enterprise_id": enterprise.id,
        "issue": "prepaid_card",
        "subject": "健身卡 Gym card",
        "facts": "The gym closed with our prepaid cards. 健身房关门。",
        "green_channel": True,
        **extra,
    }
    response = api.post(consumer, "/joint-complaints", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def join(api, consumer, joint_id, **extra):
    response = api.post(consumer, f"/joint-complaints/{joint_id}/members", json={**CLAIM, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def group(api, user, joint_id):
    response = api.get(user, f"/joint-complaints/{joint_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def consumers(n):
    return [
        factories.user(UserRole.CONSUMER, name=f"会员{i}", locale="zh_CN" if i % 2 else "en")
        for i in range(n)
    ]


def submitted_group(api, world, n=3):
    """A group of the world's consumer (representative) and n - 1 others, submitted."""
    people = [world.consumer, *consumers(n - 1)]
    db.session.commit()
    joint = start(api, people[0], world.enterprise, **CLAIM)
    for person in people[1:]:
        join(api, person, joint["id"])
    me = group(api, people[0], joint["id"])["members"][0]["id"]
    assert (
        api.post(
            people[0], f"/joint-complaints/{joint['id']}/representatives", json={"member_ids": [me]}
        ).status_code
        == 200
    )
    response = api.post(people[0], f"/joint-complaints/{joint['id']}/submit")
    assert response.status_code == 200, response.get_json()
    return response.get_json(), people


def case_ids(data):
    return [m["complaint_id"] for m in data["members"] if m["active"]]


# -- starting, finding, joining ------------------------------------------------------------


def test_start_find_and_join(world, api):
    created = start(api, world.consumer, world.enterprise)
    assert created["state"] == "gathering" and created["reference"].startswith("JC-")
    [creator] = created["members"]
    assert creator["you"] and creator["complaint_id"] is None and created["member_count"] == 0

    # The creator gives their claim like anyone joining; then someone else joins.
    mine = join(api, world.consumer, created["id"])
    assert mine["state"] == "gathering" and mine["reference"].startswith("ODR-")
    assert mine["deadline_at"] is None and mine["id"] == creator["id"]
    theirs = join(api, world.other_consumer, created["id"], claimed_amount="999.00")
    assert theirs["complaint_id"] != mine["complaint_id"]
    assert theirs["reference"] != mine["reference"]

    # Anyone finds the group, without personal data.
    listed = api.get(world.consumer_en, f"/joint-complaints?enterprise_id={world.enterprise.id}")
    [item] = listed.get_json()["items"]
    assert item["member_count"] == 2 and item["state"] == "gathering"
    assert set(item) == {
        "id",
        "reference",
        "enterprise",
        "issue",
        "subject",
        "state",
        "member_count",
        "created_at",
    }
    assert "张三" not in listed.get_data(as_text=True)
    assert (
        api.get(
            world.consumer, f"/joint-complaints?enterprise_id={world.other_enterprise.id}"
        ).get_json()["items"]
        == []
    )
    # A stranger sees the group as listed; a member sees fellow members masked.
    assert group(api, world.consumer_en, created["id"])["members"] == []
    seen = group(api, world.other_consumer, created["id"])["members"]
    assert [m["name"] for m in seen] == ["张*", "李四"]
    assert seen[0]["claimed_amount"] is None and seen[1]["claimed_amount"] == "999.00"

    # Before submission the enterprise sees neither the group nor the cases.
    assert api.get(world.agent, f"/joint-complaints/{created['id']}").status_code == 404
    assert api.get(world.agent, f"/complaints/{mine['complaint_id']}").status_code == 404
    assert api.get(world.agent, "/complaints").get_json()["items"] == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0


def test_start_with_the_creators_claim_and_bad_input(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    assert created["members"][0]["complaint_id"] and created["member_count"] == 1
    for body, field in (
        ({"enterprise_id": world.pending_enterprise.id}, "enterprise_id"),
        ({"issue": "nonsense"}, "issue"),
        ({"subject": ""}, "subject"),
    ):
        data = {
            "enterprise_id": world.enterprise.id,
            "issue": "price",
            "subject": "x",
            "facts": "y",
            **body,
        }
        response = api.post(world.consumer, "/joint-complaints", json=data)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["error"]["fields"]
    # A claim with a future purchase date: nothing written, not even the group.
    before = db.session.scalar(db.select(db.func.count()).select_from(JointComplaint))
    response = api.post(
        world.other_consumer,
        "/joint-complaints",
        json={
            "enterprise_id": world.enterprise.id,
            "issue": "price",
            "subject": "x",
            "facts": "y",
            **CLAIM,
            "purchase_date": "2099-01-01",
        },
    )
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(JointComplaint)) == before
    assert (
        api.post(
            world.agent,
            "/joint-complaints",
            json={
                "enterprise_id": world.enterprise.id,
                "issue": "price",
                "subject": "x",
                "facts": "y",
            },
        ).status_code
        == 403
    )


def test_joining_twice_after_leaving_or_after_submission_is_409(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    join(api, world.other_consumer, created["id"])
    url = f"/joint-complaints/{created['id']}/members"
    twice = api.post(world.other_consumer, url, json=CLAIM)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "invalid_transition"
    members = db.session.scalar(db.select(db.func.count()).select_from(JointMember))
    cases = db.session.scalar(db.select(db.func.count()).select_from(Complaint))

    assert (
        api.post(world.other_consumer, f"/joint-complaints/{created['id']}/leave").status_code
        == 200
    )
    assert api.post(world.other_consumer, url, json=CLAIM).status_code == 409

    me = group(api, world.consumer, created["id"])["members"][0]["id"]
    api.post(
        world.consumer,
        f"/joint-complaints/{created['id']}/representatives",
        json={"member_ids": [me]},
    )
    join(api, world.consumer_en, created["id"])
    assert api.post(world.consumer, f"/joint-complaints/{created['id']}/submit").status_code == 200
    late = factories.user(UserRole.CONSUMER)
    db.session.commit()
    assert api.post(late, url, json=CLAIM).status_code == 409
    # Invalid claims: 422, nothing written.
    other = start(api, world.consumer_en, world.enterprise)
    bad = api.post(
        world.other_consumer,
        f"/joint-complaints/{other['id']}/members",
        json={**CLAIM, "amount": "-1", "requests": []},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) >= {"amount", "requests"}
    assert db.session.scalar(db.select(db.func.count()).select_from(JointMember)) == members + 2
    assert db.session.scalar(db.select(db.func.count()).select_from(Complaint)) == cases + 1


def test_leaving_before_submission_withdraws_the_case(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    theirs = join(api, world.other_consumer, created["id"])
    left = api.post(
        world.other_consumer,
        f"/joint-complaints/{created['id']}/leave",
        json={"reason": "Refunded by my bank"},
    )
    assert left.status_code == 200
    assert left.get_json()["member_count"] == 1
    case = db.session.get(Complaint, theirs["complaint_id"])
    assert case.state == State.WITHDRAWN and case.termination_reason == "T1"
    assert (
        api.post(world.other_consumer, f"/joint-complaints/{created['id']}/leave").status_code
        == 409
    )
    # The last member leaving dissolves the group; it is no longer listed.
    assert api.post(world.consumer, f"/joint-complaints/{created['id']}/leave").status_code == 200
    assert db.session.get(JointComplaint, created["id"]).state == "dissolved"
    assert api.get(world.consumer_en, "/joint-complaints").get_json()["items"] == []
    # The enterprise was never told.
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0


# -- representatives and submission ---------------------------------------------------------


def test_representatives_at_most_two_and_only_active_members(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    join(api, world.other_consumer, created["id"])
    join(api, world.consumer_en, created["id"])
    fourth = factories.user(UserRole.CONSUMER, name="赵六")
    db.session.commit()
    join(api, fourth, created["id"])
    ids = [m["id"] for m in group(api, world.consumer, created["id"])["members"]]
    url = f"/joint-complaints/{created['id']}/representatives"

    assert api.post(world.consumer_en, url, json={"member_ids": ids[:2]}).status_code == 200
    third = api.post(world.consumer, url, json={"member_ids": [ids[2]]})
    assert third.status_code == 409
    assert api.post(world.consumer, url, json={"member_ids": ids[1:4]}).status_code == 409
    reps = [m["representative"] for m in group(api, world.consumer, created["id"])["members"]]
    assert reps == [True, True, False, False]
    # A representative who leaves is no longer one; a member who left cannot be elected.
    assert (
        api.post(world.other_consumer, f"/joint-complaints/{created['id']}/leave").status_code
        == 200
    )
    assert (
        api.post(world.other_consumer, f"/joint-complaints/{created['id']}/submit").status_code
        == 403
    )
    assert api.post(world.consumer, url, json={"member_ids": [ids[1]]}).status_code == 409
    assert api.post(world.consumer, url, json={"member_ids": [ids[2]]}).status_code == 200
    # Not a member of this group: 422; not a member at all: 404.
    other = start(api, world.consumer_en, world.other_enterprise)
    foreign = api.post(world.consumer, url, json={"member_ids": [other["members"][0]["id"]]})
    assert foreign.status_code == 422 and "member_ids" in foreign.get_json()["error"]["fields"]
    outsider = factories.user(UserRole.CONSUMER)
    db.session.commit()
    assert api.post(outsider, url, json={"member_ids": [ids[0]]}).status_code == 404


def test_submission_sends_every_case_with_one_deadline(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    join(api, world.other_consumer, created["id"])
    join(api, world.consumer_en, created["id"])
    leaver = factories.user(UserRole.CONSUMER)
    db.session.commit()
    gone = join(api, leaver, created["id"])
    api.post(leaver, f"/joint-complaints/{created['id']}/leave")
    ids = [m["id"] for m in group(api, world.consumer, created["id"])["members"]]
    url = f"/joint-complaints/{created['id']}/submit"
    # A member who is not a representative may not submit; nobody is elected yet.
    assert api.post(world.consumer, url).status_code == 403
    assert api.post(world.agent, url).status_code == 404
    api.post(
        world.consumer,
        f"/joint-complaints/{created['id']}/representatives",
        json={"member_ids": [ids[1]]},
    )
    response = api.post(world.other_consumer, url)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["state"] == "submitted" and data["member_count"] == 3
    cases = [db.session.get(Complaint, cid) for cid in case_ids(data)]
    assert {c.state for c in cases} == {State.NEGOTIATING}
    assert len({c.deadline_at for c in cases}) == 1
    submitted_at = db.session.get(JointComplaint, created["id"]).submitted_at
    expected = deadlines.working_day_deadline(submitted_at, deadlines.NEGOTIATION_DAYS)
    assert cases[0].deadline_at == expected and data["deadline_at"] is not None
    assert db.session.get(Complaint, gone["complaint_id"]).state == State.WITHDRAWN
    # One event per case, by the representative, in the case's own chain.
    event = db.session.scalars(
        db.select(CaseEvent)
        .where(CaseEvent.complaint_id == cases[0].id)
        .order_by(CaseEvent.id.desc())
    ).first()
    assert (event.action, event.actor_role, event.actor_id) == (
        "submit",
        "representative",
        world.other_consumer.id,
    )
    assert event.details["joint_reference"] == created["reference"]
    # The enterprise now sees the group (with every claim) and the cases in its list.
    seen = group(api, world.agent, created["id"])
    assert [m["claimed_amount"] for m in seen["members"] if m["active"]] == ["2400.00"] * 3
    listed = {c["id"] for c in api.get(world.agent, "/complaints").get_json()["items"]}
    assert listed == set(case_ids(data))
    assert api.post(world.other_consumer, url).status_code == 409


def test_a_group_needs_two_members(world, api):
    created = start(api, world.consumer, world.enterprise, **CLAIM)
    me = created["members"][0]["id"]
    api.post(
        world.consumer,
        f"/joint-complaints/{created['id']}/representatives",
        json={"member_ids": [me]},
    )
    assert api.post(world.consumer, f"/joint-complaints/{created['id']}/submit").status_code == 409
    assert db.session.get(JointComplaint, created["id"]).state == "gathering"


# -- the enterprise's one answer and each member's own ---------------------------------------


def test_group_offer_by_share_and_per_member_answers(world, api):
    data, people = submitted_group(api, world, n=3)
    url = f"/joint-complaints/{data['id']}/offers"
    response = api.post(
        world.agent,
        url,
        json={
            "remedy": "refund",
            "terms": "退还预付卡余额的八成",
            "share_percent": 80,
            "performance_due": (date.today() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 201, response.get_json()
    offers = response.get_json()["offers"]
    assert [o["amount"] for o in offers] == ["1920.00"] * 3
    assert [o["complaint_id"] for o in offers] == case_ids(data)
    # Each member answers on their own case.
    a, b, c = people
    first, second, third = offers
    ok = api.post(a, f"/complaints/{first['complaint_id']}/offers/{first['offer_id']}/accept")
    assert ok.status_code == 200 and ok.get_json()["state"] == "settled"
    assert ok.get_json()["settled_amount"] == "1920.00"
    no = api.post(
        b,
        f"/complaints/{second['complaint_id']}/offers/{second['offer_id']}/reject",
        json={"counter_proposal": "全额"},
    )
    assert no.status_code == 200 and no.get_json()["state"] == "negotiating"
    # Nobody answers for someone else.
    assert (
        api.post(
            a, f"/complaints/{third['complaint_id']}/offers/{third['offer_id']}/accept"
        ).status_code
        == 404
    )
    states = {m["complaint_id"]: m["state"] for m in group(api, world.agent, data["id"])["members"]}
    assert states == {
        first["complaint_id"]: "settled",
        second["complaint_id"]: "negotiating",
        third["complaint_id"]: "negotiating",
    }
    # A second answer reaches only the members still in direct settlement.
    again = api.post(
        world.agent,
        url,
        json={
            "remedy": "refund",
            "terms": "全额退款",
            "amounts": [{"complaint_id": second["complaint_id"], "amount": "2400.00"}],
        },
    )
    assert again.status_code == 201
    assert db.session.get(Offer, third["offer_id"]).status == "open"
    # Leaving after the agreement: 409, nothing changed.
    left = api.post(a, f"/joint-complaints/{data['id']}/leave")
    assert left.status_code == 409
    assert db.session.get(Complaint, first["complaint_id"]).state == State.SETTLED
    member = db.session.scalar(db.select(JointMember).where(JointMember.consumer_id == a.id))
    assert member.left_at is None


def test_offer_for_someone_outside_the_group_is_422_and_writes_nothing(world, api):
    data, people = submitted_group(api, world, n=3)
    outsider = factories.file_case(world.other_consumer, world.enterprise)
    url = f"/joint-complaints/{data['id']}/offers"
    ids = case_ids(data)
    before = db.session.scalar(db.select(db.func.count()).select_from(Offer))
    for amounts in (
        [
            {"complaint_id": ids[0], "amount": "100.00"},
            {"complaint_id": outsider.id, "amount": "1"},
        ],
        [{"complaint_id": ids[0], "amount": "100.00"}, {"complaint_id": ids[0], "amount": "1"}],
    ):
        response = api.post(
            world.agent, url, json={"remedy": "refund", "terms": "x", "amounts": amounts}
        )
        assert response.status_code == 422, response.get_json()
        assert "amounts" in response.get_json()["error"]["fields"]
    for body in (
        {"share_percent": 0},
        {"share_percent": 120},
        {},
        {"share_percent": 50, "amounts": [{"complaint_id": ids[0], "amount": "1"}]},
    ):
        response = api.post(world.agent, url, json={"remedy": "refund", "terms": "x", **body})
        assert response.status_code == 422, (body, response.get_json())
    # A member who left: 422 too.
    api.post(people[2], f"/joint-complaints/{data['id']}/leave")
    response = api.post(
        world.agent,
        url,
        json={
            "remedy": "refund",
            "terms": "x",
            "amounts": [{"complaint_id": ids[2], "amount": "5"}],
        },
    )
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Offer)) == before
    # Another enterprise, or a member: not theirs.
    assert (
        api.post(
            world.other_agent, url, json={"remedy": "refund", "terms": "x", "share_percent": 10}
        ).status_code
        == 404
    )
    assert (
        api.post(
            people[0], url, json={"remedy": "refund", "terms": "x", "share_percent": 10}
        ).status_code
        == 403
    )


# -- escalation, one mediator, a partial agreement -----------------------------------------


def test_escalation_one_mediator_and_a_partial_agreement(world, api):
    data, people = submitted_group(api, world, n=3)
    ids = case_ids(data)
    declined = api.post(
        world.agent, f"/joint-complaints/{data['id']}/decline", json={"reason": "Closed for good"}
    )
    assert declined.status_code == 200, declined.get_json()
    cases = [db.session.get(Complaint, i) for i in ids]
    assert {c.state for c in cases} == {State.PENDING_ACCEPTANCE}
    assert {c.body_id for c in cases} == {world.jinshui.id}
    # Another body's mediator has no part; the competent one accepts the group once.
    assert (
        api.post(world.other_mediator, f"/joint-complaints/{data['id']}/accept").status_code == 404
    )
    accepted = api.post(world.head, f"/joint-complaints/{data['id']}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["mediator_id"] == world.head.id
    db.session.expire_all()
    assert {(c.state, c.mediator_id) for c in cases} == {(State.MEDIATING, world.head.id)}

    proposed = api.post(
        world.head,
        f"/joint-complaints/{data['id']}/agreement",
        json={
            "terms": "被申请人按下列金额退还各会员预付卡余额。",
            "amounts": [
                {"complaint_id": i, "amount": a}
                for i, a in zip(ids, ["2000.00", "1500.00", "1000.00"], strict=True)
            ],
        },
    )
    assert proposed.status_code == 201, proposed.get_json()
    assert [a["amount"] for a in proposed.get_json()["agreements"]] == [
        "2000.00",
        "1500.00",
        "1000.00",
    ]
    # The enterprise signs once for the group; two members sign their own.
    assert (
        api.post(world.agent, f"/joint-complaints/{data['id']}/agreement/sign").status_code == 200
    )
    for person, case_id in zip(people[:2], ids[:2], strict=True):
        signed = api.post(person, f"/complaints/{case_id}/agreement/sign")
        assert signed.status_code == 200 and signed.get_json()["state"] == "mediated"
    # The third does not sign: the mediator ends their mediation with their own reason.
    ended = api.post(
        world.head,
        f"/complaints/{ids[2]}/terminate",
        json={"reason": "T4", "explanation": "申请人表示无法达成协议"},
    )
    assert ended.status_code == 200
    seen = group(api, world.head, data["id"])
    outcome = {
        m["complaint_id"]: (m["state"], m["settled_amount"], m["termination_reason"])
        for m in seen["members"]
    }
    assert outcome == {
        ids[0]: ("mediated", "2000.00", None),
        ids[1]: ("mediated", "1500.00", None),
        ids[2]: ("terminated", None, "T4"),
    }


def test_members_escalate_their_own_case_and_the_deadline_moves_the_rest(world, api):
    data, people = submitted_group(api, world, n=3)
    ids = case_ids(data)
    mine = api.post(people[2], f"/complaints/{ids[2]}/escalate")
    assert mine.status_code == 200 and mine.get_json()["state"] == "pending_acceptance"
    case = db.session.get(Complaint, ids[0])
    sweep(as_of=case.deadline_at + timedelta(seconds=1))
    db.session.expire_all()
    assert {db.session.get(Complaint, i).state for i in ids} == {State.PENDING_ACCEPTANCE}
    accepted = api.post(world.head, f"/joint-complaints/{data['id']}/accept")
    assert accepted.status_code == 200
    assert {m["state"] for m in accepted.get_json()["members"]} == {"mediating"}


# -- records ---------------------------------------------------------------------------------


def test_group_record_lists_members_by_reference_with_outcomes(world, api, real_pdf):
    data, people = submitted_group(api, world, n=3)
    ids = case_ids(data)
    offers = api.post(
        world.agent,
        f"/joint-complaints/{data['id']}/offers",
        json={"remedy": "refund", "terms": "退款", "share_percent": 50},
    ).get_json()["offers"]
    api.post(people[0], f"/complaints/{ids[0]}/offers/{offers[0]['offer_id']}/accept")
    api.post(people[1], f"/complaints/{ids[1]}/withdraw")
    response = api.get(people[0], f"/joint-complaints/{data['id']}/record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(response.data)) as pdf:
        text = re.sub(r"\s+", "", "\n".join(p.extract_text() or "" for p in pdf.pages))
    references = [db.session.get(Complaint, i).reference for i in ids]
    assert data["reference"] in text and all(r in text for r in references)
    assert "已和解" in text or "和解" in text
    assert "¥1,200.00" in text
    for person in people:
        assert person.name not in text
    assert (
        api.get(world.other_consumer, f"/joint-complaints/{data['id']}/record.pdf").status_code
        == 404
    )
    # Each member's own settlement record stands beside it.
    records = api.get(people[0], f"/complaints/{ids[0]}/records").get_json()["items"]
    assert [r["kind"] for r in records] == ["settlement"]


def test_domain_refuses_half_writes_when_a_batch_fails(world, db):
    """The group offer is checked against every case before anything is written: a member
    case that left direct settlement makes the whole answer 409, no offer written."""
    people = [world.consumer, world.other_consumer]
    joint = groups.start(
        people[0],
        {
            "enterprise_id": world.enterprise.id,
            "issue": "price",
            "subject": "s",
            "facts": "f",
            **CLAIM,
        },
    )
    member = groups.join(people[1], joint, CLAIM)
    first = db.session.scalar(db.select(JointMember).where(JointMember.consumer_id == people[0].id))
    groups.elect(people[0], joint, [first.id])
    groups.submit(people[0], joint)
    db.session.commit()
    from odr.disputes import operations as ops

    ops.escalate(people[1], db.session.get(Complaint, member.complaint_id))
    db.session.commit()
    before = db.session.scalar(db.select(db.func.count()).select_from(Offer))
    from odr.disputes.states import InvalidTransition

    with pytest.raises(InvalidTransition):
        groups.offer(
            world.agent,
            joint,
            remedy="refund",
            terms="t",
            amounts=[
                {"complaint_id": first.complaint_id, "amount": "1"},
                {"complaint_id": member.complaint_id, "amount": "1"},
            ],
        )
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Offer)) == before
    assert date.today()  # the clock is real
