"""The two faces of visibility agree: for every user of a world with users of every role
(and disabled ones) and cases in every state, `role_in_case(user, case) is not None`
exactly when the case is in `select(Complaint.id).where(cases_visible_to(user))`; and the
lists (web and API) show nothing outside it."""

from odr.auth.models import UserRole
from odr.disputes import joint
from odr.disputes import operations as ops
from odr.disputes.models import BodyMembership, Complaint, EnterpriseStatus
from odr.disputes.permissions import cases_visible_to, role_in_case, visibility
from odr.disputes.states import State
from odr.extensions import db
from tests.factories import file_case, user


def _cases_in_every_state(w) -> list[Complaint]:
    """One case in each state, at several bodies, one raised to a parent office, one
    against an enterprise that is not listed, one transferred."""
    c, e = w.consumer, w.enterprise
    cases = [file_case(c, e, commit=False)]  # negotiating
    settled = file_case(c, e, commit=False)
    offer = ops.make_offer(w.agent, settled, remedy="refund", amount="10", terms="退款")
    ops.accept_offer(c, settled, offer.id)
    cases.append(settled)
    pending = file_case(c, e, commit=False, green_channel=False)  # at Jinshui
    cases.append(pending)
    raised = file_case(w.other_consumer, e, commit=False, green_channel=False)
    ops.flag_overdue(raised)  # raised to the city office
    cases.append(raised)
    unlisted = file_case(
        c, None, commit=False, respondent_name="路边小店", respondent_region_code="410103"
    )
    cases.append(unlisted)  # at Erqi, no enterprise
    mediating = file_case(c, e, commit=False, green_channel=False)
    ops.accept_case(w.mediator, mediating)
    cases.append(mediating)
    suspended = file_case(c, e, commit=False, green_channel=False)
    ops.accept_case(w.head, suspended)
    ops.suspend(w.head, suspended, reason="送检")
    cases.append(suspended)
    refused = file_case(c, w.other_enterprise, commit=False, green_channel=False)
    ops.refuse_case(w.other_mediator, refused, reason="R1")
    cases.append(refused)
    withdrawn = file_case(w.other_consumer, w.other_enterprise, commit=False)
    ops.withdraw(w.other_consumer, withdrawn)
    cases.append(withdrawn)
    terminated = file_case(c, e, commit=False, green_channel=False)
    ops.accept_case(w.mediator, terminated)
    ops.terminate(w.mediator, terminated, reason="T2")
    cases.append(terminated)
    mediated = file_case(c, e, commit=False, green_channel=False)
    ops.accept_case(w.mediator, mediated)
    ops.propose_agreement(w.mediator, mediated, terms="退款", amount="10")
    ops.sign_agreement(c, mediated)
    ops.sign_agreement(w.agent, mediated)
    cases.append(mediated)
    transferred = file_case(c, e, commit=False, green_channel=False)
    ops.transfer_case(w.head, transferred, body_id=w.erqi.id)
    cases.append(transferred)
    # A case naming an enterprise still applying: no filing may name one any more
    # (permissions.nameable), but a row from before that rule may: its staff see none of it.
    pending_enterprise = file_case(c, e, commit=False, green_channel=False)
    pending_enterprise.enterprise_id = w.pending_enterprise.id
    pending_enterprise.enterprise = w.pending_enterprise
    cases.append(pending_enterprise)
    # A joint complaint's member cases before submission: the enterprise sees neither the
    # one still gathering nor the one withdrawn before the group was sent.
    claim = {
        "purchase_date": "2026-09-01",
        "amount": "500",
        "claimed_amount": "500",
        "requests": ["refund"],
        "facts": "健身房关门",
    }
    group = joint.start(
        c,
        {
            "enterprise_id": e.id,
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
            **claim,
        },
    )
    left = joint.join(w.other_consumer, group, claim)
    joint.leave(w.other_consumer, group)
    cases.append(db.session.get(Complaint, joint.members_of(group)[0].complaint_id))
    cases.append(db.session.get(Complaint, left.complaint_id))
    return cases


