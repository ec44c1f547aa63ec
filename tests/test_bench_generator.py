"""The benchmark's data generator (bench/generate.py) makes real cases: every case has its
hash-chained timeline, states and clocks agree with the state machine and the calendar,
and the sweep finds exactly the K due cases it was asked to plant."""

from datetime import UTC, datetime

import sqlalchemy as sa

from bench.generate import BENCH_EMAILS, BENCH_PASSWORD, generate
from odr.auth.models import User
from odr.disputes.events import verify_chain
from odr.disputes.models import CaseEvent, Complaint, Message, Offer, Signature
from odr.disputes.states import CLOSED_STATES, OPEN_STATES, State
from odr.disputes.sweep import sweep

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
