"""A 12315 hotline seat's journey in a real Chromium, in Chinese and in English: sign in,
file a complaint for a caller on the phone (find the enterprise, fill the call in, see how
similar cases ended), land on the case; the caller's SMS carries the link, which they
follow to create their account and open the case. Pages scanned with axe-core."""

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from odr.disputes.delivery import deliver_due
from odr.disputes.models import Complaint
from odr.extensions import db
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

TEXTS = {
    "zh_CN": {"desk": "热线工作台", "phone": "电话", "file": "为来电人登记投诉"},
    "en": {"desk": "Hotline desk", "phone": "Phone call", "file": "File a complaint for a caller"},
}


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback warns under pytest 9: URLs come from live_server."""
    return None


def assert_accessible(page, what: str) -> None:
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{what}: {bad}"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_hotline_seat_files_for_a_caller_who_then_claims_it(
    world, page, live_server, tmp_path, lang
):
    text = TEXTS[lang]
    live_server.app.config["SMS_DIR"] = str(tmp_path / "sms")
    seat = factories.intake_user(world.jinshui, email=f"seat.{lang}@test.example", locale=lang)
    db.session.commit()
    base = live_server.url

    page.goto(f"{base}/auth/login?lang={lang}")
    page.fill("#email", seat.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/intake/$"))
    expect(page.locator("h1")).to_have_text(text["desk"])
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")
    assert_accessible(page, "desk")

    page.click("#new-complaint")
    expect(page.locator("h1")).to_have_text(text["file"])
    page.fill("#caller_name", "赵来电")
    page.fill("#caller_phone", "13912345678")
    page.fill("#caller_address", "郑州市金水区来电路5号")
    page.check("#channel-0")  # phone
    page.fill("#q", "郑州测试")
    page.click("#find")
    expect(page.locator("#enterprise_id")).to_have_value(str(world.enterprise.id))
    page.fill("#subject", "电饭煲")
    page.fill("#purchase_date", "2026-09-01")
    page.fill("#amount", "399")
    page.select_option("#issue", "quality")
    page.check("#requests-5")  # refund
    page.fill("#claimed_amount", "399")
    page.fill("#facts", "用了三天就坏了。")
    page.fill("#note", "来电人不用电子邮箱。")
    assert_accessible(page, "filing form")
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/intake/cases/\d+$"))
    expect(page.locator("#channel")).to_have_text(text["phone"])
    assert_accessible(page, "case page")

    complaint = db.session.scalar(db.select(Complaint).where(Complaint.taken_by_id == seat.id))
    assert str(complaint.channel) == "phone"
    deliver_due()
    (sms,) = [p.read_text(encoding="utf-8") for p in Path(tmp_path / "sms").glob("*.txt")]
    link = re.search(r"http://127\.0\.0\.1:5000(/auth/claim/\S+)", sms).group(1)

    # The caller, on their own phone: the link, their new account, their case.
    page.context.clear_cookies()
    page.goto(f"{base}{link}?lang={lang}")
    expect(page.locator(".card")).to_contain_text(complaint.reference)
    assert_accessible(page, "claim page")
    page.fill("#new-email", f"zhao.{lang}@test.example")
    page.fill("#new-password", "Caller-pass-2026")
    page.fill("#new-confirm", "Caller-pass-2026")
    page.click("#new-submit")
    expect(page).to_have_url(re.compile(rf"/consumer/cases/{complaint.id}$"))
    expect(page.locator("body")).to_contain_text(complaint.reference)
