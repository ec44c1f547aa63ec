"""Concurrency on PostgreSQL: many clients and several sweeps acting on the same cases at
once end with one outcome per case, one event per move and intact hash chains.

Each client is a thread with its own app context, so its own session and connection, as in
gunicorn; the sweeps are real `flask odr worker` processes.
"""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm.exc import StaleDataError

from odr import create_app
from odr.auth.models import User
from odr.config import TestConfig
from odr.disputes import operations as ops
from odr.disputes.events import verify_chain
from odr.disputes.models import CaseEvent, Complaint, Offer, Outbox, Record
from odr.disputes.records import render_due
from odr.disputes.states import OPEN_STATES, TRANSITIONS, DomainError, Move, Role, State
from odr.extensions import db as _db
from odr.types import utcnow
from tests.factories import file_case, shanghai

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 20


@pytest.fixture
def race_app(app, tmp_path):
    """The same database as `app`, with a connection pool big enough for every client."""
    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 45, "max_overflow": 0, "pool_timeout": 60},
        INSTANCE_DIR=str(tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    yield other
    with other.app_context():
        _db.engine.dispose()


def race(app, actions) -> list[str]:
    """Run each action(session objects) in its own thread and transaction, all released at
    the same instant; answer each one's outcome: ok, stale (lost the optimistic lock) or the
    name of the domain error (the case had already moved on)."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str | None] = [None] * len(actions)

    def run(index, action):
        with app.app_context():
            try:
                prepared = action.prepare()
                barrier.wait(timeout=30)
                action.act(*prepared)
                _db.session.commit()
                outcomes[index] = "ok"
            except StaleDataError:
                _db.session.rollback()
                outcomes[index] = "stale"
            except DomainError as exc:
                _db.session.rollback()
                outcomes[index] = type(exc).__name__
            except Exception as exc:  # anything else is a failure of the test
                _db.session.rollback()
                outcomes[index] = f"error {type(exc).__name__}: {getattr(exc, 'orig', exc)}"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


class Act:
    """One client's move: prepare() loads its objects in its own session, act() moves."""

    def __init__(self, user_id, complaint_id, move, **kw):
        self.user_id, self.complaint_id, self.move, self.kw = user_id, complaint_id, move, kw

    def prepare(self):
        user = _db.session.get(User, self.user_id) if self.user_id else None
        complaint = _db.session.get(Complaint, self.complaint_id)
        if user is not None:
            _ = user.memberships  # loaded before the race, like a request's current_user
        return user, complaint

    def act(self, user, complaint):
        kw = dict(self.kw)
        if self.move == "accept_offer":
            ops.accept_offer(user, complaint, kw["offer_id"])
        elif self.move == "reject_offer":
            ops.reject_offer(user, complaint, kw["offer_id"], counter_proposal="不够")
        elif self.move == "withdraw":
            ops.withdraw(user, complaint, reason="不想投诉了")
        elif self.move == "escalate":
            ops.escalate(user, complaint, reason="请调解")
        elif self.move == "make_offer":
            ops.make_offer(user, complaint, remedy="refund", amount="100.00", terms="退一部分")
        elif self.move == "decline":
            ops.decline(user, complaint, reason="不同意")
        elif self.move == "accept_case":
            ops.accept_case(user, complaint)
        elif self.move == "terminate":
            ops.terminate(user, complaint, reason="T4", explanation="无法达成一致")
        elif self.move == "message":
            ops.post_message(user, complaint, "并发留言")
        else:  # pragma: no cover
            raise AssertionError(self.move)


# -- checks ------------------------------------------------------------------------------


def timeline(complaint_id) -> list[CaseEvent]:
    return _db.session.scalars(
        _db.select(CaseEvent).where(CaseEvent.complaint_id == complaint_id).order_by(CaseEvent.id)
    ).all()


def assert_consistent(complaint_id) -> list[CaseEvent]:
    """The timeline replays through the transition table to the case's state, and the
    hash chain is intact."""
    _db.session.expire_all()
    complaint = _db.session.get(Complaint, complaint_id)
    events = timeline(complaint_id)
    assert events and events[0].action == "file"
    state = events[0].to_state
    for event in events[1:]:
        assert event.from_state == state, f"case {complaint_id}: {event.action} from {state}"
        states, roles = TRANSITIONS[Move(event.action)]
        assert State(event.from_state) in states and Role(event.actor_role) in roles
        state = event.to_state
    assert state == complaint.state
    assert verify_chain(complaint_id) == []
    return events


# -- races between clients ---------------------------------------------------------------


def open_offer(world, db):
    complaint = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, complaint, remedy="refund", amount="1299.00", terms="退款")
    db.session.commit()
    return complaint.id, offer.id


