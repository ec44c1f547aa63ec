"""Two sweeps at once, in two OS processes on PostgreSQL, move each of 500 due cases
exactly once (SELECT ... FOR UPDATE SKIP LOCKED, one commit per case)."""

import multiprocessing
import time
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from odr.auth.models import UserRole
from odr.disputes.deadlines import working_day_deadline
from odr.disputes.models import CaseEvent, Complaint, RegionLevel
from odr.extensions import db as _db
from tests import factories
from tests.factories import shanghai

N = 500
FILED = shanghai(2026, 9, 28, 9)
AS_OF = shanghai(2026, 10, 20, 10)


def _sweeper(url: str, instance: str, as_of_iso: str, barrier, results) -> None:
    """One process: its own app and connection pool; waits for the other, then sweeps."""
    from datetime import datetime

    from odr import create_app
    from odr.config import DevelopmentConfig
    from odr.disputes.sweep import sweep

    app = create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_DIR=instance,
        UPLOAD_DIR=f"{instance}/uploads",
        RECORD_DIR=f"{instance}/records",
        MAIL_DIR=f"{instance}/mail",
    )
    with app.app_context():
        _db.session.execute(sa.text("SELECT 1"))  # connected before the start signal
        barrier.wait(timeout=60)
        started = time.monotonic()
        report = sweep(datetime.fromisoformat(as_of_iso))
        finished = time.monotonic()
        _db.session.remove()
    results.put(
        {
            "escalated": [ref for ref, action, _ in report.actions if action == "escalated"],
            "other": [a for a in report.actions if a[1] != "escalated"],
            "started": started,
            "finished": finished,
        }
    )


def _bulk_due_cases(w) -> None:
    deadline = working_day_deadline(FILED, 10)
    rows = [
        {
            "reference": f"ODR-2026-{900000 + i:07d}",
            "consumer_id": w.consumer.id,
            "complainant_name": "张三",
            "complainant_phone": "13800000000",
            "complainant_address": "郑州市金水区",
            "language": "zh_CN",
            "enterprise_id": w.enterprise.id,
            "green_channel": True,
            "subject_kind": "goods",
            "subject": f"商品 {i}",
            "purchase_date": date(2026, 9, 1),
            "amount": Decimal("99.00"),
            "issue": "quality",
            "requests": ["refund"],
            "claimed_amount": Decimal("99.00"),
            "facts": "批量测试",
            "state": "negotiating",
            "filed_at": FILED + timedelta(seconds=i),
            "deadline_at": deadline,
            "reminder_at": None,
        }
        for i in range(N)
    ]
    _db.session.execute(sa.insert(Complaint), rows)
    _db.session.commit()


def lean_world() -> SimpleNamespace:
    """One consumer, an ODR enterprise without staff accounts, its county office without
    mediators: each escalation tells one person, so the test measures the sweep, not mail."""
    factories.region("410000", "河南省", RegionLevel.PROVINCE)
    factories.region("410100", "郑州市", RegionLevel.CITY, "410000")
    factories.region("410105", "金水区", RegionLevel.COUNTY, "410100")
    office = factories.body("金水区市场监督管理局", "410105", RegionLevel.COUNTY)
    w = SimpleNamespace(
        office=office,
        enterprise=factories.enterprise("郑州测试百货有限公司", "410105"),
        consumer=factories.user(UserRole.CONSUMER, "bulk@test.example", "张三"),
    )
    _db.session.commit()
    return w


@pytest.mark.postgres
def test_two_sweep_processes_move_each_case_exactly_once(app, db, tmp_path):
    w = lean_world()
    _bulk_due_cases(w)
    assert (
        _db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Complaint)
            .where(Complaint.state == "negotiating")
        )
        == N
    )
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_sweeper,
            args=(url, str(tmp_path / f"p{i}"), AS_OF.isoformat(), barrier, results),
        )
        for i in range(2)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    # The two really ran at the same time.
    assert max(o["started"] for o in outcomes) < min(o["finished"] for o in outcomes)
    escalated = [ref for o in outcomes for ref in o["escalated"]]
    assert len(escalated) == N
    assert len(set(escalated)) == N
    assert all(o["other"] == [] for o in outcomes)

    _db.session.expire_all()
    per_case = dict(
        _db.session.execute(
            sa.select(CaseEvent.complaint_id, sa.func.count())
            .where(CaseEvent.action == "escalate_overdue")
            .group_by(CaseEvent.complaint_id)
        ).all()
    )
    assert len(per_case) == N
    assert set(per_case.values()) == {1}
    assert (
        _db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.action != "escalate_overdue")
        )
        == 0
    )
    states = _db.session.execute(
        sa.select(Complaint.state, sa.func.count()).group_by(Complaint.state)
    ).all()
    assert dict(states) == {"pending_acceptance": N}
    assert set(_db.session.scalars(sa.select(Complaint.body_id))) == {w.office.id}
