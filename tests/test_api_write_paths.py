"""The API's write paths answer from what they have in memory and send few queries: the
answer of a filing or an offer is what reading the case back gives, and the number of
statements a filing or an offer sends stays small (token, case, the rows it writes)."""

import pytest

from odr.disputes.models import CaseEvent, Notification, Outbox, WebhookEndpoint
from odr.extensions import db as _db
from tests.factories import complaint_data, counted

# token+user+enterprise, the enterprise, complaint insert and update, event, staff, webhook
# endpoints, notices, outbox (e-mails and webhooks); then the keyed seal (odr/disputes/
# seals.py): the case read back, the last link of the chain of cases (after PostgreSQL's
# advisory lock) and the new seal
FILING_LIMIT = 9 + 4
# token+user+enterprise, case+consumer (locked), superseding the open offer, offer, complaint,
# event, notice, outbox; then the seal: the open offer as it was, the seal (locked), the
# offers and the case read back, the seal written
OFFER_LIMIT = 8 + 5


def _hook(world):
    _db.session.add(
        WebhookEndpoint(
            enterprise_id=world.enterprise.id, url="https://hooks.test.example/odr", secret="s"
        )
    )
    _db.session.commit()


@pytest.mark.parametrize(
    "who,overrides",
    [
        ("consumer", {}),
        ("consumer_en", {}),
        (
            "consumer",
            {
                "enterprise_id": None,
                "respondent_name": "路边小店",
                "respondent_region_code": "410103",
                "green_channel": False,
            },
        ),
        ("consumer_en", {"green_channel": False}),
    ],
)
def test_filing_answers_the_case_as_it_reads_back(world, api, db, who, overrides):
    consumer = getattr(world, who)
    api.token(consumer)
    posted = api.post(consumer, "/complaints", json=complaint_data(world.enterprise, **overrides))
    assert posted.status_code == 201, posted.get_json()
    data = posted.get_json()
    assert api.get(consumer, f"/complaints/{data['id']}").get_json() == data


def test_filing_sends_few_statements_and_writes_everything(world, api, db):
    _hook(world)
    api.token(world.consumer)
    data = complaint_data(world.enterprise)
    staff = {world.owner.id, world.agent.id}
    emails = {world.owner.email, world.agent.email}
    api.post(world.consumer, "/complaints", json=data)  # warm
    headers = api.headers(world.consumer)  # the test's own reads outside the count
    with counted(db.engine) as statements:
        posted = api.client.post("/api/v1/complaints", headers=headers, json=data)
    assert posted.status_code == 201
    assert len(statements) <= FILING_LIMIT, "\n".join(s.split("\n")[0] for s in statements)
    cid = posted.get_json()["id"]
    told = {
        n.user_id for n in db.session.scalars(db.select(Notification).filter_by(complaint_id=cid))
    }
    assert told == staff
    mails = db.session.scalars(
        db.select(Outbox).where(
            Outbox.channel == "email", Outbox.idempotency_key.contains(f"{cid}:")
        )
    ).all()
    assert {m.recipient for m in mails} == emails
    hooks = db.session.scalars(
        db.select(Outbox).where(Outbox.channel == "webhook", Outbox.body.contains(f'"id":{cid},'))
    ).all()
    assert [h.event for h in hooks] == ["complaint.created"]
    assert db.session.scalar(db.select(CaseEvent.action).filter_by(complaint_id=cid)) == "file"


def test_an_offer_answers_as_it_reads_back_with_few_statements(world, api, db):
    cid = api.post(world.consumer, "/complaints", json=complaint_data(world.enterprise)).get_json()[
        "id"
    ]
    offer = {"remedy": "refund", "amount": "100", "terms": "七日内退款", "performance_due": None}
    api.token(world.owner)
    consumer_id = world.consumer.id
    headers = api.headers(world.owner)  # the test's own reads outside the count
    path = f"/api/v1/complaints/{cid}/offers"
    api.client.post(path, headers=headers, json=offer)  # warm; superseded next
    with counted(db.engine) as statements:
        posted = api.client.post(path, headers=headers, json=offer)
    assert posted.status_code == 201, posted.get_json()
    assert len(statements) <= OFFER_LIMIT, "\n".join(s.split("\n")[0] for s in statements)
    detail = api.get(world.consumer, f"/complaints/{cid}").get_json()
    assert detail["offers"][-1] == posted.get_json()
    assert [o["status"] for o in detail["offers"]] == ["superseded", "open"]
    assert [e["action"] for e in detail["events"]] == ["file", "make_offer", "make_offer"]
    notices = db.session.scalars(
        db.select(Notification).filter_by(complaint_id=cid, kind="offer_made")
    ).all()
    assert [n.user_id for n in notices] == [consumer_id] * 2
