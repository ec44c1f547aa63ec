"""The whole transition table, driven through the operations.

For every (state, move, role) combination (one test per state and role, over every move,
each failing combination reported): a case is put in that state through the real
operations, the move's operation is called by an actor of that role, and

- an allowed combination succeeds and writes exactly one CaseEvent (chain intact);
- any other combination raises a DomainError subclass (NotFound for an actor with no
  relation to the case, Forbidden for a role that may never make the move, InvalidTransition
  for a move the state does not allow), leaves nothing changed in the session before the
  raise, and after a rollback the case reads back exactly as before.

Moves whose operation takes no actor (the sweep's moves) and TERMINATE/EXPIRE, which share
one operation that picks the move from the actor, cannot be called with every role: for
those combinations the operation's own gate (role in case + check_move) is exercised.
"""

from datetime import timedelta

import pytest

from odr.disputes import joint as groups
from odr.disputes import operations as ops
from odr.disputes.choices import PerformanceStatus
from odr.disputes.events import verify_chain
from odr.disputes.models import (
    Agreement,
    CaseEvent,
    Complaint,
    Notification,
    Offer,
    Outbox,
    Record,
)
from odr.disputes.permissions import part_in_case, role_in_case
from odr.disputes.states import (
    TARGETS,
    TRANSITIONS,
    DomainError,
    Forbidden,
    InvalidTransition,
    Move,
    NotFound,
    Role,
    State,
    check_move,
)
from odr.extensions import db
from tests import factories
from tests.factories import shanghai

T0 = shanghai(2026, 9, 7, 10)  # a Monday; the case is filed then
MOVE_AT = shanghai(2026, 9, 8, 15)  # the move under test


def at(hours: int):
    return T0 + timedelta(minutes=hours * 10)


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch):
    """A stub PDF: these tests are about the table, not WeasyPrint (tests of their own
    prove the records)."""
    monkeypatch.setattr(
        "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
    )


# -- cases in every state --------------------------------------------------------------------


def _latest_offer(c: Complaint) -> Offer | None:
    return db.session.scalar(
        db.select(Offer).where(Offer.complaint_id == c.id).order_by(Offer.id.desc()).limit(1)
    )


def _gathering(w):
    """The consumer's claim in a joint complaint started by consumer_en, who is its elected
    representative: the case waits, gathering, until the group is submitted."""
    claim = {
        "purchase_date": "2026-09-01",
        "amount": "900.00",
        "claimed_amount": "900.00",
        "requests": ["refund"],
        "facts": "The gym closed.",
    }
    joint = groups.start(
        w.consumer_en,
        {
            "enterprise_id": w.enterprise.id,
            "issue": "prepaid_card",
            "subject": "Gym card",
            "facts": "The gym closed.",
            **claim,
        },
        now=T0,
    )
    member = groups.join(w.consumer, joint, claim, now=at(1))
    creator = groups.members_of(joint)[0]
    groups.elect(w.consumer_en, joint, [creator.id], now=at(1))
    return db.session.get(Complaint, member.complaint_id)


def _negotiating(w):
    c = factories.file_case(w.consumer, w.enterprise, now=T0, commit=False)
    ops.make_offer(w.agent, c, remedy="refund", amount="100.00", terms="Refund 100", now=at(1))
    return c


def _pending(w):
    c = _negotiating(w)
    ops.escalate(w.consumer, c, reason="No agreement", now=at(2))
    return c


def _mediating(w):
    c = _pending(w)
    ops.accept_case(w.head, c, now=at(3))
    ops.propose_agreement(w.head, c, terms="Refund 200", amount="200.00", now=at(4))
    return c


def _suspended(w):
    c = _mediating(w)
    ops.suspend(w.head, c, reason="Product sent for testing", now=at(5))
    return c


def _settled(w):
    c = _negotiating(w)
    ops.accept_offer(w.consumer, c, _latest_offer(c).id, now=at(2))
    return c


