"""The deadline sweep on real dates: what it moves, what it leaves, and that a second run
changes nothing."""

import hashlib
from datetime import datetime, timedelta

from odr.disputes import operations as ops
from odr.disputes.deadlines import SHANGHAI
from odr.disputes.events import verify_chain
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    MediationBody,
    Notification,
    Offer,
    Outbox,
    Record,
)
from odr.disputes.notifications import written
from odr.disputes.permissions import role_in_case
from odr.disputes.records import record_bytes
from odr.disputes.sweep import sweep
from odr.extensions import db as _db
from tests.factories import file_case, shanghai


def eod(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def events(complaint_id, action=None) -> list[CaseEvent]:
    query = _db.select(CaseEvent).where(CaseEvent.complaint_id == complaint_id)
    if action:
        query = query.where(CaseEvent.action == action)
    return list(_db.session.scalars(query.order_by(CaseEvent.id)))


def reload(complaint) -> Complaint:
    return _db.session.get(Complaint, complaint.id, populate_existing=True)


def snapshot() -> dict:
    def count(model):
        return _db.session.scalar(_db.select(_db.func.count()).select_from(model))

    cases = {
        c.id: (c.state, c.deadline_at, c.reminder_at, c.overdue_flagged, c.version)
        for c in _db.session.scalars(
            _db.select(Complaint).execution_options(populate_existing=True)
        )
    }
    return {
        "cases": cases,
        "events": count(CaseEvent),
        "notifications": count(Notification),
        "outbox": count(Outbox),
        "records": count(Record),
    }


ACCEPTED = shanghai(2026, 3, 2, 10)


def mediating_case(w, *, accepted=ACCEPTED):
    """Accepted on Monday 2026-03-02, the 45-working-day clock ends on 2026-05-08."""
    c = file_case(
        w.consumer, w.enterprise, now=shanghai(2026, 2, 24, 9), purchase_date="2026-02-01"
    )
    ops.escalate(w.consumer, c, now=shanghai(2026, 2, 26, 9))
    ops.accept_case(w.head, c, now=accepted)
    _db.session.commit()
    if accepted == ACCEPTED:
        assert c.deadline_at == eod(2026, 5, 8)
    return c


# -- negotiating ----------------------------------------------------------------------------


def test_escalates_exactly_the_overdue_negotiating_cases(world, db):
    overdue = file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    later = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 9, 9))
    other = file_case(world.consumer_en, world.other_enterprise, now=shanghai(2026, 9, 29, 9))
    assert overdue.deadline_at == eod(2026, 10, 16)
    assert later.deadline_at == eod(2026, 10, 22)
    assert other.deadline_at == eod(2026, 10, 19)

    # At the last second of the deadline day nothing is overdue yet.
    report = sweep(eod(2026, 10, 16))
    assert report.count("escalated") == 0

    report = sweep(shanghai(2026, 10, 17, 10))
    assert report.count("escalated") == 1
    assert report.actions[0][0] == reload(overdue).reference

    overdue, later, other = reload(overdue), reload(later), reload(other)
    assert overdue.state == "pending_acceptance"
    assert overdue.body_id == world.jinshui.id  # the enterprise's county office
    # 7 working days for acceptance from Saturday 10-17: 10-19 .. 10-27.
    assert overdue.deadline_at == eod(2026, 10, 27)
    [event] = events(overdue.id, "escalate_overdue")
    assert event.actor_id is None and event.actor_role == "system"
    assert event.from_state == "negotiating" and event.to_state == "pending_acceptance"
    assert later.state == "negotiating" and other.state == "negotiating"
    assert events(later.id, "escalate_overdue") == []

    # The body's mediators hear of it.
    told = set(
        _db.session.scalars(
            _db.select(Notification.user_id).where(
                Notification.complaint_id == overdue.id, Notification.kind == "escalated"
            )
        )
    )
    assert {world.head.id, world.mediator.id} <= told

    report = sweep(shanghai(2026, 10, 20, 10))
    assert report.count("escalated") == 1
    assert reload(other).state == "pending_acceptance"
    assert reload(other).body_id == world.laocheng.id
    assert reload(later).state == "negotiating"


# -- pending acceptance -----------------------------------------------------------------------


