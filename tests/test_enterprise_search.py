"""Issue 18: a person finds an enterprise by its Chinese name, its English name, its name in
pinyin (whole, spaced, or as initials) or its credit code, on the filing wizard and the API
(one condition, enterprises.matching); the public scoreboard keeps enterprises that left the
programme (marked) and shows breaches and satisfaction."""

import pytest

from odr.disputes import enterprises, stats
from odr.disputes import operations as ops
from odr.disputes.models import Enterprise
from odr.disputes.models.organisation import pinyin_key
from odr.extensions import db
from tests.factories import PASSWORD, credit_code, file_case


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch):
    monkeypatch.setattr(
        "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
    )


def test_pinyin_key_is_whole_and_initials():
    assert pinyin_key("郑州测试百货有限公司") == "zhengzhouceshibaihuoyouxiangongsi zzcsbhyxgs"
    assert pinyin_key("ABC商城") == "abcshangcheng abcsc"


@pytest.mark.parametrize(
    "q",
    ["郑州测试", "zhengzhou ceshi", "ZhengZhou", "zzcs", "Test Department", "91330100716105852f"],
)
def test_the_api_and_the_wizard_find_an_enterprise_by_any_of_its_names(world, api, client, q):
    world.enterprise.name_en = "Zhengzhou Test Department Store"
    db.session.commit()
    found = api.get(None, "/enterprises", query_string={"q": q}).get_json()["items"]
    assert [e["id"] for e in found] == [world.enterprise.id]
    assert found[0]["name_en"] == "Zhengzhou Test Department Store"

    client.post("/auth/login", data={"email": world.consumer.email, "password": PASSWORD})
    page = client.get("/consumer/file", query_string={"q": q}).get_data(as_text=True)
    assert f'id="enterprise-{world.enterprise.id}"' in page
    assert f'id="enterprise-{world.other_enterprise.id}"' not in page


def test_a_name_change_keeps_its_pinyin(world):
    world.enterprise.name = "开封新名字商店"
    db.session.commit()
    assert db.session.scalar(db.select(Enterprise.id).where(enterprises.matching("kaifeng"))) == (
        world.enterprise.id
    )
    assert db.session.scalar(db.select(Enterprise.id).where(enterprises.matching("zzcs"))) is None


def test_an_application_carries_an_optional_english_name(world, api):
    body = {
        "name": "许昌胖东来商贸集团有限公司",
        "name_en": "Pangdonglai Trading Group",
        "credit_code": credit_code(4242),
        "region_code": "410105",
        "address": "许昌市魏都区",
        "contact_phone": "0374-1234567",
        "owner": {"email": "pdl@test.example", "password": "Pdl-pass-2026", "name": "Yu"},
    }
    answer = api.post(None, "/enterprises", json=body)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["name_en"] == "Pangdonglai Trading Group"
    too_long = api.post(None, "/enterprises", json={**body, "name_en": "x" * 201})
    assert too_long.status_code == 422


def test_the_scoreboard_keeps_exited_enterprises_and_shows_breaches_and_satisfaction(
    world, client, api
):
    case = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, case, remedy="refund", amount="99", terms="Refund 99")
    ops.accept_offer(world.consumer, case, offer.id)
    ops.report_performance(world.consumer, case, status="breached")
    ops.rate(world.consumer, case, rating=2)
    db.session.commit()
    enterprises.decide(world.admin, world.enterprise, "exit", "Left the programme")
    db.session.commit()

    [row] = [r for r in stats.enterprise_scoreboard() if r["enterprise_id"] == world.enterprise.id]
    assert (row["status"], row["breaches"], row["satisfaction"]) == ("exited", 1, 2.0)
    listed = {r["enterprise_id"] for r in stats.enterprise_scoreboard()}
    assert world.pending_enterprise.id not in listed

    page = client.get("/enterprises?lang=en").get_data(as_text=True)
    assert f'id="enterprise-{world.enterprise.id}" class="is-exited"' in page
    assert "Left the ODR programme" in page
    assert 'data-field="breaches" data-value="1">1<' in page
    assert "2.0 / 5" in page
    by_pinyin = client.get("/enterprises?q=zzcs").get_data(as_text=True)
    assert f'id="enterprise-{world.enterprise.id}"' in by_pinyin
    assert f'id="enterprise-{world.other_enterprise.id}"' not in by_pinyin

    items = api.get(None, "/stats/enterprises").get_json()["items"]
    mine = next(i for i in items if i["enterprise_id"] == world.enterprise.id)
    assert (mine["status"], mine["breaches"], mine["satisfaction"]) == ("exited", 1, 2.0)