def test_twenty_clients_accepting_one_offer_settle_it_once(app, db, world, race_app):
    complaint_id, offer_id = open_offer(world, db)
    outcomes = race(
        race_app,
        [Act(world.consumer.id, complaint_id, "accept_offer", offer_id=offer_id)] * CLIENTS,
    )
    tally = Counter(outcomes)
    assert tally["ok"] == 1, tally
    # Each waits for the case's row lock, then finds the case moved on (409).
    assert set(tally) <= {"ok", "InvalidTransition"}, tally

    events = assert_consistent(complaint_id)
    assert [e.action for e in events] == ["file", "make_offer", "accept_offer"]
    complaint = db.session.get(Complaint, complaint_id)
    assert complaint.state == State.SETTLED
    assert db.session.get(Offer, offer_id).status == "accepted"
    records = db.session.scalars(db.select(Record).where(Record.complaint_id == complaint_id))
    assert len(records.all()) == 1
    # Only the winner issued a record (the losers failed before issuing anything): the
    # worker, rendering what was issued, writes one file.
    with race_app.app_context():
        render_due()
    assert len(list(Path(race_app.config["RECORD_DIR"]).glob("*.pdf"))) == 1


def test_accepting_and_withdrawing_at_once_ends_with_one_outcome(app, db, world, race_app):
    complaint_id, offer_id = open_offer(world, db)
    actions = [Act(world.consumer.id, complaint_id, "accept_offer", offer_id=offer_id)] * 10
    actions += [Act(world.consumer.id, complaint_id, "withdraw")] * 10
    tally = Counter(race(race_app, actions))
    assert tally["ok"] == 1, tally
    # Each waits for the case's row lock, then finds the case moved on (409).
    assert set(tally) <= {"ok", "InvalidTransition"}, tally

    events = assert_consistent(complaint_id)
    closing = [e for e in events if e.action in ("accept_offer", "withdraw")]
    assert len(closing) == 1
    complaint = db.session.get(Complaint, complaint_id)
    offer = db.session.get(Offer, offer_id)
    if closing[0].action == "accept_offer":
        assert complaint.state == State.SETTLED and offer.status == "accepted"
    else:
        assert complaint.state == State.WITHDRAWN and offer.status == "open"
        assert complaint.termination_reason == "T1"


def test_both_parties_acting_at_once_leave_one_event_per_move(app, db, world, race_app):
    """Consumer accepts, rejects, escalates and writes while the enterprise makes new offers
    and declines: every move that succeeded is in the timeline exactly once."""
    complaint_id, offer_id = open_offer(world, db)
    actions = []
    for _ in range(4):
        actions += [
            Act(world.consumer.id, complaint_id, "accept_offer", offer_id=offer_id),
            Act(world.consumer.id, complaint_id, "reject_offer", offer_id=offer_id),
            Act(world.consumer.id, complaint_id, "escalate"),
            Act(world.agent.id, complaint_id, "make_offer"),
            Act(world.agent.id, complaint_id, "decline"),
        ]
    outcomes = race(race_app, actions)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    moved = [a.move for a, o in zip(actions, outcomes, strict=True) if o == "ok"]
    assert len(moved) >= 1
    events = assert_consistent(complaint_id)
    assert Counter(e.action for e in events[2:]) == Counter(moved)
    # At most one of the moves that leave direct settlement happened.
    assert sum(1 for m in moved if m in ("accept_offer", "escalate", "decline")) <= 1


# -- the sweep on three processes while clients act ---------------------------------------


