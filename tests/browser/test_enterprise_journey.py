"""The enterprise journey in a real Chromium: a new enterprise applies through the public
form, the regulator approves it in the admin console, a consumer's complaint reaches it
directly, it makes an offer on its case page, the consumer accepts, and the page shows the
case settled."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Enterprise, Offer
from odr.extensions import db
from odr.types import utcnow
from tests.factories import PASSWORD, credit_code, file_case

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NAME = "郑州浏览器测试商贸有限公司"
OWNER_EMAIL = "owner@browser-shop.example"
OWNER_PASSWORD = "Browser-owner-2026"


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback warns under pytest 9: URLs come from live_server."""
    return None


def sign_in(page, live_server, email, password=PASSWORD):
    page.goto(live_server.url + "/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_load_state()


def sign_out(page):
    page.locator("nav form button[type=submit]").click()
    page.wait_for_load_state()


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_enterprise_applies_is_approved_and_settles_a_complaint(page, live_server, world):
    page.on("dialog", lambda dialog: dialog.accept())
    code = credit_code(909090)

    # 1. The public application form.
    page.goto(live_server.url + "/merchant/apply")
    page.fill("#name", NAME)
    page.fill("#credit_code", code)
    page.select_option("#region_code", "410105")
    page.fill("#address", "郑州市金水区经三路 66 号")
    page.fill("#contact_phone", "0371-65550000")
    page.set_input_files(
        "#licence", files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.fill("#owner_name", "孙店长")
    page.fill("#owner_email", OWNER_EMAIL)
    page.fill("#owner_password", OWNER_PASSWORD)
    page.fill("#owner_confirm", OWNER_PASSWORD)
    page.check("#commitment")
    page.click("#submit")
    expect(page.locator("#application-received")).to_be_visible()

    # 2. The regulator approves it in the admin console.
    sign_in(page, live_server, "admin@test.example")
    page.goto(live_server.url + "/admin/enterprises?status=pending")
    page.get_by_role("link", name=NAME).click()
    expect(page.locator("#enterprise-status")).to_have_attribute("data-status", "pending")
    expect(page.locator("#licence-link")).to_be_visible()
    page.fill("#reason", "材料齐全，准予入驻")
    page.click("#decide-approve")
    expect(page.locator("#enterprise-status")).to_have_attribute("data-status", "approved")
    expect(page.locator("#enterprise-history li[data-action=approve]")).to_have_count(1)
    sign_out(page)

    # 3. A consumer files a complaint against it: it goes to the enterprise directly.
    db.session.rollback()
    enterprise = db.session.scalar(db.select(Enterprise).where(Enterprise.credit_code == code))
    assert enterprise.status == "approved"
    complaint = file_case(world.consumer, enterprise)
    assert complaint.state == "negotiating"

    # 4. The owner finds it in the inbox and makes an offer on the case page.
    sign_in(page, live_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.goto(live_server.url + "/merchant/inbox")
    row = page.locator(f'tr[data-reference="{complaint.reference}"]')
    expect(row).to_be_visible()
    expect(row.locator(".deadline-clock")).to_be_visible()
    row.get_by_role("link", name=complaint.reference).click()
    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "negotiating")
    page.select_option("#offer-remedy", "refund")
    page.fill("#offer-amount", "1299.00")
    page.fill("#offer-terms", "全额退款 1299 元，三个工作日内原路退回。")
    due = (utcnow() + timedelta(days=7)).date().isoformat()
    page.fill("#offer-performance_due", due)
    page.click("#offer-submit")
    expect(page.locator('.offer[data-status="open"]')).to_have_count(1)

    # 5. The consumer accepts (through the operation the consumer's page calls).
    db.session.rollback()
    offer = db.session.scalar(db.select(Offer).where(Offer.complaint_id == complaint.id))
    assert offer.made_by.email == OWNER_EMAIL
    ops.accept_offer(world.consumer, db.session.get(Complaint, complaint.id), offer.id)
    db.session.commit()

    # 6. The enterprise's page shows the acceptance and the case settled.
    page.reload()
    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "settled")
    expect(page.locator(".offer").first).to_have_attribute("data-status", "accepted")
    expect(page.locator("#timeline li[data-action=accept_offer]")).to_have_count(1)
    expect(page.locator("#records a")).to_have_count(1)
    expect(page.locator("#performance-form")).to_be_visible()

    # The pages hold at 375 px.
    page.set_viewport_size({"width": 375, "height": 800})
    assert fits_the_screen(page)
    page.goto(live_server.url + "/merchant/inbox")
    assert fits_the_screen(page)