def test_overdue_acceptance_is_flagged_and_raised_to_the_parent_once(world, db):
    c = file_case(
        world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9), green_channel=False
    )
    assert c.state == "pending_acceptance" and c.body_id == world.jinshui.id
    assert c.deadline_at == eod(2026, 10, 13)
    assert role_in_case(world.city_mediator, c) is None

    assert sweep(shanghai(2026, 10, 13, 18)).count("flagged_overdue") == 0
    report = sweep(shanghai(2026, 10, 14, 9))
    assert report.count("flagged_overdue") == 1

    c = reload(c)
    assert c.state == "pending_acceptance"
    assert c.overdue_flagged is True
    assert c.raised_to_body_id == world.city_body.id
    assert len(events(c.id, "flag_overdue")) == 1
    # The parent office now sees the case and may take it itself.
    assert role_in_case(world.city_mediator, c) == "mediator"

    for as_of in (shanghai(2026, 10, 14, 9), shanghai(2026, 10, 30, 9), shanghai(2026, 12, 1, 9)):
        assert sweep(as_of).actions == []
    assert len(events(c.id, "flag_overdue")) == 1

    ops.accept_case(world.city_mediator, c, now=shanghai(2026, 10, 15, 9))
    _db.session.commit()
    assert c.state == "mediating"
    assert c.body_id == world.city_body.id
    assert c.raised_to_body_id is None


# -- mediating --------------------------------------------------------------------------------


def test_mediation_past_45_working_days_is_terminated_t5_with_a_record(world, db):
    c = mediating_case(world)
    assert sweep(shanghai(2026, 5, 8, 20)).count("terminated_t5") == 0

    report = sweep(shanghai(2026, 5, 9, 0, 30))
    assert report.count("terminated_t5") == 1
    c = reload(c)
    assert c.state == "terminated"
    assert c.termination_reason == "T5"
    assert c.deadline_at is None and c.closed_at is not None
    [event] = events(c.id, "expire")
    assert event.actor_role == "system" and event.details["reason"] == "T5"

    [record] = _db.session.scalars(_db.select(Record).where(Record.complaint_id == c.id)).all()
    assert record.kind == "termination"
    data = record_bytes(record)
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == record.sha256

    assert sweep(shanghai(2026, 5, 20, 9)).actions == []


def test_a_suspended_case_is_not_terminated(world, db):
    c = mediating_case(world)
    ops.suspend(world.head, c, reason="Sent for testing", now=shanghai(2026, 3, 10, 10))
    _db.session.commit()
    assert c.clock_days_left == 39  # working days from 03-10 (excl.) to 05-08

    # Long past the original deadline: the paused clock does not run out.
    assert sweep(shanghai(2026, 6, 1, 9)).actions == []
    assert reload(c).state == "suspended"

    # Resumed on Friday 06-05: 39 working days again, over the Dragon Boat Festival (06-19).
    ops.resume(world.head, c, now=shanghai(2026, 6, 5, 9))
    _db.session.commit()
    c = reload(c)
    assert c.deadline_at == eod(2026, 7, 31)
    assert sweep(eod(2026, 7, 31)).count("terminated_t5") == 0
    assert reload(c).state == "mediating"
    assert sweep(shanghai(2026, 8, 1, 0, 0)).count("terminated_t5") == 1
    assert reload(c).termination_reason == "T5"


# -- reminders --------------------------------------------------------------------------------


def test_reminder_two_working_days_before_the_deadline_once(world, db):
    c = file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    assert c.reminder_at == datetime(2026, 10, 14, tzinfo=SHANGHAI)
    _db.session.execute(_db.delete(Outbox))  # the filing's own mail
    _db.session.commit()

    assert sweep(shanghai(2026, 10, 13, 23, 59)).count("reminded") == 0
    report = sweep(shanghai(2026, 10, 14, 8))
    assert report.count("reminded") == 1
    [event] = events(c.id, "remind")
    assert event.actor_role == "system"
    assert event.details["deadline_at"].startswith("2026-10-16")
    reminded = set(
        _db.session.scalars(
            _db.select(Notification.user_id).where(
                Notification.complaint_id == c.id, Notification.kind == "reminder"
            )
        )
    )
    assert {world.consumer.id, world.owner.id, world.agent.id} <= reminded
    [mail] = _db.session.scalars(
        _db.select(Outbox).where(Outbox.recipient == world.consumer.email)
    ).all()
    assert f"/consumer/cases/{c.id}" in written(mail)[1]

    assert sweep(shanghai(2026, 10, 14, 9)).actions == []
    assert sweep(shanghai(2026, 10, 16, 12)).actions == []
    assert len(events(c.id, "remind")) == 1

    # The next clock (acceptance, after the deadline passed) has its own reminder.
    assert sweep(shanghai(2026, 10, 17, 10)).count("escalated") == 1
    c = reload(c)
    assert c.deadline_at == eod(2026, 10, 27)
    assert c.reminder_at == datetime(2026, 10, 23, tzinfo=SHANGHAI)
    assert sweep(shanghai(2026, 10, 23, 8)).count("reminded") == 1
    assert len(events(c.id, "remind")) == 2