def start_workers(app, tmp_path, count=3) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "ODR_CONFIG": "development",
        "ODR_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FLASK_APP": "wsgi",
        "PYTHONWARNINGS": "ignore",
    }
    workers = []
    for n in range(count):
        env_n = {**env, "ODR_INSTANCE_DIR": str(tmp_path / f"worker{n}")}
        with open(tmp_path / f"worker{n}.log", "wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "odr", "worker", "--interval", "0.05"],
                    cwd=ROOT,
                    env=env_n,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return workers


def due_cases(world, db) -> dict[str, list[int]]:
    """Cases whose clocks ran out long ago, and cases whose reminder is due."""
    past = shanghai(2026, 9, 1, 10)
    cases: dict[str, list[int]] = {"negotiating": [], "pending": [], "mediating": [], "remind": []}
    for _ in range(10):
        cases["negotiating"].append(file_case(world.consumer, world.enterprise, now=past).id)
    for _ in range(5):
        c = file_case(world.consumer, world.enterprise, now=past, commit=False)
        ops.escalate(world.consumer, c, now=past + timedelta(hours=1))
        db.session.commit()
        cases["pending"].append(c.id)
    for _ in range(3):
        c = file_case(world.consumer, world.enterprise, now=past, commit=False)
        ops.escalate(world.consumer, c, now=past + timedelta(hours=1))
        ops.accept_case(world.head, c, now=past + timedelta(days=1))
        db.session.commit()
        cases["mediating"].append(c.id)
    for _ in range(4):
        c = file_case(world.consumer, world.enterprise)
        c.reminder_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        cases["remind"].append(c.id)
    return cases


def wait_until(predicate, timeout=60.0, step=0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_three_sweeps_and_clients_leave_every_case_in_one_valid_state(
    app, db, world, race_app, tmp_path
):
    cases = due_cases(world, db)
    everything = [cid for ids in cases.values() for cid in ids]
    workers = start_workers(app, tmp_path)
    try:
        # Wait until the sweeps are running (they start by escalating overdue cases) ...
        assert wait_until(
            lambda: (
                db.session.scalar(
                    db.select(db.func.count(CaseEvent.id)).where(CaseEvent.actor_role == "system")
                )
                > 0
            )
        ), "the workers did not start"
        # ... then every client acts at once while the sweeps go on.
        actions = []
        for cid in cases["negotiating"]:
            actions += [
                Act(world.consumer.id, cid, "escalate"),
                Act(world.agent.id, cid, "decline"),
            ]
        for cid in cases["pending"]:
            actions += [
                Act(world.head.id, cid, "accept_case"),
                Act(world.consumer.id, cid, "withdraw"),
            ]
        for cid in cases["mediating"]:
            actions += [Act(world.head.id, cid, "terminate")]
        for cid in cases["remind"]:
            actions += [
                Act(world.agent.id, cid, "make_offer"),
                Act(world.consumer.id, cid, "message"),
            ]
        outcomes = race(race_app, actions)
        assert not [o for o in outcomes if o.startswith("error")], outcomes

        def settled():
            db.session.expire_all()
            now = utcnow()
            return not db.session.scalar(
                db.select(db.func.count(Complaint.id)).where(
                    Complaint.id.in_(everything),
                    (
                        (Complaint.state == State.NEGOTIATING) & (Complaint.deadline_at < now)
                        | (Complaint.state == State.MEDIATING) & (Complaint.deadline_at < now)
                        | (Complaint.state == State.PENDING_ACCEPTANCE)
                        & (Complaint.deadline_at < now)
                        & Complaint.overdue_flagged.is_(False)
                        | Complaint.state.in_(list(OPEN_STATES))
                        & (Complaint.reminder_at <= now)
                        & (Complaint.deadline_at >= now)
                    ),
                )
            )

        assert wait_until(settled), "due cases left unmoved"
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    for cid in everything:
        events = assert_consistent(cid)
        actions_ = Counter(e.action for e in events)
        assert actions_["file"] == 1
        # Each clock runs out once: one system move per clock, never two.
        for system_move in ("escalate_overdue", "flag_overdue", "expire", "remind"):
            assert actions_[system_move] <= 1, (cid, actions_)
        # Leaving direct settlement happens once, whoever did it.
        left = actions_["escalate"] + actions_["escalate_overdue"] + actions_["decline"]
        assert left == (0 if cid in cases["remind"] else 1), (cid, actions_)
    for cid in cases["negotiating"]:
        assert db.session.get(Complaint, cid).state == State.PENDING_ACCEPTANCE
    for cid in cases["mediating"]:
        complaint = db.session.get(Complaint, cid)
        assert complaint.state == State.TERMINATED
        assert complaint.termination_reason in ("T4", "T5")
        assert (
            len(db.session.scalars(db.select(Record).where(Record.complaint_id == cid)).all()) == 1
        )
    # Every outbox item was queued once and sent at most once by one of the workers.
    keys = db.session.scalars(db.select(Outbox.idempotency_key)).all()
    assert len(keys) == len(set(keys))
    assert (
        db.session.scalar(
            db.select(db.func.count(Outbox.id)).where(Outbox.status.not_in(["pending", "sent"]))
        )
        == 0
    )


# -- the same races through the JSON API ----------------------------------------------------


def api_race(app, requests) -> list[tuple[int, str]]:
    """Send each (path, token) POST from its own thread at the same instant."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, str] | None] = [None] * len(requests)

    def send(index, path, token):
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(
            "/api/v1" + path, json={}, headers={"Authorization": f"Bearer {token}"}
        )
        body = response.get_json(silent=True) or {}
        answers[index] = (response.status_code, body.get("error", {}).get("code", "ok"))

    threads = [
        threading.Thread(target=send, args=(i, path, token))
        for i, (path, token) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_api_clients_racing_get_one_success_and_409s(app, db, world, race_app):
    from odr.auth.operations import issue_token

    complaint_id, offer_id = open_offer(world, db)
    token, _ = issue_token(world.consumer)
    db.session.commit()
    accept = f"/complaints/{complaint_id}/offers/{offer_id}/accept"
    withdraw = f"/complaints/{complaint_id}/withdraw"
    answers = api_race(race_app, [(accept, token)] * 10 + [(withdraw, token)] * 10)
    tally = Counter(answers)
    assert sum(n for (status, _), n in tally.items() if status == 200) == 1, tally
    assert all(status in (200, 409) for status, _ in answers), tally
    assert {code for status, code in answers if status == 409} <= {"invalid_transition", "conflict"}
    events = assert_consistent(complaint_id)
    assert len([e for e in events if e.action in ("accept_offer", "withdraw")]) == 1