def _mediated(w):
    c = _mediating(w)
    ops.sign_agreement(w.consumer, c, now=at(5))
    ops.sign_agreement(w.agent, c, now=at(6))
    return c


def _refused(w):
    c = _pending(w)
    ops.refuse_case(w.head, c, reason="R3", explanation="No consumer dispute", now=at(3))
    return c


def _terminated(w):
    c = _mediating(w)
    ops.terminate(w.head, c, reason="T4", explanation="No agreement possible", now=at(5))
    return c


def _withdrawn(w):
    c = _negotiating(w)
    ops.withdraw(w.consumer, c, reason="Solved", now=at(2))
    return c


BUILDERS = {
    State.GATHERING: _gathering,
    State.NEGOTIATING: _negotiating,
    State.PENDING_ACCEPTANCE: _pending,
    State.MEDIATING: _mediating,
    State.SUSPENDED: _suspended,
    State.SETTLED: _settled,
    State.MEDIATED: _mediated,
    State.REFUSED: _refused,
    State.TERMINATED: _terminated,
    State.WITHDRAWN: _withdrawn,
}


def case_in(w, state: State) -> Complaint:
    c = BUILDERS[state](w)
    db.session.commit()
    assert c.state == state
    return c


# -- the operation behind every move -----------------------------------------------------------


def _offer_id(c):
    offer = _latest_offer(c)
    return offer.id if offer is not None else 0


def _clock_out(c):
    return c.deadline_at + timedelta(seconds=1) if c.deadline_at is not None else MOVE_AT


def _submit(actor, c, w):
    """The group's submission, for a case in a group; for any other case only the gate
    (no group to submit)."""
    joint = groups.joint_of(c.id)
    if joint is None:
        return _gate(actor, c, Move.SUBMIT)
    return groups.submit(actor, joint, now=MOVE_AT)


# Operations that take the actor (None means the system).
HUMAN = {
    Move.SUBMIT: _submit,
    Move.MAKE_OFFER: lambda a, c, w: ops.make_offer(
        a, c, remedy="refund", amount="150.00", terms="Refund 150", now=MOVE_AT
    ),
    Move.ACCEPT_OFFER: lambda a, c, w: ops.accept_offer(a, c, _offer_id(c), now=MOVE_AT),
    Move.REJECT_OFFER: lambda a, c, w: ops.reject_offer(
        a, c, _offer_id(c), counter_proposal="Refund 300", now=MOVE_AT
    ),
    Move.DECLINE: lambda a, c, w: ops.decline(a, c, reason="Not ours", now=MOVE_AT),
    Move.ESCALATE: lambda a, c, w: ops.escalate(a, c, reason="Please mediate", now=MOVE_AT),
    Move.WITHDRAW: lambda a, c, w: ops.withdraw(a, c, reason="Changed my mind", now=MOVE_AT),
    Move.ACCEPT: lambda a, c, w: ops.accept_case(a, c, now=MOVE_AT),
    Move.REFUSE: lambda a, c, w: ops.refuse_case(a, c, reason="R1", now=MOVE_AT),
    Move.TRANSFER: lambda a, c, w: ops.transfer_case(
        a, c, body_id=w.erqi.id, reason="Wrong district", now=MOVE_AT
    ),
    Move.ASSIGN: lambda a, c, w: ops.assign_mediator(a, c, mediator_id=w.mediator.id, now=MOVE_AT),
    Move.SUSPEND: lambda a, c, w: ops.suspend(a, c, reason="Testing", now=MOVE_AT),
    Move.RESUME: lambda a, c, w: ops.resume(a, c, now=MOVE_AT),
    Move.PROPOSE_AGREEMENT: lambda a, c, w: ops.propose_agreement(
        a, c, terms="Refund 250", amount="250.00", now=MOVE_AT
    ),
    Move.SIGN_AGREEMENT: lambda a, c, w: ops.sign_agreement(a, c, now=MOVE_AT),
    Move.REPORT_PERFORMANCE: lambda a, c, w: ops.report_performance(
        a, c, status="confirmed", note="Paid", now=MOVE_AT
    ),
    Move.RATE: lambda a, c, w: ops.rate(a, c, rating=4, comment="Fine", now=MOVE_AT),
    Move.ASK_CHANGES: lambda a, c, w: ops.ask_for_changes(
        a, c, reasons="Refund 300, please", now=MOVE_AT
    ),
    Move.REOPEN: lambda a, c, w: _reopen(a, c),
}


