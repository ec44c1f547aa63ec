"""A failure in the middle of a batch escalation (after its cases' UPDATE, while its notices
and e-mails are written) undoes the batch, and the cases are moved one at a time."""

from odr.disputes import notifications as notices
from odr.disputes.models import CaseEvent, Complaint
from odr.disputes.sweep import sweep
from odr.extensions import db as _db
from tests.factories import file_case, shanghai


def _escalations(case_id: int) -> int:
    return _db.session.scalar(
        _db.select(_db.func.count(CaseEvent.id)).where(
            CaseEvent.complaint_id == case_id, CaseEvent.action == "escalate_overdue"
        )
    )


def _due_cases(world, n=3):
    return [
        file_case(world.consumer, world.enterprise, now=shanghai(2026, 9, 28, 9 + i)).id
        for i in range(n)
    ]


def _all_escalated_once(ids) -> None:
    _db.session.rollback()
    for case_id in ids:
        assert _db.session.get(Complaint, case_id).state == "pending_acceptance"
        assert _escalations(case_id) == 1


def test_a_failure_while_the_update_runs_undoes_the_batch(world, db, monkeypatch):
    ids = _due_cases(world)
    real = notices.email_row
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("simulated failure while the UPDATE is under way")
        return real(*args, **kwargs)

    monkeypatch.setattr(notices, "email_row", failing_once)
    report = sweep(shanghai(2026, 10, 19, 9))
    assert report.count("escalated") == 3
    _all_escalated_once(ids)