def _users(w) -> list:
    """Every role, with the ones who must see nothing: disabled accounts, a mediator whose
    membership ended, a mediator of no body, staff of an enterprise still applying."""
    disabled_consumer = user(UserRole.CONSUMER, "gone@test.example")
    disabled_consumer.active = False
    deactivated = user(UserRole.MEDIATOR, "deactivated@test.example", body_=w.jinshui)
    deactivated.active = False
    left = user(UserRole.MEDIATOR, "left@test.example", body_=w.erqi)
    db.session.scalar(
        db.select(BodyMembership).where(BodyMembership.user_id == left.id)
    ).active = False
    nowhere = user(UserRole.MEDIATOR, "nowhere@test.example")
    erqi = user(UserRole.MEDIATOR, "erqi@test.example", body_=w.erqi)
    province = user(UserRole.MEDIATOR, "province@test.example", body_=w.province_body, head=True)
    applicant = user(UserRole.ENTERPRISE, "applicant@test.example", enterprise=w.pending_enterprise)
    disabled_admin = user(UserRole.ADMIN, "oldadmin@test.example")
    disabled_admin.active = False
    db.session.flush()
    return [
        w.consumer,
        w.consumer_en,
        w.other_consumer,
        disabled_consumer,
        w.owner,
        w.agent,
        w.other_agent,
        applicant,
        w.head,
        w.mediator,
        w.city_mediator,
        w.other_mediator,
        erqi,
        province,
        deactivated,
        left,
        nowhere,
        w.admin,
        disabled_admin,
    ]


def test_role_in_case_and_cases_visible_to_agree(world, db):
    cases = _cases_in_every_state(world)
    users = _users(world)
    db.session.commit()
    states = {c.state for c in cases}
    assert states >= set(State), set(State) - states
    every = {c.id for c in cases}
    checked = 0
    for u in users:
        db.session.expire_all()
        listed = set(db.session.scalars(db.select(Complaint.id).where(cases_visible_to(u))))
        assert listed <= every
        for case in db.session.scalars(db.select(Complaint)):
            one = role_in_case(u, case) is not None
            assert one == (case.id in listed), (u.email, case.reference, case.state, one)
            checked += 1
    assert checked == len(users) * len(cases)
    # The world is not trivial: someone of every role sees something, some see nothing.
    assert visibility(world.admin)[0] == "all"
    seen_by = {
        u.email: len(set(db.session.scalars(db.select(Complaint.id).where(cases_visible_to(u)))))
        for u in users
    }
    assert seen_by["admin@test.example"] == len(cases)
    assert 0 < seen_by["agent@test.example"] < len(cases)
    assert 0 < seen_by["mediator@test.example"] < len(cases)
    assert 0 < seen_by["city@test.example"] < len(cases)  # the raised case
    for nobody in ("gone@test.example", "deactivated@test.example", "left@test.example"):
        assert seen_by[nobody] == 0, nobody
    assert seen_by["nowhere@test.example"] == 0 and seen_by["oldadmin@test.example"] == 0


def test_api_list_shows_exactly_the_visible_cases(world, db, api):
    cases = _cases_in_every_state(world)
    db.session.commit()
    for u in (
        world.consumer,
        world.agent,
        world.other_agent,
        world.mediator,
        world.head,
        world.city_mediator,
        world.other_mediator,
        world.admin,
    ):
        listed, cursor = set(), None
        while True:
            url = "/complaints?limit=5" + (f"&cursor={cursor}" if cursor else "")
            page = api.get(u, url).get_json()
            listed |= {item["id"] for item in page["items"]}
            cursor = page["next_cursor"]
            if not cursor:
                break
        db.session.expire_all()
        visible = set(db.session.scalars(db.select(Complaint.id).where(cases_visible_to(u))))
        assert listed == visible, u.email
        assert listed <= {c.id for c in cases}


def test_a_suspended_enterprise_still_sees_its_cases(world, db):
    case = file_case(world.consumer, world.enterprise)
    world.enterprise.status = EnterpriseStatus.SUSPENDED
    db.session.commit()
    assert role_in_case(world.agent, case) is not None
    assert case.id in set(
        db.session.scalars(db.select(Complaint.id).where(cases_visible_to(world.agent)))
    )
