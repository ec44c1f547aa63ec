"""The consumer's API: log in, register, find the enterprise, file, follow, talk, upload,
answer offers, escalate, withdraw, confirm performance, rate — and the errors of API.md."""

from odr.auth.models import ApiToken, UserRole
from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Evidence
from tests.factories import PASSWORD, complaint_data, counted, file_case, user

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def upload(api, user, complaint_id, content: bytes, filename: str, field="file"):
    """A multipart upload built here as bytes (the test client would spool a big body to a
    temporary file it never closes)."""
    boundary = "odr-test-boundary-7d1f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return api.post(
        user,
        f"/complaints/{complaint_id}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def file_via_api(api, consumer, enterprise, **overrides):
    response = api.post(consumer, "/complaints", json=complaint_data(enterprise, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def offer_on(db, world, complaint_id, amount="1299.00"):
    complaint = db.session.get(Complaint, complaint_id)
    offer = ops.make_offer(world.agent, complaint, remedy="refund", amount=amount, terms="全额退款")
    db.session.commit()
    return offer.id


# -- tokens and accounts -----------------------------------------------------------------


def test_login_gives_a_token_that_works(world, client):
    response = client.post(
        "/api/v1/auth/tokens", json={"email": "Consumer@Test.example", "password": PASSWORD}
    )
    assert response.status_code == 201
    data = response.get_json()
    assert data["role"] == "consumer" and data["token"].startswith("odr_")
    assert data["expires_at"] and "+00:00" in data["expires_at"] and data["id"]
    listing = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {data['token']}"})
    assert listing.status_code == 200 and listing.get_json() == {"items": [], "next_cursor": None}


def test_login_refuses_a_wrong_password_and_missing_fields(world, client):
    wrong = client.post(
        "/api/v1/auth/tokens", json={"email": "consumer@test.example", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "unauthorized"
    missing = client.post("/api/v1/auth/tokens", json={})
    assert missing.status_code == 422
    assert set(missing.get_json()["error"]["fields"]) == {"email", "password"}


def test_no_or_bad_token_is_401_json(world, client):
    for header in (None, "Bearer", "Bearer nonsense", "Basic Zm9vOmJhcg==", "bearer " + "x" * 600):
        headers = {"Authorization": header} if header else {}
        response = client.get("/api/v1/complaints", headers=headers)
        assert response.status_code == 401
        assert response.content_type == "application/json"
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_signed_in_browser_session_is_not_api_auth(world, client):
    client.post(
        "/auth/login", data={"email": "consumer@test.example", "password": PASSWORD}
    )  # whatever the web does, the API looks only at the bearer token
    assert client.get("/api/v1/complaints").status_code == 401


def test_expired_and_revoked_tokens_stop_working(world, api, db):
    from datetime import timedelta

    from odr.types import utcnow

    token = api.token(world.consumer)
    assert api.get(world.consumer, "/complaints").status_code == 200
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == world.consumer.id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.get(world.consumer, "/complaints").status_code == 401
    row.expires_at = None
    row.revoked_at = utcnow()
    db.session.commit()
    assert token and api.get(world.consumer, "/complaints").status_code == 401


def test_register_consumer(world, client):
    response = client.post(
        "/api/v1/consumers",
        json={
            "email": "new.person@test.example",
            "password": "long-enough-1",
            "name": "王五",
            "phone": "13900000000",
            "region_code": "410105",
        },
    )
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) == {"id", "email", "name", "phone", "region_code", "role"}
    assert data["role"] == "consumer" and data["email"] == "new.person@test.example"
    assert "password" not in response.get_data(as_text=True)
    login = client.post(
        "/api/v1/auth/tokens",
        json={"email": "new.person@test.example", "password": "long-enough-1"},
    )
    assert login.status_code == 201


def test_register_consumer_errors_name_each_field(world, client):
    response = client.post(
        "/api/v1/consumers",
        json={"email": "not-an-address", "password": "short", "name": "x", "phone": None},
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"email", "password"}
    bad_region = client.post(
        "/api/v1/consumers",
        json={
            "email": "a@test.example",
            "password": "long-enough-1",
            "name": "A",
            "region_code": "999999",
        },
    )
    assert bad_region.status_code == 422
    assert set(bad_region.get_json()["error"]["fields"]) == {"region_code"}


def test_enterprise_search_by_name_and_credit_code(world, client):
    by_name = client.get("/api/v1/enterprises?q=百货").get_json()
    assert [e["id"] for e in by_name["items"]] == [world.enterprise.id]
    assert by_name["items"][0]["credit_code"] == "91330100716105852F"
    by_code = client.get("/api/v1/enterprises?q=91110000802100433b").get_json()
    assert [e["id"] for e in by_code["items"]] == [world.other_enterprise.id]
    everyone = client.get("/api/v1/enterprises").get_json()
    # Only approved enterprises are found; the pending one is not.
    assert {e["id"] for e in everyone["items"]} == {world.enterprise.id, world.other_enterprise.id}
    assert client.get("/api/v1/enterprises?q=%25").get_json()["items"] == []
    first = client.get("/api/v1/enterprises?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(f"/api/v1/enterprises?limit=1&cursor={first['next_cursor']}").get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert second["items"][0]["id"] != first["items"][0]["id"]


# -- filing ------------------------------------------------------------------------------


def test_file_a_complaint_answers_201_with_the_case(world, api, db):
    data = file_via_api(api, world.consumer, world.enterprise, amount=1299, claimed_amount=99.5)
    assert data["id"] and data["reference"].startswith("ODR-")
    assert data["state"] == "negotiating"
    assert data["deadline_at"] and data["deadline_at"].endswith("+00:00")
    assert data["enterprise"] == {"id": world.enterprise.id, "name": "郑州测试百货有限公司"}
    assert data["amount"] == "1299.00" and data["claimed_amount"] == "99.50"
    assert data["requests"] == ["refund"]
    # Name, phone and address default to the consumer's profile; the consumer sees them.
    assert data["complainant_name"] == "张三"
    assert data["complainant_phone"] == "13800000000"
    assert data["complainant_address"] == "郑州市金水区测试路1号"
    assert [e["action"] for e in data["events"]] == ["file"]
    assert data["events"][0]["to_state"] == "negotiating" and data["events"][0]["actor"] == (
        "consumer"
    )
    assert data["offers"] == [] and data["messages"] == [] and data["agreement"] is None
    assert db.session.get(Complaint, data["id"]).consumer_id == world.consumer.id


def test_file_against_an_unlisted_business_goes_to_the_office(world, api, db):
    # Erqi's office has a mediator (an unstaffed one passes cases up: test_routing_law.py).
    user(UserRole.MEDIATOR, "erqi.mediator@test.example", body_=world.erqi)
    db.session.commit()
    data = file_via_api(
        api,
        world.consumer,
        None,
        respondent_name="路边小店",
        respondent_region_code="410103",
        green_channel=False,
    )
    assert data["state"] == "pending_acceptance"
    assert data["enterprise"] is None and data["respondent_name"] == "路边小店"
    assert data["body"]["id"] == world.erqi.id


def test_missing_fields_are_422_with_a_message_per_field(world, api):
    response = api.post(world.consumer, "/complaints", json={"enterprise_id": world.enterprise.id})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) >= {
        "issue",
        "subject",
        "purchase_date",
        "amount",
        "requests",
        "claimed_amount",
        "facts",
    }
    assert all(isinstance(m, str) and m for m in error["fields"].values())


def test_semantic_errors_come_from_the_operation(world, api):
    response = api.post(
        world.consumer,
        "/complaints",
        json=complaint_data(
            world.enterprise, purchase_date="2099-01-01", purchase_url="ftp://x", facts="   "
        ),
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"purchase_date", "purchase_url", "facts"}
    unknown = api.post(world.consumer, "/complaints", json=complaint_data(None))
    assert unknown.status_code == 422
    assert "enterprise_id" in unknown.get_json()["error"]["fields"]
    nowhere = api.post(world.consumer, "/complaints", json=complaint_data(None, enterprise_id=999))
    assert list(nowhere.get_json()["error"]["fields"]) == ["enterprise_id"]


WRONG_TYPES = [
    ({"amount": True}, "amount"),
    ({"amount": "12,00"}, "amount"),
    ({"amount": -1}, "amount"),
    ({"amount": 1e300}, "amount"),
    ({"amount": {"value": 1}}, "amount"),
    ({"claimed_amount": None}, "claimed_amount"),
    ({"requests": "refund"}, "requests"),
    ({"requests": []}, "requests"),
    ({"requests": [{"x": 1}]}, "requests"),
    ({"requests": ["teleport"]}, "requests"),
    ({"issue": 7}, "issue"),
    ({"subject": ["a"]}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"facts": "nul\x00byte"}, "facts"),
    ({"facts": "lone \ud800 surrogate"}, "facts"),
    ({"purchase_date": 20260901}, "purchase_date"),
    ({"purchase_date": "2026-02-30"}, "purchase_date"),
    ({"enterprise_id": 10**30}, "enterprise_id"),
    ({"enterprise_id": "abc"}, "enterprise_id"),
    ({"green_channel": "maybe"}, "green_channel"),
]


def test_wrong_types_are_422_never_500(world, api):
    for patch, field in WRONG_TYPES:
        body = {**complaint_data(world.enterprise), **patch}
        response = api.post(world.consumer, "/complaints", json=body)
        assert response.status_code == 422, (patch, response.get_json())
        assert field in response.get_json()["error"]["fields"], patch


def test_malformed_or_non_object_bodies_are_400(world, api):
    for raw in (b"{not json", b"[1, 2]", b'"text"', b"null", b"12", b"\xff\xfe", b"[" * 100_000):
        response = api.post(
            world.consumer, "/complaints", data=raw, content_type="application/json"
        )
        assert response.status_code == 400, raw[:10]
        assert response.get_json()["error"]["code"] == "bad_request"


def test_only_consumers_file(world, api):
    response = api.post(world.agent, "/complaints", json=complaint_data(world.enterprise))
    assert response.status_code == 403


# -- following the case ------------------------------------------------------------------


def test_list_show_and_page_my_cases(world, api, db):
    ids = [file_case(world.consumer, world.enterprise).id for _ in range(3)]
    file_case(world.other_consumer, world.enterprise)
    first = api.get(world.consumer, "/complaints?limit=2").get_json()
    assert [c["id"] for c in first["items"]] == sorted(ids, reverse=True)[:2]
    assert "complainant_phone" not in first["items"][0]
    second = api.get(world.consumer, f"/complaints?limit=2&cursor={first['next_cursor']}")
    assert [c["id"] for c in second.get_json()["items"]] == [min(ids)]
    assert second.get_json()["next_cursor"] is None
    by_state = api.get(world.consumer, "/complaints?state=settled").get_json()
    assert by_state["items"] == []
    for bad in ("limit=0", "limit=201", "limit=x", "state=closed", "cursor=%%%", "cursor=aWQ6MA"):
        response = api.get(world.consumer, "/complaints?" + bad)
        assert response.status_code == 422, bad
    shown = api.get(world.consumer, f"/complaints/{ids[0]}").get_json()
    assert shown["id"] == ids[0] and shown["events"][0]["action"] == "file"


def test_another_consumers_case_is_404(world, api):
    theirs = file_case(world.other_consumer, world.enterprise)
    for path in ("", "/messages", "/records"):
        response = api.get(world.consumer, f"/complaints/{theirs.id}{path}")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert api.post(world.consumer, f"/complaints/{theirs.id}/withdraw").status_code == 404
    assert api.get(world.consumer, "/complaints/999999").status_code == 404
    assert api.get(world.consumer, "/complaints/99999999999999").status_code == 404


def test_messages_between_consumer_and_enterprise(world, api):
    case = file_case(world.consumer, world.enterprise)
    sent = api.post(world.consumer, f"/complaints/{case.id}/messages", json={"body": "请尽快处理"})
    assert sent.status_code == 201
    assert sent.get_json()["body"] == "请尽快处理" and sent.get_json()["author_role"] == "consumer"
    api.post(world.agent, f"/complaints/{case.id}/messages", json={"body": "已收到"})
    listed = api.get(world.consumer, f"/complaints/{case.id}/messages").get_json()
    assert [m["body"] for m in listed["items"]] == ["请尽快处理", "已收到"]
    paged = api.get(world.consumer, f"/complaints/{case.id}/messages?limit=1").get_json()
    assert [m["body"] for m in paged["items"]] == ["请尽快处理"]
    rest = api.get(world.consumer, f"/complaints/{case.id}/messages?cursor={paged['next_cursor']}")
    assert [m["body"] for m in rest.get_json()["items"]] == ["已收到"]
    empty = api.post(world.consumer, f"/complaints/{case.id}/messages", json={"body": ""})
    assert empty.status_code == 422 and "body" in empty.get_json()["error"]["fields"]
    private = api.post(
        world.consumer, f"/complaints/{case.id}/messages", json={"body": "x", "internal": True}
    )
    assert private.status_code == 403


def test_evidence_upload_and_its_limits(world, api, db):
    case = file_case(world.consumer, world.enterprise)
    ok = upload(api, world.consumer, case.id, JPEG, "receipt.jpg")
    assert ok.status_code == 201
    assert ok.get_json()["content_type"] == "image/jpeg"
    assert ok.get_json()["filename"] == "receipt.jpg" and ok.get_json()["size"] == len(JPEG)
    renamed = upload(api, world.consumer, case.id, EXE, "photo.jpg")
    assert renamed.status_code == 415
    assert renamed.get_json()["error"]["code"] == "unsupported_media_type"
    huge = upload(api, world.consumer, case.id, b"\xff\xd8\xff" * 7_000_000, "big.jpg")  # 21 MB
    assert huge.status_code == 413
    assert huge.get_json()["error"]["code"] == "payload_too_large"
    eleven = upload(api, world.consumer, case.id, JPEG + b"\x00" * (10 * 1024 * 1024), "11.jpg")
    assert eleven.status_code == 413
    missing = upload(api, world.consumer, case.id, JPEG, "receipt.jpg", field="other")
    assert missing.status_code == 422 and "file" in missing.get_json()["error"]["fields"]
    as_json = api.post(world.consumer, f"/complaints/{case.id}/evidence", json={"file": "x"})
    assert as_json.status_code == 422
    broken = api.post(
        world.consumer,
        f"/complaints/{case.id}/evidence",
        data=b"--x\r\nnot really multipart",
        content_type="multipart/form-data; boundary=x",
    )
    assert 400 <= broken.status_code < 500
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 1
    shown = api.get(world.agent, f"/complaints/{case.id}").get_json()
    assert [e["filename"] for e in shown["evidence"]] == ["receipt.jpg"]
    assert upload(api, world.other_consumer, case.id, JPEG, "x.jpg").status_code == 404


# -- offers and the way out --------------------------------------------------------------


def test_accept_an_offer_settles_the_case_and_issues_a_record(world, api, db):
    case = file_via_api(api, world.consumer, world.enterprise)
    offer_id = offer_on(db, world, case["id"])
    response = api.post(world.consumer, f"/complaints/{case['id']}/offers/{offer_id}/accept")
    assert response.status_code == 200
    data = response.get_json()
    assert data["state"] == "settled" and data["deadline_at"] is None
    assert data["settled_amount"] == "1299.00" and data["performance_status"] == "pending"
    assert data["offers"][0]["status"] == "accepted"
    assert [e["action"] for e in data["events"]] == ["file", "make_offer", "accept_offer"]
    records = api.get(world.consumer, f"/complaints/{case['id']}/records").get_json()["items"]
    assert [r["kind"] for r in records] == ["settlement"]
    assert records[0]["url"] == f"/api/v1/records/{records[0]['code']}.pdf"
    pdf = api.get(world.consumer, records[0]["url"][len("/api/v1") :])
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(pdf.data).hexdigest() == records[0]["sha256"]
    # The other consumer may not fetch it: 404, not 403.
    assert api.get(world.other_consumer, records[0]["url"][len("/api/v1") :]).status_code == 404
    assert api.get(world.admin, records[0]["url"][len("/api/v1") :]).status_code == 404
    assert api.get(world.consumer, "/records/NOSUCHCODE.pdf").status_code == 404

    again = api.post(world.consumer, f"/complaints/{case['id']}/offers/{offer_id}/reject")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_transition"
    accept_again = api.post(world.consumer, f"/complaints/{case['id']}/offers/{offer_id}/accept")
    assert accept_again.status_code == 409
    assert accept_again.get_json()["error"]["code"] == "invalid_transition"


def test_reject_an_offer_with_a_counter_proposal_then_escalate(world, api, db):
    case = file_via_api(api, world.consumer, world.enterprise)
    offer_id = offer_on(db, world, case["id"], amount="100")
    rejected = api.post(
        world.consumer,
        f"/complaints/{case['id']}/offers/{offer_id}/reject",
        json={"counter_proposal": "至少退 800 元"},
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["offers"][0]["status"] == "rejected"
    assert rejected.get_json()["offers"][0]["counter_proposal"] == "至少退 800 元"
    assert api.post(world.consumer, f"/complaints/{case['id']}/offers/999/accept").status_code == (
        404
    )
    escalated = api.post(world.consumer, f"/complaints/{case['id']}/escalate", json={})
    assert escalated.status_code == 200
    data = escalated.get_json()
    assert data["state"] == "pending_acceptance" and data["body"]["id"] == world.jinshui.id
    assert data["events"][-1]["action"] == "escalate"
    twice = api.post(world.consumer, f"/complaints/{case['id']}/escalate")
    assert twice.status_code == 409


def test_withdraw(world, api):
    case = file_via_api(api, world.consumer, world.enterprise)
    response = api.post(
        world.consumer, f"/complaints/{case['id']}/withdraw", json={"reason": "已自行解决"}
    )
    assert response.status_code == 200
    assert response.get_json()["state"] == "withdrawn"
    assert response.get_json()["termination_reason"] == "T1"
    assert api.post(world.consumer, f"/complaints/{case['id']}/withdraw").status_code == 409
    bad = api.post(world.consumer, f"/complaints/{case['id']}/withdraw", json={"reason": 5})
    assert bad.status_code == 422


def test_performance_and_rating_after_a_settlement(world, api, db):
    case = file_via_api(api, world.consumer, world.enterprise)
    offer_id = offer_on(db, world, case["id"])
    early = api.post(
        world.consumer, f"/complaints/{case['id']}/performance", json={"status": "confirmed"}
    )
    assert early.status_code == 409
    api.post(world.consumer, f"/complaints/{case['id']}/offers/{offer_id}/accept")
    bad = api.post(world.consumer, f"/complaints/{case['id']}/performance", json={"status": "x"})
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["fields"]
    done = api.post(
        world.consumer,
        f"/complaints/{case['id']}/performance",
        json={"status": "performed", "note": "已退款"},
    )
    assert done.status_code == 200 and done.get_json()["performance_status"] == "confirmed"
    breach = api.post(
        world.agent, f"/complaints/{case['id']}/performance", json={"status": "breach"}
    )
    assert breach.status_code == 200 and breach.get_json()["performance_status"] == "breached"
    for wrong in ({"rating": 0}, {"rating": 6}, {"rating": "five"}, {}):
        response = api.post(world.consumer, f"/complaints/{case['id']}/rating", json=wrong)
        assert response.status_code == 422, wrong
    rated = api.post(
        world.consumer, f"/complaints/{case['id']}/rating", json={"rating": 5, "comment": "好"}
    )
    assert rated.status_code == 200 and rated.get_json()["rating"] == 5
    twice = api.post(world.consumer, f"/complaints/{case['id']}/rating", json={"rating": 4})
    assert twice.status_code == 409
    by_agent = api.post(world.agent, f"/complaints/{case['id']}/rating", json={"rating": 1})
    assert by_agent.status_code == 403


def test_consumer_may_not_make_mediator_moves(world, api):
    case = file_via_api(api, world.consumer, world.enterprise)
    for move in ("accept", "resume"):
        assert api.post(world.consumer, f"/complaints/{case['id']}/{move}").status_code == 403
    refuse = api.post(world.consumer, f"/complaints/{case['id']}/refuse", json={"reason": "R1"})
    assert refuse.status_code == 403


def test_errors_speak_the_callers_language(world, api):
    def cjk(text):
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    chinese = api.post(world.consumer, "/complaints", json={})
    assert cjk(chinese.get_json()["error"]["message"])
    assert cjk(chinese.get_json()["error"]["fields"]["facts"])
    bad_token = api.client.get(
        "/api/v1/complaints", headers={"Authorization": "Bearer x", "Accept-Language": "zh-CN"}
    )
    assert bad_token.get_json()["error"]["message"] == "令牌无效、已过期或已被撤销。"
    english = api.post(world.consumer_en, "/complaints", json={})
    assert english.get_json()["error"]["message"] == "Please correct the marked fields."
    assert english.get_json()["error"]["fields"]["facts"] == "This field is required."


def count_queries(db, fn):
    with counted(db.engine) as statements:
        fn()
    return len(statements)


def test_no_query_per_case_or_per_message(world, api, db):
    """Listing 2 or 12 cases, or showing a case with 1 or 10 messages, costs the same number
    of queries."""
    file_case(world.consumer, world.enterprise)
    unlisted = file_case(
        world.consumer, None, respondent_name="小店", respondent_region_code="410103"
    )
    api.token(world.consumer)

    def listing():
        db.session.expire_all()
        assert api.get(world.consumer, "/complaints").status_code == 200

    def showing():
        db.session.expire_all()
        assert api.get(world.consumer, f"/complaints/{unlisted.id}").status_code == 200

    ops.post_message(world.consumer, unlisted, "一")
    db.session.commit()
    few_cases, one_message = count_queries(db, listing), count_queries(db, showing)
    for n in range(10):
        respondent = world.enterprise if n % 2 else None
        file_case(world.consumer, respondent, respondent_name="店", respondent_region_code="410103")
        ops.post_message(world.consumer, unlisted, f"消息 {n}")
    db.session.commit()
    assert count_queries(db, listing) == few_cases
    assert count_queries(db, showing) == one_message


def test_a_race_lost_on_a_unique_constraint_is_409_not_500(world, api, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    case = file_case(world.consumer, world.enterprise)

    def racing(*args, **kwargs):
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(ops, "post_message", racing)
    response = api.post(world.consumer, f"/complaints/{case.id}/messages", json={"body": "x"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    assert response.headers["Cache-Control"] == "no-store"
