"""Jurisdiction as Order 121 gives it and routing that never strands a case: a platform
seller's complaint goes to the office of its published address, or of the platform's
domicile when it has none or cannot be reached there; an office with no active mediator
passes the case to the nearest staffed office above it, with the reason on the timeline;
the regulator's console lists the unstaffed bodies; the demo staffs every receiving office."""

import pytest

from odr.auth.models import UserRole
from odr.disputes import operations as ops
from odr.disputes import routing
from odr.disputes.models import CaseEvent, Complaint, RegionLevel
from odr.disputes.states import Invalid, State
from odr.extensions import db as _db
from tests.factories import PASSWORD, body, complaint_data, enterprise, file_case, region, user


def login(client, who):
    response = client.post("/auth/login", data={"email": who.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def zhongyuan(world, db):
    """A district office under Zhengzhou's (which has a mediator) with nobody in it, and an
    approved ODR enterprise of that district."""
    region("410102", "中原区", RegionLevel.COUNTY, "410100", name_en="Zhongyuan")
    office = body("中原区市场监督管理局", "410102", RegionLevel.COUNTY, world.city_body)
    shop = enterprise("中原测试商店", "410102")
    db.session.commit()
    return office, shop


def first_event(complaint) -> CaseEvent:
    return _db.session.scalars(
        _db.select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.id)
    ).first()


# -- an office with no mediator ---------------------------------------------------------------


def test_a_filing_for_an_unstaffed_office_goes_to_the_staffed_office_above(world, zhongyuan):
    office, shop = zhongyuan
    c = file_case(world.consumer, shop, green_channel=False)
    assert c.state == State.PENDING_ACCEPTANCE
    assert c.body_id == world.city_body.id
    event = first_event(c)
    assert event.details["passed_over_body_id"] == office.id
    assert event.details["body_id"] == world.city_body.id
    # Someone can act on it: the city office's mediator sees and accepts it.
    ops.accept_case(world.city_mediator, c)
    _db.session.commit()
    assert c.state == State.MEDIATING


def test_the_reason_is_on_the_consumers_timeline(world, zhongyuan, client):
    office, shop = zhongyuan
    c = file_case(world.consumer, shop, green_channel=False)
    login(client, world.consumer)
    html = client.get(f"/consumer/cases/{c.id}").get_data(as_text=True)
    assert f"{office.name}没有在岗调解员" in html
    assert world.city_body.name in html


def test_an_escalation_passes_an_unstaffed_office_too(world, zhongyuan):
    office, shop = zhongyuan
    c = file_case(world.consumer, shop)  # green channel: to the enterprise first
    assert c.state == State.NEGOTIATING
    ops.escalate(world.consumer, c, reason="没有回复")
    _db.session.commit()
    assert c.state == State.PENDING_ACCEPTANCE and c.body_id == world.city_body.id
    event = _db.session.scalars(
        _db.select(CaseEvent)
        .where(CaseEvent.complaint_id == c.id, CaseEvent.action == "escalate")
        .order_by(CaseEvent.id)
    ).one()
    assert event.details["passed_over_body_id"] == office.id


def test_a_staffed_office_keeps_its_cases(world, zhongyuan):
    office, shop = zhongyuan
    user(UserRole.MEDIATOR, "zhongyuan@test.example", body_=office)
    _db.session.commit()
    c = file_case(world.consumer, shop, green_channel=False)
    assert c.body_id == office.id
    assert "passed_over_body_id" not in first_event(c).details


def test_a_deactivated_mediator_does_not_staff_an_office(world, zhongyuan):
    office, shop = zhongyuan
    gone = user(UserRole.MEDIATOR, "gone@test.example", body_=office)
    gone.active = False
    _db.session.commit()
    assert office.id not in routing.staffed_body_ids()
    assert file_case(world.consumer, shop, green_channel=False).body_id == world.city_body.id


def test_the_console_lists_the_unstaffed_bodies(world, zhongyuan, client):
    office, _shop = zhongyuan
    login(client, world.admin)
    html = client.get("/admin/bodies").get_data(as_text=True)
    section = html[html.index('id="unstaffed"') : html.index('id="bodies"')]
    assert office.name in section and world.erqi.name in section
    assert world.jinshui.name not in section and world.city_body.name not in section


# -- platform sellers (Order 121) ---------------------------------------------------------


def test_a_platform_seller_without_a_usable_address_goes_to_the_platforms_office(world, api):
    # A seller listed in Jinshui trading on a platform domiciled in Laocheng (Luoyang).
    body_ = complaint_data(
        world.enterprise,
        green_channel=False,
        platform_name="某某购物平台",
        platform_region_code="410302",
        seller_address_usable=False,
    )
    answer = api.post(world.consumer, "/complaints", json=body_)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["body"]["id"] == world.laocheng.id
    c = _db.session.get(Complaint, answer.get_json()["id"])
    assert (c.platform_name, c.platform_region_code, c.seller_address_usable) == (
        "某某购物平台",
        "410302",
        False,
    )

    # With an address it can be reached at, the seller's own office handles it.
    usable = api.post(world.consumer, "/complaints", json={**body_, "seller_address_usable": True})
    assert usable.get_json()["body"]["id"] == world.jinshui.id


def test_a_listed_platform_names_its_domicile(world, api):
    answer = api.post(
        world.consumer,
        "/complaints",
        json=complaint_data(
            world.enterprise,
            green_channel=False,
            platform_id=world.other_enterprise.id,  # domiciled in Laocheng
            seller_address_usable=False,
        ),
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["body"]["id"] == world.laocheng.id
    assert _db.session.get(Complaint, answer.get_json()["id"]).platform_id == (
        world.other_enterprise.id
    )


def test_an_unlisted_platform_seller_escalates_to_the_platforms_office(world, db):
    c = file_case(
        world.consumer,
        None,
        respondent_name="网店小铺",
        respondent_region_code="410105",
        platform_name="某某购物平台",
        platform_region_code="410302",
        seller_address_usable=False,
    )
    assert c.body_id == world.laocheng.id


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"platform_name": "某平台"}, "platform_region_code"),
        ({"platform_name": "某平台", "platform_region_code": "999999"}, "platform_region_code"),
        ({"platform_region_code": "410302"}, "platform_name"),
        ({"seller_address_usable": False}, "platform_name"),
        ({"platform_id": 999999}, "platform_id"),
    ],
)
def test_platform_particulars_are_checked(world, api, db, patch, field):
    answer = api.post(world.consumer, "/complaints", json=complaint_data(world.enterprise, **patch))
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]
    assert not db.session.scalars(db.select(Complaint)).all()


