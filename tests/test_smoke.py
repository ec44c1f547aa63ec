from tests.factories import file_case


def test_home_page_answers_in_chinese_by_default(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="zh-CN"' in response.get_data(as_text=True)


def test_filing_routes_green_channel_case_to_enterprise(world, db):
    complaint = file_case(world.consumer, world.enterprise)
    assert complaint.state == "negotiating"
    assert complaint.reference.startswith("ODR-")
    assert complaint.deadline_at is not None


def test_sign_out_leaves_nothing_for_the_next_person(client, world):
    client.post(
        "/auth/login", data={"email": "consumer@test.example", "password": "Test-pass-2026"}
    )
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Received: JB-secret")]
        session["lang"] = "en"
    client.post("/auth/logout")
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert session.get("lang") == "en"
        assert all("JB-secret" not in message for _, message in session.get("_flashes", []))
