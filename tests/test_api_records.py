"""Records through the API: listing, fetching, the public verification, and the public
scoreboard."""

import hashlib

from odr.disputes import operations as ops
from tests.factories import file_case


def settled_case(db, world):
    complaint = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, complaint, remedy="refund", amount="99", terms="退款")
    ops.accept_offer(world.consumer, complaint, offer.id)
    db.session.commit()
    return complaint


def test_verify_a_record_with_and_without_its_hash(world, api, client, db):
    complaint = settled_case(db, world)
    record = api.get(world.consumer, f"/complaints/{complaint.id}/records").get_json()["items"][0]
    pdf = api.get(world.consumer, f"/records/{record['code']}.pdf")
    assert "attachment" in pdf.headers["Content-Disposition"]
    digest = hashlib.sha256(pdf.data).hexdigest()

    plain = client.get(f"/api/v1/verify/{record['code']}")
    assert plain.status_code == 200
    assert plain.get_json() == {
        "valid": True,
        "kind": "settlement",
        "reference": complaint.reference,
        "issued_at": record["issued_at"],
        "sha256": digest,
    }
    # No personal data: nothing of the consumer, the enterprise or the amount.
    text = plain.get_data(as_text=True)
    assert "张三" not in text and "13800000000" not in text and "百货" not in text

    matching = client.get(f"/api/v1/verify/{record['code'].lower()}?sha256={digest.upper()}")
    assert matching.get_json()["valid"] is True
    wrong = client.get(f"/api/v1/verify/{record['code']}?sha256={'0' * 64}")
    assert wrong.status_code == 200 and wrong.get_json()["valid"] is False
    garbage = client.get(f"/api/v1/verify/{record['code']}?sha256=not-a-hash")
    assert garbage.get_json()["valid"] is False


def test_an_unknown_code_is_404_and_not_valid(world, client):
    for code in ("ABCDEFGHJKLMNPQR", "x", "%00", "A" * 40):
        response = client.get(f"/api/v1/verify/{code}")
        assert response.status_code == 404, code
        body = response.get_json()
        assert body["valid"] is False and body["error"]["code"] == "not_found"


def test_records_are_for_parties_and_the_mediator(world, api, db):
    complaint = settled_case(db, world)
    path = f"/complaints/{complaint.id}/records"
    assert len(api.get(world.agent, path).get_json()["items"]) == 1
    for outsider in (world.other_consumer, world.other_agent, world.mediator, world.admin):
        assert api.get(outsider, path).status_code == 404
    assert api.get(None, path).status_code == 401


def test_public_scoreboard(world, client, db):
    settled_case(db, world)
    response = client.get("/api/v1/stats/enterprises")
    assert response.status_code == 200
    rows = {row["enterprise_id"]: row for row in response.get_json()["items"]}
    assert set(rows) == {world.enterprise.id, world.other_enterprise.id}
    mine = rows[world.enterprise.id]
    assert mine["name"] == "郑州测试百货有限公司" and mine["credit_code"] == "91330100716105852F"
    assert mine["cases"] == 1 and mine["settled"] == 1
    assert mine["settlement_rate"] == 1.0
    assert rows[world.other_enterprise.id]["cases"] == 0
