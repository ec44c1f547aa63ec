"""Idempotency-Key (API.md, Additions): a retried creating POST creates nothing new and
answers the first answer; the same key with another body is refused; twenty identical
filings sent at once with one key make one case."""

import io
import threading
from datetime import timedelta

import pytest

from odr import create_app
from odr.auth.operations import issue_token
from odr.config import TestConfig
from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Evidence, IdempotentRequest, Message, Offer
from odr.extensions import db as _db
from odr.types import utcnow
from tests.access_world import PNG
from tests.factories import complaint_data, file_case

FILERS = 20


def filing(world, **overrides):
    data = complaint_data(world.enterprise, **overrides)
    data.pop("subject_kind", None)
    return data


def post(api, user, path, key, **kw):
    headers = {**api.headers(user), "Idempotency-Key": key}
    return api.client.post("/api/v1" + path, headers=headers, **kw)


def cases(db) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count(Complaint.id)))


@pytest.fixture
def pooled_app(app, tmp_path):
    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": FILERS + 2, "max_overflow": 0},
        INSTANCE_DIR=str(tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    yield other
    with other.app_context():
        _db.engine.dispose()


@pytest.mark.slow
def test_twenty_identical_filings_with_one_key_make_twenty_cases(pooled_app, world, db):
    token, _ = issue_token(world.consumer)
    db.session.commit()
    body = filing(world)
    client = pooled_app.test_client()
    barrier = threading.Barrier(FILERS)
    answers: list = [None] * FILERS

    def file(index):
        barrier.wait(timeout=30)
        response = client.post(
            "/api/v1/complaints",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "order-4711"},
        )
        answers[index] = (response.status_code, (response.get_json() or {}).get("id"))

    threads = [threading.Thread(target=file, args=(i,)) for i in range(FILERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert cases(db) == 1
    ids = {case_id for status, case_id in answers}
    assert {status for status, _ in answers} == {201}, answers
    assert len(ids) == 1


def test_retried_filing_answers_the_first_answer(api, world, db):
    first = post(api, world.consumer, "/complaints", "k-1", json=filing(world))
    again = post(api, world.consumer, "/complaints", "k-1", json=filing(world))
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert cases(db) == 1
    # Without a key, or with another one, a filing is a new case.
    assert api.post(world.consumer, "/complaints", json=filing(world)).status_code == 201
    assert post(api, world.consumer, "/complaints", "k-2", json=filing(world)).status_code == 201
    assert cases(db) == 3


def test_same_key_other_body_is_an_idempotency_mismatch(api, world, db):
    assert post(api, world.consumer, "/complaints", "k", json=filing(world)).status_code == 201
    other = post(api, world.consumer, "/complaints", "k", json=filing(world, subject="别的"))
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_mismatch"
    assert cases(db) == 1


def test_same_key_from_another_caller_is_its_own_request(api, world, db):
    assert post(api, world.consumer, "/complaints", "k", json=filing(world)).status_code == 201
    assert post(api, world.other_consumer, "/complaints", "k", json=filing(world)).status_code == (
        201
    )
    assert cases(db) == 2


def test_a_refused_request_does_not_use_up_its_key(api, world, db):
    bad = post(api, world.consumer, "/complaints", "k", json=filing(world, amount="-1"))
    assert bad.status_code == 422
    good = post(api, world.consumer, "/complaints", "k", json=filing(world))
    assert good.status_code == 201 and cases(db) == 1


def test_a_key_older_than_24_hours_is_forgotten(api, world, db):
    assert post(api, world.consumer, "/complaints", "k", json=filing(world)).status_code == 201
    db.session.execute(
        db.update(IdempotentRequest).values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert post(api, world.consumer, "/complaints", "k", json=filing(world)).status_code == 201
    assert cases(db) == 2


def test_retried_message_offer_and_evidence_create_nothing(api, world, db):
    case = file_case(world.consumer, world.enterprise)
    path = f"/complaints/{case.id}"
    for _ in range(2):
        assert post(
            api, world.consumer, path + "/messages", "m", json={"body": "在吗"}
        ).status_code == (201)
        offer = {"remedy": "refund", "amount": "100.00", "terms": "退一百"}
        assert post(api, world.agent, path + "/offers", "o", json=offer).status_code == 201
        upload = post(
            api,
            world.consumer,
            path + "/evidence",
            "e",
            data={"file": (io.BytesIO(PNG), "receipt.png")},
            content_type="multipart/form-data",
        )
        assert upload.status_code == 201
    db.session.expire_all()
    for model in (Message, Offer, Evidence):
        assert db.session.scalar(db.select(db.func.count(model.id))) == 1, model
    other_file = post(
        api,
        world.consumer,
        path + "/evidence",
        "e",
        data={"file": (io.BytesIO(PNG + b"x"), "receipt.png")},
        content_type="multipart/form-data",
    )
    assert other_file.get_json()["error"]["code"] == "idempotency_mismatch"


def test_agreement_proposal_is_idempotent(api, world, db):
    case = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, case)
    ops.accept_case(world.mediator, case)
    db.session.commit()
    body = {"terms": "退款", "amount": "500.00"}
    first = post(api, world.mediator, f"/complaints/{case.id}/agreement", "a", json=body)
    again = post(api, world.mediator, f"/complaints/{case.id}/agreement", "a", json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]


def test_openapi_declares_the_idempotency_header(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/complaints", "/complaints/{complaint_id}/messages"):
        names = [p["name"] for p in doc["paths"][path]["post"]["parameters"] or []]
        assert "Idempotency-Key" in names