def test_the_platform_cannot_be_the_seller(world, db):
    with pytest.raises(Invalid) as refused:
        ops.file_complaint(
            world.consumer, complaint_data(world.enterprise, platform_id=world.enterprise.id)
        )
    assert "platform_id" in refused.value.fields


def test_the_wizard_names_the_platform_and_routes_by_it(world, client, db):
    from odr.disputes.models import Draft
    from tests.test_consumer_wizard import fill_to_review

    login(client, world.consumer)
    refused = client.post(
        "/consumer/file",
        data={"enterprise_id": str(world.enterprise.id), "seller_address_unusable": "y"},
    )
    assert refused.status_code == 422  # no platform named: nothing decides jurisdiction
    response = client.post(
        "/consumer/file",
        data={
            "enterprise_id": str(world.enterprise.id),
            "platform_name": "某某购物平台",
            "platform_region_code": "410302",
            "seller_address_unusable": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    draft = db.session.scalars(db.select(Draft).order_by(Draft.id.desc())).first()
    base = fill_to_review(client, draft)
    review = client.get(f"{base}/review").get_data(as_text=True)
    assert world.laocheng.name in review
    assert client.post(f"{base}/review", data={"confirm": "y"}).status_code == 302
    c = db.session.scalars(db.select(Complaint)).one()
    assert c.body_id == world.laocheng.id and c.platform_name == "某某购物平台"


# -- the demo -------------------------------------------------------------------------------


@pytest.fixture
def fresh_app(fresh_db_url, tmp_path):
    from odr import create_app
    from odr.config import TestConfig

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=fresh_db_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.mark.slow
def test_the_demo_staffs_every_office_that_can_receive_a_case(fresh_app):
    from odr.seed import seed_demo

    with fresh_app.app_context(), fresh_app.test_request_context():
        seed_demo()
        _db.session.commit()
        left = {(str(b.level), str(b.kind)) for b in routing.unstaffed_bodies()}
        # Only the local station under Jinshui, which routing never sends a case to.
        assert left <= {("station", "office")}
        zhongyuan = routing.competent_body_for_region("410102")
        assert zhongyuan.region_code == "410102"
        assert routing.staffed_office(zhongyuan.id) == (zhongyuan.id, None)


def test_the_mediator_who_receives_it_sees_why(world, zhongyuan, client):
    _office, shop = zhongyuan
    c = file_case(world.consumer, shop, green_channel=False)
    login(client, world.city_mediator)
    html = client.get(f"/mediation/cases/{c.id}").get_data(as_text=True)
    assert "管辖部门没有在岗调解员" in html