def _reopen(actor, c):
    """Mediation again needs a reported breach first (not a move of the table: the case's
    attribute, set here without an event so that the move under test writes the one)."""
    allowed = TRANSITIONS[Move.REOPEN]
    if c.state in allowed[0] and actor is not None and role_in_case(actor, c) in allowed[1]:
        c.performance_status = PerformanceStatus.BREACHED
    return ops.reopen(actor, c, reason="Not paid", now=MOVE_AT)


# The sweep's operations: they act as the system and take no actor.
SYSTEM = {
    Move.ESCALATE_OVERDUE: lambda c: ops.escalate_overdue(c, now=MOVE_AT),
    Move.FLAG_OVERDUE: lambda c: ops.flag_overdue(c, now=MOVE_AT),
    # T5 is the clock's: the expiry is made once the case's mediation clock has run out.
    Move.EXPIRE: lambda c: ops.expire_mediation(c, now=_clock_out(c)),
    Move.REMIND: lambda c: ops.send_reminder(c, now=MOVE_AT),
    Move.REMIND_PERFORMANCE: lambda c: ops.remind_performance(c, now=MOVE_AT),
}
# terminate() is TERMINATE with an actor and EXPIRE without one.
HUMAN[Move.TERMINATE] = lambda a, c, w: ops.terminate(
    a, c, reason="T3", explanation="Absent", now=MOVE_AT
)

assert set(HUMAN) | set(SYSTEM) == set(TRANSITIONS), "every move has its operation"


def _gate(actor, c, move):
    """The gate every operation applies: the actor's part in the case, then the table."""
    role = Role.SYSTEM if actor is None else part_in_case(actor, c)
    if role is None:
        raise NotFound("No such case.")
    check_move(move, c.state, role)


def drive(move: Move, actor, c: Complaint, w):
    if actor is None and move in SYSTEM:
        return SYSTEM[move](c)
    if move in HUMAN and not (actor is None and move == Move.TERMINATE):
        return HUMAN[move](actor, c, w)
    # A role the operation cannot even be called with: the gate it would pass through.
    return _gate(actor, c, move)


def actor_for(role: Role, w):
    return {
        Role.CONSUMER: w.consumer,
        Role.ENTERPRISE: w.agent,
        Role.MEDIATOR: w.head,
        Role.ADMIN: w.admin,
        Role.SYSTEM: None,
        Role.REPRESENTATIVE: w.consumer_en,
        Role.INTAKE: role == Role.INTAKE and _hotline_seat(w),
    }[role]


def _hotline_seat(w):
    """A hotline seat of the office that holds the world's cases (made once per world)."""
    if getattr(w, "seat", None) is None:
        w.seat = factories.intake_user(w.jinshui)
    return w.seat


# -- snapshots ---------------------------------------------------------------------------------


def _count(model, complaint_id=None):
    query = db.select(db.func.count()).select_from(model)
    if complaint_id is not None:
        query = query.where(model.complaint_id == complaint_id)
    return db.session.scalar(query)


