"""T5 ("45 working days passed") is the clock's reason: terminate refuses it, on every
channel, until the case's mediation clock has run out; the sweep's expiry goes through the
same check."""

from datetime import timedelta

import pytest

from odr.disputes import operations as ops
from odr.disputes.models import CaseEvent, Complaint, Record
from odr.disputes.states import Invalid, State
from odr.extensions import db as _db
from odr.types import utcnow
from tests.factories import PASSWORD, file_case, shanghai

ACCEPTED = shanghai(2026, 3, 2, 10)  # the 45 working days end on 2026-05-08


def _mediating(world, *, accepted=None):
    c = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, c, now=accepted)
    _db.session.commit()
    return c


def _unchanged(c) -> None:
    c = _db.session.get(Complaint, c.id, populate_existing=True)
    assert c.state == State.MEDIATING and c.termination_reason is None
    assert not _db.session.scalars(
        _db.select(CaseEvent).where(
            CaseEvent.complaint_id == c.id, CaseEvent.to_state == "terminated"
        )
    ).all()
    assert not _db.session.scalars(_db.select(Record).where(Record.complaint_id == c.id)).all()


@pytest.mark.parametrize("actor", ["mediator", "system"])
def test_t5_on_the_day_of_acceptance_is_refused_by_the_operation(world, db, actor):
    c = _mediating(world, accepted=ACCEPTED)
    with pytest.raises(Invalid) as refused:
        if actor == "mediator":
            ops.terminate(world.mediator, c, reason="T5", now=ACCEPTED + timedelta(hours=2))
        else:
            ops.expire_mediation(c, now=ACCEPTED + timedelta(hours=2))
    assert "reason" in refused.value.fields
    _db.session.rollback()
    _unchanged(c)


def test_t5_at_the_last_second_of_the_deadline_is_refused(world, db):
    c = _mediating(world, accepted=ACCEPTED)
    with pytest.raises(Invalid):
        ops.terminate(world.mediator, c, reason="T5", now=c.deadline_at)
    _db.session.rollback()
    _unchanged(c)


def test_t5_on_a_suspended_case_is_refused(world, db):
    c = _mediating(world, accepted=ACCEPTED)
    ops.suspend(world.mediator, c, reason="Testing", now=ACCEPTED + timedelta(days=1))
    _db.session.commit()
    with pytest.raises(Invalid):
        ops.terminate(world.mediator, c, reason="T5", now=shanghai(2026, 6, 1, 9))


@pytest.mark.parametrize("actor", ["mediator", "system"])
def test_t5_after_the_deadline_is_accepted(world, db, actor):
    c = _mediating(world, accepted=ACCEPTED)
    after = c.deadline_at + timedelta(seconds=1)
    if actor == "mediator":
        ops.terminate(world.mediator, c, reason="T5", now=after)
    else:
        ops.expire_mediation(c, now=after)
    _db.session.commit()
    c = _db.session.get(Complaint, c.id, populate_existing=True)
    assert c.state == State.TERMINATED and c.termination_reason == "T5"
    [event] = _db.session.scalars(
        _db.select(CaseEvent).where(
            CaseEvent.complaint_id == c.id, CaseEvent.to_state == "terminated"
        )
    ).all()
    assert event.action == ("terminate" if actor == "mediator" else "expire")


def test_t5_through_the_api_before_and_after_the_deadline(world, api, db):
    c = _mediating(world)
    path = f"/complaints/{c.id}/terminate"
    refused = api.post(world.mediator, path, json={"reason": "T5"})
    assert refused.status_code == 422, refused.get_json()
    assert "reason" in refused.get_json()["error"]["fields"]
    _unchanged(c)

    # The clock ran out (a day ago): now T5 is the law's own reason.
    _db.session.execute(
        _db.update(Complaint)
        .where(Complaint.id == c.id)
        .values(deadline_at=utcnow() - timedelta(days=1))
    )
    _db.session.commit()
    ended = api.post(world.mediator, path, json={"reason": "T5"})
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["state"] == "terminated"
    assert ended.get_json()["termination_reason"] == "T5"


def test_t5_through_the_web_form_is_refused(world, client, db):
    c = _mediating(world)
    response = client.post(
        "/auth/login", data={"email": world.mediator.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    response = client.post(
        f"/mediation/cases/{c.id}/terminate",
        data={"term-reason": "T5", "term-explanation": "45 days"},
    )
    assert response.status_code == 422
    _unchanged(c)
