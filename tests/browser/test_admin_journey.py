"""The regulator's journey in a real Chromium: approve an enterprise's application, load
next year's holiday schedule, publish a consumer warning that then shows on the public page;
and a report of illegal conduct filed by a consumer, verified by the office (extended once)
and closed with a filing decision the reporter reads."""

import json
from datetime import date

import pytest
from playwright.sync_api import expect

from odr.disputes import deadlines
from odr.disputes.models import Enterprise, EnterpriseStatus, ServiceRequest
from odr.extensions import db
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback warns under pytest 9: URLs come from live_server."""
    return None


def sign_in(page, live_server, user):
    page.goto(live_server.url + "/auth/login?lang=en")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_load_state()


def sign_out(page):
    page.locator("nav form button[type=submit]").click()
    page.wait_for_load_state()


def test_the_regulator_approves_loads_the_calendar_and_publishes_a_warning(
    world, page, live_server, tmp_path
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server, world.admin)
    page.goto(live_server.url + "/admin/")
    expect(page.locator("h1")).to_have_text("Regulator console")
    expect(page.locator("canvas#states-chart[data-drawn=true]")).to_be_visible()

    # Approve the pending application from the console.
    page.click("text=Applications and decisions")
    page.goto(live_server.url + f"/admin/enterprises/{world.pending_enterprise.id}")
    page.click("#decide-approve")
    page.wait_for_load_state()
    db.session.expire_all()
    assert db.session.get(Enterprise, world.pending_enterprise.id).status == (
        EnterpriseStatus.APPROVED
    )
    page.goto(live_server.url + "/enterprises")
    expect(page.locator("#scoreboard")).to_contain_text(world.pending_enterprise.name)

    # Load the 2027 schedule from a file.
    schedule = tmp_path / "2027.json"
    schedule.write_text(
        json.dumps(
            {
                "holidays": ["2027-02-15", "2027-02-16", "2027-02-17"],
                "workdays": [{"date": "2027-02-20", "note": "春节调休"}],
            }
        ),
        encoding="utf-8",
    )
    page.goto(live_server.url + "/admin/calendar?year=2027")
    page.set_input_files("#file", str(schedule))
    page.click("text=Load the schedule")
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_contain_text("Loaded 3 days off and 1 working days")
    expect(page.locator('td[data-day="2027-02-15"]')).to_have_attribute("data-kind", "holiday")
    expect(page.locator('td[data-day="2027-02-20"]')).to_have_attribute("data-kind", "makeup")
    deadlines.invalidate_overrides()
    assert not deadlines.is_workday(date(2027, 2, 16))

    # Publish a warning; it shows on the public page.
    page.goto(live_server.url + "/admin/warnings")
    page.click("#new-warning")
    page.fill("#title", "春节预付卡消费提示")
    page.fill("#body", "办理预付卡前，请核实经营者资质。")
    page.click("#save-publish")
    page.wait_for_load_state()
    expect(page.locator("#warnings")).to_contain_text("春节预付卡消费提示")
    sign_out(page)
    page.goto(live_server.url + "/warnings")
    expect(page.locator("#warnings")).to_contain_text("春节预付卡消费提示")
    page.click("text=春节预付卡消费提示")
    expect(page.locator("#warning-body")).to_have_text("办理预付卡前，请核实经营者资质。")


def test_a_report_is_filed_verified_extended_and_closed(world, page, live_server):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server, world.consumer)
    page.goto(live_server.url + "/consumer/requests/")
    page.click("#new-report")
    page.select_option("#enterprise_id", str(world.enterprise.id))
    page.fill("#subject", "销售过期食品")
    page.fill("#text", "11月20日在该店购买的牛奶已过保质期。")
    page.click("#submit-request")
    page.wait_for_load_state()
    item = db.session.scalar(db.select(ServiceRequest))
    expect(page.locator("h1")).to_contain_text(item.reference)
    sign_out(page)

    # The Jinshui office verifies it: extends once, then files a case.
    sign_in(page, live_server, world.mediator)
    page.goto(live_server.url + "/office/requests?kind=report")
    page.click(f"text={item.reference}")
    expect(page.locator("#reporter")).to_contain_text(world.consumer.name)
    first_deadline = page.locator("#deadline").inner_text()
    page.fill("#reason", "需要抽样检验")
    page.click("#extend")
    page.wait_for_load_state()
    expect(page.locator("#extend")).to_have_count(0)
    assert page.locator("#deadline").inner_text() != first_deadline
    page.check("#outcome-0")
    page.fill("#answer", "经核查，已依法立案调查。")
    page.click("#decide")
    page.wait_for_load_state()
    expect(page.locator("#outcome")).to_contain_text("经核查，已依法立案调查。")
    sign_out(page)

    # The real-name reporter reads the decision.
    sign_in(page, live_server, world.consumer)
    page.goto(live_server.url + f"/consumer/requests/{item.id}")
    expect(page.locator("#outcome")).to_contain_text("经核查，已依法立案调查。")
    expect(page.locator(".request-state")).to_have_attribute("data-state", "closed")
