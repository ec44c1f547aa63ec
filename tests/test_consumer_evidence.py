"""Adding evidence is an operation (operations.add_evidence): the consumer's case page, the
enterprise's case page and the API all go through it, so each file is written on the
timeline as one event, and the same rules refuse the same callers."""

import io

import pytest

from odr.disputes import enterprises
from odr.disputes import operations as ops
from odr.disputes.models import CaseEvent, Evidence
from odr.disputes.states import Forbidden, InvalidTransition, Move
from odr.extensions import db
from tests.access_world import PNG
from tests.factories import PASSWORD, file_case


def login(client, email):
    assert (
        client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 302
    )


def _evidence_events(case_id) -> list[CaseEvent]:
    return db.session.scalars(
        db.select(CaseEvent)
        .where(CaseEvent.complaint_id == case_id, CaseEvent.action == str(Move.ADD_EVIDENCE))
        .order_by(CaseEvent.id)
    ).all()


def test_every_channel_writes_the_file_on_the_timeline(world, db, client, api):
    case = file_case(world.consumer, world.enterprise)
    login(client, "consumer@test.example")
    response = client.post(
        f"/consumer/cases/{case.id}/evidence",
        data={"ev-files": [(io.BytesIO(PNG), "receipt.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    client.post("/auth/logout")
    login(client, "agent@test.example")
    response = client.post(
        f"/merchant/cases/{case.id}/evidence",
        data={"evidence-file": (io.BytesIO(PNG), "invoice.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    uploaded = api.post(
        world.consumer,
        f"/complaints/{case.id}/evidence",
        data={"file": (io.BytesIO(PNG), "photo.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201
    db.session.expire_all()
    events = _evidence_events(case.id)
    files = db.session.scalars(
        db.select(Evidence).where(Evidence.complaint_id == case.id).order_by(Evidence.id)
    ).all()
    assert [e.details["filename"] for e in events] == ["receipt.png", "invoice.png", "photo.png"]
    assert [e.details["evidence_id"] for e in events] == [f.id for f in files]
    assert [e.actor_role for e in events] == ["consumer", "enterprise", "consumer"]
    assert all(e.from_state == e.to_state == "negotiating" for e in events)
    # The timeline shows it.
    client.post("/auth/logout")
    login(client, "consumer@test.example")
    page = client.get(f"/consumer/cases/{case.id}").get_data(as_text=True)
    assert "补充证据材料" in page


def test_the_operation_refuses_whom_and_when_it_must(world, db):
    case = file_case(world.consumer, world.enterprise)
    with pytest.raises(Forbidden):
        ops.add_evidence(world.admin, case, io.BytesIO(PNG), "x.png")
    db.session.rollback()
    enterprises.decide(world.admin, world.enterprise, "suspend", "多次超期")
    db.session.commit()
    with pytest.raises(Forbidden):
        ops.add_evidence(world.agent, case, io.BytesIO(PNG), "x.png")
    db.session.rollback()
    withdrawn = file_case(world.consumer, world.other_enterprise)
    ops.withdraw(world.consumer, withdrawn)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        ops.add_evidence(world.consumer, withdrawn, io.BytesIO(PNG), "x.png")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    assert _evidence_events(case.id) == [] and _evidence_events(withdrawn.id) == []
