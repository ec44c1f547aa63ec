"""The benchmark's write floor (bench/floor.py, POST /file) is a fair yardstick only if it
writes what a portal filing writes: a case the portal reads and verifies, its first event on
the hash chain, a notice and an e-mail for each of the enterprise's staff, and the page
revisions the portal's kept pages follow."""

from datetime import date

import sqlalchemy as sa

from bench import floor
from bench.run import complaint_body
from odr.auth.models import User
from odr.disputes.events import verify_chain
from odr.disputes.models import CaseEvent, Complaint, Notification, Outbox
from odr.disputes.states import State


def test_the_bare_filing_writes_a_case_the_portal_reads_and_verifies(app, db, world, monkeypatch):
    monkeypatch.setenv("BENCH_FLOOR_CONSUMER", str(world.consumer.id))
    monkeypatch.setattr(floor, "_who", {"staff": {}})
    db.session.commit()
    staff = db.session.scalars(
        sa.select(User).where(User.enterprise_id == world.enterprise.id, User.active)
    ).all()
    assert staff

    bare = floor.create_app(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        response = bare.test_client().post(
            "/file", json=complaint_body(world.enterprise.id, date.today())
        )
    finally:
        bare.extensions["floor_engine"].dispose()
    assert response.status_code == 201
    answer = response.get_json()

    db.session.expire_all()
    case = db.session.get(Complaint, answer["id"])
    assert case.reference == answer["reference"] and case.reference.startswith("ODR-")
    assert case.state == State.NEGOTIATING
    assert case.consumer_id == world.consumer.id and case.enterprise_id == world.enterprise.id
    assert case.deadline_at is not None and case.filed_at is not None
    events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.complaint_id == case.id))
    assert [(e.action, e.to_state) for e in events] == [("file", "negotiating")]
    assert verify_chain(case.id) == []
    assert case.chain_head == db.session.scalar(
        sa.select(CaseEvent.hash).where(CaseEvent.complaint_id == case.id)
    )
    notices = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.complaint_id == case.id)
    ).all()
    assert sorted(notices) == sorted(u.id for u in staff)
    mails = db.session.scalars(sa.select(Outbox.recipient).where(Outbox.channel == "email")).all()
    assert {u.email for u in staff} <= set(mails)
