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