def snapshot(complaint_id: int) -> dict:
    c = db.session.get(Complaint, complaint_id, populate_existing=True)
    return {
        "state": c.state,
        "version": c.version,
        "chain_head": c.chain_head,
        "deadline_at": c.deadline_at,
        "reminder_at": c.reminder_at,
        "body_id": c.body_id,
        "mediator_id": c.mediator_id,
        "first_answer_at": c.first_answer_at,
        "events": _count(CaseEvent, complaint_id),
        "offers": [
            (o.id, o.status)
            for o in db.session.scalars(db.select(Offer).where(Offer.complaint_id == c.id))
        ],
        "agreements": _count(Agreement, complaint_id),
        "records": _count(Record, complaint_id),
        "notifications": _count(Notification),
        "outbox": _count(Outbox),
    }


def _session_untouched() -> bool:
    return not db.session.new and not any(db.session.is_modified(o) for o in db.session.dirty)


# -- the table ---------------------------------------------------------------------------------


def expected_error(role_in: Role | None, move: Move, state: State):
    states, roles = TRANSITIONS[move]
    if role_in is None:
        return NotFound
    if role_in not in roles:
        return Forbidden
    if state not in states:
        return InvalidTransition
    return None


def check_combination(w, complaint_id: int, state: State, move: Move, role: Role, before: dict):
    """One (state, move, role): the move's operation by an actor of that role on the case."""
    c = db.session.get(Complaint, complaint_id)
    actor = actor_for(role, w)
    relation = Role.SYSTEM if actor is None else part_in_case(actor, c)
    allowed = state in TRANSITIONS[move][0] and role in TRANSITIONS[move][1]

    if allowed:
        assert relation == role, "the actor must play the role in this case"
        drive(move, actor, c, w)
        db.session.flush()
        after = snapshot(complaint_id)
        assert after["events"] == before["events"] + 1, "exactly one event"
        event = db.session.scalars(
            db.select(CaseEvent)
            .where(CaseEvent.complaint_id == complaint_id)
            .order_by(CaseEvent.id.desc())
            .limit(1)
        ).one()
        assert event.action == str(move)
        assert event.actor_role == str(role)
        assert event.actor_id == (actor.id if actor is not None else None)
        assert event.from_state == str(state)
        if move == Move.SIGN_AGREEMENT:  # one party of two: still in mediation
            assert after["state"] == State.MEDIATING
        elif move == Move.SUBMIT:  # routed as a filing: an approved enterprise's green channel
            assert after["state"] == State.NEGOTIATING
        else:
            assert after["state"] == TARGETS.get(move, state)
        assert event.to_state == str(after["state"])
        assert after["chain_head"] == event.hash
        assert verify_chain(complaint_id) == []
    else:
        error = expected_error(relation, move, state)
        assert error is not None
        with pytest.raises(DomainError) as raised:
            drive(move, actor, c, w)
        assert type(raised.value) is error, f"{type(raised.value).__name__}: {raised.value}"
        assert _session_untouched(), "the operation changed the case before refusing"


@pytest.mark.parametrize(
    ("state", "role"), [pytest.param(s, r, id=f"{s}-{r}") for s in State for r in Role]
)
def test_transition_table(world, db, state, role):
    """Every move of the table from this state by this role, each on the same committed
    case: an allowed move is made (flushed, checked) and rolled back; a refused one raises,
    is rolled back, and the case reads back exactly as before. Every failing combination is
    reported, not only the first."""
    c = case_in(world, state)
    before = snapshot(c.id)
    failures = []
    for move in TRANSITIONS:
        try:
            check_combination(world, c.id, state, move, role, before)
        except Exception as exc:  # collected: every failing combination is reported
            failures.append(f"{state} / {move} / {role}: {type(exc).__name__}: {exc}")
        finally:
            db.session.rollback()
        assert snapshot(c.id) == before, f"{state} / {move} / {role} left a change behind"
    assert not failures, "\n".join(failures)