# -- idempotence and crashes --------------------------------------------------------------------


def test_running_the_sweep_twice_changes_nothing_the_second_time(world, db):
    file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12, 9))
    file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9), green_channel=False)
    late = mediating_case(world, accepted=shanghai(2026, 8, 3, 9))
    assert late.deadline_at == eod(2026, 10, 10)  # the make-up Saturday
    as_of = shanghai(2026, 10, 22, 9)

    first = sweep(as_of)
    assert first.count("escalated") == 1
    assert first.count("flagged_overdue") == 1
    assert first.count("terminated_t5") == 1
    assert first.count("reminded") == 1  # the case filed 10-12 is due 10-26
    after_first = snapshot()

    second = sweep(as_of)
    assert second.actions == []
    assert snapshot() == after_first


def test_each_case_commits_on_its_own(world, db, monkeypatch):
    cases = [
        file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9 + i))
        for i in range(3)
    ]
    real = ops.escalate_overdue

    def crash_on_the_second(complaints, *, now=None):
        # A batch holding the second case (the sweep passes ids) meets the crash too: the
        # batch is undone, its cases retried alone.
        many = complaints if isinstance(complaints, list) else [complaints]
        if any(getattr(case, "id", case) == cases[1].id for case in many):  # a case or its id
            raise RuntimeError("simulated crash")
        return real(complaints, now=now)

    monkeypatch.setattr(ops, "escalate_overdue", crash_on_the_second)
    report = sweep(shanghai(2026, 10, 19, 9))
    assert report.count("escalated") == 2
    states = [reload(c).state for c in cases]
    assert states == ["pending_acceptance", "negotiating", "pending_acceptance"]
    assert events(cases[1].id, "escalate_overdue") == []

    monkeypatch.setattr(ops, "escalate_overdue", real)
    assert sweep(shanghai(2026, 10, 19, 9)).count("escalated") == 1
    assert reload(cases[1]).state == "pending_acceptance"


# -- the command ------------------------------------------------------------------------------


