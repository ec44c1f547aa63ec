"""The batch escalation sends its UPDATE ahead (pipeline mode on PostgreSQL) and writes the
notices and e-mails while the server runs it: a failure in that window, or of the UPDATE
itself, undoes the batch and the cases are moved one at a time, on a usable connection."""

from odr.disputes import bulk
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


def test_a_failing_update_undoes_the_batch(world, db, monkeypatch):
    ids = _due_cases(world)
    used = []

    def failing_sql(*args):
        used.append(args)
        return "SELECT 1 / 0 WHERE %(a_id)s IS NOT NULL"

    monkeypatch.setattr(bulk, "_update_pg_sql", failing_sql)
    report = sweep(shanghai(2026, 10, 19, 9))
    assert report.count("escalated") == 3
    _all_escalated_once(ids)
    assert bool(used) == (_db.engine.dialect.name == "postgresql")
    # The connection left pipeline mode: the next statements run as usual.
    assert _db.session.scalar(_db.select(_db.func.count(Complaint.id))) >= 3