def test_the_table_covers_every_move_state_and_role():
    combinations = {(s, m, r) for s in State for m in TRANSITIONS for r in Role}
    assert len(combinations) == len(State) * len(TRANSITIONS) * len(Role) == 10 * 25 * 7
    allowed = {
        (s, m, r) for (s, m, r) in combinations if s in TRANSITIONS[m][0] and r in TRANSITIONS[m][1]
    }
    # Spot checks of the table against DESIGN.md.
    assert (State.NEGOTIATING, Move.MAKE_OFFER, Role.ENTERPRISE) in allowed
    assert (State.MEDIATING, Move.SIGN_AGREEMENT, Role.CONSUMER) in allowed
    assert (State.SUSPENDED, Move.WITHDRAW, Role.CONSUMER) in allowed
    assert (State.SUSPENDED, Move.EXPIRE, Role.SYSTEM) not in allowed
    assert not {c for c in allowed if c[2] == Role.ADMIN}
    # Intake staff file for callers and pass records on; they take no move in a case.
    assert not {c for c in allowed if c[2] == Role.INTAKE}
    # A representative only submits the group; a member leaves by withdrawing.
    assert {c for c in allowed if c[2] == Role.REPRESENTATIVE} == {
        (State.GATHERING, Move.SUBMIT, Role.REPRESENTATIVE)
    }
    assert (State.GATHERING, Move.WITHDRAW, Role.CONSUMER) in allowed
    assert (State.GATHERING, Move.REMIND, Role.SYSTEM) not in allowed


def test_every_state_can_be_reached(world, db):
    """The builders above really produce each state, each with an intact chain."""
    for state in State:
        c = case_in(world, state)
        assert verify_chain(c.id) == []


# -- strangers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(State))
def test_unrelated_users_get_not_found(world, db, state):
    """A consumer of another case, another enterprise's staff and a mediator of another
    body: for them the case does not exist, whatever they try."""
    c = case_in(world, state)
    before = snapshot(c.id)
    for stranger in (world.other_consumer, world.other_agent, world.other_mediator):
        assert role_in_case(stranger, c) is None
        for move, operation in HUMAN.items():
            with pytest.raises(NotFound):
                operation(stranger, c, world)
            assert _session_untouched(), (stranger, move)
            db.session.rollback()
            assert snapshot(c.id) == before


def test_inactive_user_is_a_stranger(world, db):
    c = case_in(world, State.NEGOTIATING)
    world.consumer.active = False
    db.session.commit()
    with pytest.raises(NotFound):
        ops.escalate(world.consumer, c, now=MOVE_AT)


def test_refused_move_changes_nothing_before_the_first_answer(world, db):
    """A case nobody answered yet: a consumer trying the enterprise's decline must not
    leave the first-answer time set in the session."""
    c = factories.file_case(world.consumer, world.enterprise, now=T0)
    assert c.first_answer_at is None
    with pytest.raises(Forbidden):
        ops.decline(world.consumer, c, reason="not me", now=MOVE_AT)
    assert _session_untouched()
    assert c.first_answer_at is None


def test_transfer_moves_the_case_to_the_new_body(world, db):
    c = case_in(world, State.PENDING_ACCEPTANCE)
    ops.assign_mediator(world.head, c, mediator_id=world.mediator.id, now=MOVE_AT)
    db.session.commit()
    ops.transfer_case(world.head, c, body_id=world.erqi.id, reason="Erqi", now=MOVE_AT)
    db.session.commit()
    assert c.body_id == world.erqi.id
    assert c.mediator_id is None
    assert role_in_case(world.head, c) is None  # it left Jinshui
    event = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == c.id).order_by(CaseEvent.id.desc())
    ).first()
    assert event.details["from_body_id"] == world.jinshui.id
    assert event.details["body_id"] == world.erqi.id
    # The mediator who had the case is not told as if it were still theirs.
    told = db.session.scalars(
        db.select(Notification.user_id).where(
            Notification.complaint_id == c.id, Notification.kind == "transferred"
        )
    ).all()
    assert world.mediator.id not in told