def test_sweep_command_prints_what_it_did(app, world, db):
    c = file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["odr", "sweep", "--as-of", "2026-10-19T09:00:00+08:00"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("sweep as of 2026-10-19T01:00:00")
    assert any(line.startswith(f"{c.reference} escalated") for line in lines)
    # The office is named, not only numbered.
    db.session.refresh(c)
    office = db.session.get(MediationBody, c.body_id)
    assert any(
        line.startswith(f"{c.reference} escalated") and office.name in line for line in lines
    )
    assert lines[-1] == (
        "done: escalated=1, flagged_overdue=0, terminated_t5=0, performance_asked=0, reminded=0"
    )

    again = runner.invoke(args=["odr", "sweep", "--as-of", "2026-10-19T09:00:00"])
    assert again.exit_code == 0
    assert again.output.strip().splitlines()[-1].endswith("reminded=0")
    assert "escalated=0" in again.output

    bad = runner.invoke(args=["odr", "sweep", "--as-of", "next tuesday"])
    assert bad.exit_code == 2
    assert "ISO timestamp" in bad.output


def _spy(monkeypatch, name) -> list:
    """The sweep's calls of the operation with a batch (a list of cases)."""
    real, calls = getattr(ops, name), []

    def spy(cases, **kwargs):
        if isinstance(cases, list):
            calls.append(cases)
        return real(cases, **kwargs)

    monkeypatch.setattr(ops, name, spy)
    return calls


def _case_fields(c, versions):
    c = reload(c)
    return (
        c.state,
        c.body_id,
        c.deadline_at,
        c.reminder_at,
        c.escalated_at,
        c.arrived_at,
        c.overdue_flagged,
        c.raised_to_body_id,
        c.version > versions[c.id],  # optimistic lock: moved on (by one flush or two)
        list(_db.session.scalars(_db.select(Offer.status).where(Offer.complaint_id == c.id))),
    )


def _event_fields(c, action):
    (event,) = events(c.id, action)
    assert reload(c).chain_head == event.hash
    return (
        event.at,
        event.actor_id,
        event.actor_role,
        event.from_state,
        event.to_state,
        event.details,
    )


def _notices(c):
    rows = _db.session.scalars(_db.select(Notification).where(Notification.complaint_id == c.id))
    return sorted((n.user_id, n.kind, {**n.params, "reference": "-"}) for n in rows)


def _mails(c):
    rows = _db.session.scalars(
        _db.select(Outbox).where(Outbox.idempotency_key.startswith(f"mail:{c.id}:"))
    )
    texts = ((m.recipient, *written(m)) for m in rows)  # as the worker will send them
    return sorted(
        (
            recipient,
            subject.replace(c.reference, "-"),
            body.replace(c.reference, "-").replace(f"/cases/{c.id}", "/cases/-"),
        )
        for recipient, subject, body in texts
    )


def _forget_what_was_sent(*cases):
    for c in cases:
        _db.session.execute(_db.delete(Outbox).where(Outbox.idempotency_key.contains(f"{c.id}:")))
        _db.session.execute(_db.delete(Notification).where(Notification.complaint_id == c.id))
    _db.session.commit()


def _same_as_one_at_a_time(by_batch, by_operation, versions, action, subject=None):
    assert _case_fields(by_batch, versions) == _case_fields(by_operation, versions)
    assert _event_fields(by_batch, action) == _event_fields(by_operation, action)
    assert verify_chain(by_batch.id) == [] and verify_chain(by_operation.id) == []
    assert _notices(by_batch) == _notices(by_operation) and len(_notices(by_batch)) >= 3
    assert _mails(by_batch) == _mails(by_operation) and len(_mails(by_batch)) >= 3
    if subject is not None:
        assert any(subject in mail_subject for _, mail_subject, _ in _mails(by_batch))


def test_the_batch_escalation_writes_what_the_one_case_operation_writes(world, db, monkeypatch):
    """The sweep escalates a batch through operations.escalate_overdue; a case moved that
    way must look exactly like one moved alone by the operation: same fields,
    same event (chained), same notices, same e-mails in each recipient's language, its open
    offer lapsed."""
    filed = shanghai(2026, 9, 28, 9)
    by_batch, by_operation = (
        file_case(world.consumer_en, world.enterprise, now=filed) for _ in range(2)
    )
    for c in (by_batch, by_operation):
        ops.make_offer(world.agent, c, remedy="refund", amount="80.00", terms="Refund", now=filed)
    _db.session.commit()
    _forget_what_was_sent(by_batch, by_operation)
    as_of = shanghai(2026, 10, 19, 9)

    versions = {c.id: reload(c).version for c in (by_batch, by_operation)}
    ops.escalate_overdue(reload(by_operation), now=as_of)
    _db.session.commit()
    calls = _spy(monkeypatch, "escalate_overdue")
    report = sweep(as_of)
    assert report.count("escalated") == 1 and len(calls) == 1
    _same_as_one_at_a_time(
        by_batch, by_operation, versions, "escalate_overdue", "went to mediation"
    )


def test_the_batch_reminder_writes_what_the_one_case_operation_writes(world, db, monkeypatch):
    """Reminders too: a mediating case reminded in a batch looks exactly like one reminded
    by operations.send_reminder (the mediator, both parties, in their languages)."""
    by_batch, by_operation = (
        mediating_case(world, accepted=shanghai(2026, 3, 2, 10 + i)) for i in range(2)
    )
    _forget_what_was_sent(by_batch, by_operation)
    as_of = shanghai(2026, 5, 6, 9)  # two working days before 2026-05-08
    assert reload(by_batch).reminder_at <= as_of < reload(by_batch).deadline_at

    versions = {c.id: reload(c).version for c in (by_batch, by_operation)}
    ops.send_reminder(reload(by_operation), now=as_of)
    _db.session.commit()
    calls = _spy(monkeypatch, "send_reminder")
    report = sweep(as_of)
    assert report.count("reminded") == 1 and len(calls) == 1
    _same_as_one_at_a_time(by_batch, by_operation, versions, "remind")
    deadline = "2026-05-08"  # the date is in every reminder, in every language
    assert all(deadline in body for _, _, body in _mails(by_batch))


def test_a_deadline_the_sweep_wrote_passes_only_after_its_last_second(world, db):
    """A case escalated by the sweep gets its acceptance deadline from the batch statement;
    a sweep as of that very moment (23:59:59 on the seventh working day) must not find it
    overdue, one a second later must. On SQLite the batch once wrote whole seconds as
    "…15:59:59" where the ORM writes "…15:59:59.000000", and text comparison put the
    shorter form first: the case was overdue at its own deadline."""
    c = file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9))
    assert c.state == "negotiating" and c.deadline_at == eod(2026, 10, 16)  # National Day
    assert sweep(shanghai(2026, 10, 17, 9)).count("escalated") == 1
    c = reload(c)
    due = c.deadline_at
    assert c.state == "pending_acceptance" and due == eod(2026, 10, 27)
    raw = _db.session.execute(
        _db.select(_db.cast(Complaint.deadline_at, _db.String)).where(Complaint.id == c.id)
    ).scalar()
    assert raw.startswith("2026-10-27 15:59:59")

    assert sweep(due).count("flagged_overdue") == 0
    assert reload(c).overdue_flagged is False
    assert sweep(due + timedelta(seconds=1)).count("flagged_overdue") == 1
