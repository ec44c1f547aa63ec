"""The benchmark's data generator (bench/generate.py) makes real cases: every case has its
hash-chained timeline, states and clocks agree with the state machine and the calendar,
and the sweep finds exactly the K due cases it was asked to plant."""

from datetime import UTC, datetime

import sqlalchemy as sa

from bench.generate import BENCH_EMAILS, BENCH_PASSWORD, generate, seal_cases
from odr.auth.models import User
from odr.disputes.events import verify_chain
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    JointComplaint,
    JointMember,
    Message,
    Notification,
    Offer,
    Signature,
)
from odr.disputes.states import CLOSED_STATES, OPEN_STATES, State
from odr.disputes.sweep import sweep
from odr.maintenance.audit import AuditReport, verify_registry, verify_seals

AS_OF = datetime(2026, 6, 16, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, a Tuesday


def _generate(**kw):
    return generate(n=200, k_due=5, as_of=AS_OF, seed=7, progress=lambda *_: None, **kw)


def test_every_case_is_consistent(db):
    meta = _generate()
    cases = db.session.scalars(sa.select(Complaint).order_by(Complaint.id)).all()
    assert len(cases) == 200
    assert sum(meta["counts"].values()) == 200
    assert {c.state for c in cases} == set(State)  # every state is represented

    events: dict[int, list[CaseEvent]] = {}
    for event in db.session.scalars(sa.select(CaseEvent).order_by(CaseEvent.id)):
        events.setdefault(event.complaint_id, []).append(event)
    offers = {o.id: o for o in db.session.scalars(sa.select(Offer))}
    for case in cases:
        timeline = events.get(case.id)
        assert timeline, f"case {case.id} has no events"
        assert timeline[0].action == "file" and timeline[0].from_state is None
        assert timeline[-1].to_state == str(case.state)
        for before, after in zip(timeline, timeline[1:], strict=False):
            assert after.from_state == before.to_state
            assert after.at >= before.at
        assert timeline[-1].at < AS_OF
        assert verify_chain(case.id) == []
        assert case.reference.endswith(f"{case.id:07d}")
        if case.state in OPEN_STATES:
            assert case.closed_at is None
            if case.state == State.SUSPENDED:
                assert case.deadline_at is None and case.clock_days_left
            elif case.state == State.GATHERING:  # a joint complaint's member: no clock yet
                assert case.deadline_at is None and case.reminder_at is None
                assert case.body_id is None and case.arrived_at is None
            else:
                assert case.deadline_at is not None
        else:
            assert case.state in CLOSED_STATES and case.closed_at is not None
            assert case.deadline_at is None
        for event in timeline:
            if "offer_id" in event.details:
                assert offers[event.details["offer_id"]].complaint_id == case.id
        if case.state == State.SETTLED:
            accepted = [o for o in offers.values() if o.complaint_id == case.id]
            assert [o.status for o in accepted].count("accepted") == 1
        if case.state == State.NEGOTIATING:
            assert case.enterprise is not None and case.enterprise.is_odr
            assert case.answer_due_at == case.deadline_at

    # Every gathering case is one member's claim in a gathering joint complaint of 2 to 5
    # members, each a different consumer, against the group's approved enterprise.
    gathering = {c.id: c for c in cases if c.state == State.GATHERING}
    members = db.session.scalars(sa.select(JointMember).order_by(JointMember.id)).all()
    assert sorted(m.complaint_id for m in members) == sorted(gathering)
    for joint in db.session.scalars(sa.select(JointComplaint)):
        mine = [m for m in members if m.joint_id == joint.id]
        assert joint.state == "gathering" and 2 <= len(mine) <= 5
        assert joint.reference.endswith(f"{joint.id:07d}")
        assert mine[0].consumer_id == joint.created_by_id
        assert mine[0].joined_at == joint.created_at
        assert len({m.consumer_id for m in mine}) == len(mine)
        assert sum(m.representative for m in mine) <= 2
        assert joint.enterprise.is_odr
        for m in mine:
            case = gathering[m.complaint_id]
            assert m.left_at is None and m.joined_at == case.filed_at
            assert case.consumer_id == m.consumer_id
            assert (case.enterprise_id, case.issue, case.subject) == (
                joint.enterprise_id,
                joint.issue,
                joint.subject,
            )
            [filing] = events[case.id]
            assert filing.details["joint_complaint_id"] == joint.id

    assert db.session.scalar(sa.select(sa.func.count(Message.id))) > 0
    assert db.session.scalar(sa.select(sa.func.count(Signature.id))) > 0
    # The bench users can log in with the published password.
    consumer = db.session.scalar(sa.select(User).where(User.email == BENCH_EMAILS["consumer"]))
    assert consumer.check_password(BENCH_PASSWORD)
    assert set(meta["samples"]["consumer"]) == {c.id for c in cases if c.consumer_id == consumer.id}


def test_exactly_k_cases_are_due_and_the_sweep_moves_only_them(db):
    meta = _generate()
    due = db.session.scalars(
        sa.select(Complaint.id).where(
            Complaint.state == State.NEGOTIATING, Complaint.deadline_at < AS_OF
        )
    ).all()
    assert sorted(due) == meta["due_ids"] and len(due) == 5
    # No reminder already due, no acceptance or mediation clock already run out.
    assert not db.session.scalar(
        sa.select(sa.func.count(Complaint.id)).where(Complaint.reminder_at <= AS_OF)
    )

    report = sweep(AS_OF)
    assert report.count("escalated") == 5
    assert len(report.actions) == 5
    moved = db.session.scalars(sa.select(Complaint).where(Complaint.id.in_(due))).all()
    assert {c.state for c in moved} == {State.PENDING_ACCEPTANCE}
    assert all(verify_chain(c.id) == [] for c in moved)
    assert sweep(AS_OF).actions == []


def test_new_rows_get_fresh_ids_after_a_bulk_load(db):
    """Sequences are moved past the bulk-loaded ids (PostgreSQL), so the portal can add rows."""
    from decimal import Decimal

    from odr.auth import operations as auth_ops
    from odr.auth.models import UserRole

    meta = _generate()
    top_user = db.session.scalar(sa.select(sa.func.max(User.id)))
    top_offer = db.session.scalar(sa.select(sa.func.max(Offer.id)))
    user = auth_ops.register_consumer(email="new@test.example", password="x" * 10, name="新用户")
    assert user.role == UserRole.CONSUMER and user.id > top_user
    offer = Offer(
        complaint_id=meta["first_case_id"],
        made_by_id=user.id,
        remedy="refund",
        amount=Decimal("1.00"),
        terms="退款",
    )
    db.session.add(offer)
    db.session.commit()
    assert offer.id > top_offer


def test_a_gathering_member_case_looks_like_the_portals(db):
    """A generated member's claim has the rows and the filing event's details that
    odr/disputes/joint.py writes when a consumer starts or joins a group."""
    from datetime import timedelta

    from odr.disputes import joint

    meta = _generate()
    generated = db.session.scalar(
        sa.select(Complaint).where(Complaint.state == State.GATHERING).limit(1)
    )
    group = db.session.get(JointComplaint, joint.joint_of(generated.id).id)
    creator, joiner = db.session.scalars(
        sa.select(User)
        .where(User.role == "consumer", User.id != meta["bench_users"]["consumer"]["id"])
        .order_by(User.id.desc())
        .limit(2)
    ).all()
    claim = {
        "purchase_date": "2026-06-01",
        "purchase_place": "线上店铺",
        "amount": "300.00",
        "claimed_amount": "300.00",
        "requests": ["refund"],
        "facts": "健身房关门，预付卡余额无法使用。",
    }
    now = AS_OF - timedelta(hours=1)
    made = joint.start(
        creator,
        {
            "enterprise_id": group.enterprise_id,
            "issue": str(group.issue),
            "subject": group.subject,
            "facts": group.facts,
            **claim,
        },
        now=now,
    )
    joint.join(joiner, made, claim, now=now)
    db.session.commit()

    def filing(case_id):
        return db.session.scalar(
            sa.select(CaseEvent).where(CaseEvent.complaint_id == case_id).order_by(CaseEvent.id)
        )

    def shape(obj, skip=()):
        return {
            c.key: getattr(obj, c.key) is None
            for c in sa.inspect(type(obj)).columns
            if c.key not in skip
        }

    # The portal's filing leaves it empty and its next sweep stamps it (clocks.catch_up);
    # the generator stamps its open cases as that sweep would.
    later = {"calendar_version"}
    for member in joint.members_of(made):
        portal = db.session.get(Complaint, member.complaint_id)
        assert shape(portal, later) == shape(generated, later)
        ours, theirs = filing(generated.id), filing(portal.id)
        assert (ours.action, ours.actor_role, ours.from_state, ours.to_state) == (
            theirs.action,
            theirs.actor_role,
            theirs.from_state,
            theirs.to_state,
        )
        assert list(ours.details) == list(theirs.details)
        assert ours.details["rule_set"] == theirs.details["rule_set"]
        assert ours.details["identity_declared"] is theirs.details["identity_declared"] is True
        ours_member = db.session.scalar(
            sa.select(JointMember).where(JointMember.complaint_id == generated.id)
        )
        assert shape(member, {"representative"}) == shape(ours_member, {"representative"})
    assert shape(made) == shape(group)
    # Nobody is told of a claim that waits for the group.
    assert not db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.complaint_id.in_(
                [generated.id, *(m.complaint_id for m in joint.members_of(made))]
            )
        )
    )


def test_sealed_bench_cases_audit_clean_before_and_after_the_sweep(db):
    """The bench seals its cases as filing does (seal_cases), so the sweep's figure pays for
    reading and re-sealing them; the seals are real: the audit finds nothing, and still
    nothing after the sweep re-sealed the due cases from what it wrote."""
    meta = _generate()
    assert seal_cases(progress=lambda *_: None) == 200

    def problems():
        report = AuditReport()
        verify_registry(report)
        verify_seals(report)
        return report.problems

    assert problems() == []
    assert sweep(AS_OF).count("escalated") == len(meta["due_ids"])
    assert problems() == []
