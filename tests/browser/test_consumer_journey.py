"""The consumer's journeys in a real Chromium: register, file with the keyboard alone, get an
offer, accept, see the case settled, rate; withdraw; reject then escalate; a bad answer
loses nothing. Every page scanned with axe-core; pages checked at 375 px."""

import os
import re
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from odr.auth.models import User
from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Draft, Enterprise, Evidence, Offer
from odr.extensions import db
from odr.types import utcnow
from tests.factories import PASSWORD, build_world, file_case

pytestmark = pytest.mark.browser

SCREENS = os.environ.get("ODR_SCREENS_DIR")


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback is an instance-method fixture, which pytest 9 warns
    about (an error here): the tests build their URLs from live_server.url."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Date inputs take their segments in the browser's locale order: fix it.
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


def png_file(tmp_path: Path, name="receipt.png") -> Path:
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x20\x80\xc0" * 16 for _ in range(16))
    path = tmp_path / name
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def world(live_server) -> dict:
    with live_server.app.app_context():
        w = build_world()
        return {
            "enterprise_id": w.enterprise.id,
            "enterprise": w.enterprise.name,
            "other_enterprise": w.other_enterprise.name,
            "jinshui": w.jinshui.name,
        }


def today():
    return deadlines.local_date(utcnow())


def assert_accessible(page, what: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{what}: {bad}"


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Move the focus with the Tab key alone until it is on `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def sign_in(page, base: str, email: str, lang="zh_CN") -> None:
    page.goto(f"{base}/auth/login?lang={lang}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/consumer/cases$"))


def confirm_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_register_file_by_keyboard_get_an_offer_accept_and_rate(page, live_server, tmp_path):
    base = live_server.url
    w = world(live_server)
    confirm_dialogs(page)

    # Register (in Chinese, the default language).
    page.goto(f"{base}/auth/register?lang=zh_CN")
    page.fill("#name", "王小明")
    page.fill("#email", "xiaoming@example.cn")
    page.fill("#phone", "13912345678")
    page.select_option("#region_code", "410105")
    page.fill("#address", "郑州市金水区农业路 8 号")
    page.fill("#password", "Xiaoming-2026")
    page.fill("#confirm", "Xiaoming-2026")
    page.click("#submit")
    # Registered, not signed in (a taken address is answered alike): sign in, address filled.
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("#email")).to_have_value("xiaoming@example.cn")
    page.fill("#password", "Xiaoming-2026")
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/consumer/cases$"))
    assert_accessible(page, "my cases (empty)")

    # File the complaint with the keyboard alone.
    page.goto(f"{base}/consumer/file")
    assert_accessible(page, "wizard step 1")
    tab_to(page, "#q")
    page.keyboard.type("百货")
    page.keyboard.press("Enter")
    expect(page.locator(f"#enterprise-{w['enterprise_id']}")).to_be_visible()
    expect(page.locator("#not-listed")).to_be_hidden()
    assert_accessible(page, "wizard step 1 with results")
    tab_to(page, f"#enterprise-{w['enterprise_id']}")
    page.keyboard.press("Space")
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    expect(page.locator("#subject")).to_be_visible()
    assert_accessible(page, "wizard step 2")
    bought = today() - timedelta(days=6)
    tab_to(page, "#subject")
    page.keyboard.type("羽绒服")
    tab_to(page, "#purchase_date")
    page.keyboard.type(f"{bought.month:02d}{bought.day:02d}{bought.year}")
    tab_to(page, "#purchase_place")
    page.keyboard.type("郑州市金水区花园路某商场")
    tab_to(page, "#amount")
    page.keyboard.type("1299")
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    expect(page.locator("#issue")).to_be_visible()
    assert_accessible(page, "wizard step 3")
    tab_to(page, "#issue")
    page.keyboard.press("ArrowDown")  # the first category: quality
    tab_to(page, "#requests-5")  # refund
    page.keyboard.press("Space")
    tab_to(page, "#claimed_amount")
    page.keyboard.type("1299")
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    expect(page.locator("#facts")).to_be_visible()
    assert_accessible(page, "wizard step 4")
    expect(page.locator("#complainant_name")).to_have_value("王小明")
    tab_to(page, "#facts")
    page.keyboard.type("穿了三天拉链就坏了，商家不给退。")
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    expect(page.locator("#files")).to_be_visible()
    assert_accessible(page, "wizard step 5")
    tab_to(page, "#files")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(png_file(tmp_path)))
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    preview = page.locator("#routing-preview")
    expect(preview).to_contain_text(w["enterprise"])
    due = deadlines.local_date(deadlines.working_day_deadline(utcnow(), 10))
    expect(preview).to_contain_text(f"{due.year}年{due.month}月{due.day}日")
    expect(page.locator(".evidence-name")).to_have_text(["receipt.png"])
    assert_accessible(page, "wizard review")
    tab_to(page, "#confirm")
    page.keyboard.press("Space")
    tab_to(page, "#step-submit")
    page.keyboard.press("Enter")

    # The case page: direct settlement, and the enterprise's deadline.
    expect(page).to_have_url(re.compile(r"/consumer/cases/\d+$"))
    complaint_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "negotiating")
    expect(page.locator(".who-must-act")).to_have_text("企业须在以下日期前答复：")
    expect(page.locator("header .deadline-clock")).to_contain_text(
        f"{due.year}年{due.month}月{due.day}日"
    )
    expect(page.locator(".evidence-name")).to_have_text(["receipt.png"])
    assert_accessible(page, "case page")
    with live_server.app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.enterprise_id == w["enterprise_id"]
        assert [e.filename for e in db.session.scalars(db.select(Evidence))] == ["receipt.png"]

    # The enterprise makes an offer.
    with live_server.app.app_context():
        agent = db.session.scalar(db.select(User).where(User.email == "agent@test.example"))
        complaint = db.session.get(Complaint, complaint_id)
        ops.make_offer(agent, complaint, remedy="refund", amount="1299.00", terms="全额退款。")
        db.session.commit()
    page.goto(f"{base}/consumer/cases")
    # The offer waits on the consumer now: the row says it is their turn, with the deadline.
    expect(page.locator(".case-item")).to_have_attribute("data-turn", "answer_offer")
    expect(page.locator(".case-item .your-turn .turn-clock")).to_be_visible()
    assert_accessible(page, "my cases")
    page.goto(f"{base}/consumer/cases/{complaint_id}")
    expect(page.locator(".offer[data-status=open] .offer-amount")).to_have_text("¥1,299.00")
    assert_accessible(page, "case page with an offer")
    page.click("#accept-offer")

    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "settled")
    expect(page.locator("#records .record-item")).to_have_count(1)

    # Rate the case.
    page.check("#rate-rating-0")  # 5
    page.fill("#rate-comment", "处理很快")
    assert_accessible(page, "case page, settled")
    if SCREENS:
        page.screenshot(
            path=str(Path(SCREENS) / "consumer-case-settled-zh-1280.png"), full_page=True
        )
    page.click("#rating-submit")
    expect(page.locator("#rating-given")).to_contain_text("5")
    with live_server.app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert (complaint.state, complaint.rating) == ("settled", 5)


def test_withdraw_a_case(page, live_server):
    w = world(live_server)
    with live_server.app.app_context():
        consumer = db.session.scalar(db.select(User).where(User.email == "consumer@test.example"))
        enterprise = db.session.get(Enterprise, w["enterprise_id"])
        complaint_id = file_case(
            consumer, enterprise, purchase_date=(today() - timedelta(days=2)).isoformat()
        ).id
    sign_in(page, live_server.url, "consumer@test.example", lang="en")
    page.goto(f"{live_server.url}/consumer/cases/{complaint_id}")
    # Saying "no" to the confirmation changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#withdraw-submit")
    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "negotiating")
    confirm_dialogs(page)
    page.fill("#withdraw-reason", "Sorted it out in the shop.")
    page.click("#withdraw-submit")
    expect(page.locator("#case-state [data-state]")).to_have_attribute("data-state", "withdrawn")
    expect(page.locator("#timeline")).to_contain_text("Complaint withdrawn")
    expect(page.locator("#timeline")).to_contain_text("Sorted it out in the shop.")
    expect(page.locator("#withdraw-submit")).to_have_count(0)
    with live_server.app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert (complaint.state, complaint.termination_reason) == ("withdrawn", "T1")


def test_reject_an_offer_then_escalate(page, live_server):
    w = world(live_server)
    with live_server.app.app_context():
        consumer = db.session.scalar(db.select(User).where(User.email == "consumer@test.example"))
        agent = db.session.scalar(db.select(User).where(User.email == "agent@test.example"))
        complaint = file_case(
            consumer, agent.enterprise, purchase_date=(today() - timedelta(days=2)).isoformat()
        )
        offer = ops.make_offer(agent, complaint, remedy="repair", amount="0", terms="免费维修。")
        db.session.commit()
        complaint_id, offer_id = complaint.id, offer.id
    confirm_dialogs(page)
    sign_in(page, live_server.url, "consumer@test.example")
    page.goto(f"{live_server.url}/consumer/cases/{complaint_id}")
    page.fill("#reject-counter_proposal", "要求全额退款。")
    page.click("#reject-offer")
    expect(page.locator(f"#offer-{offer_id}")).to_have_attribute("data-status", "rejected")
    expect(page.locator(f"#offer-{offer_id}")).to_contain_text("要求全额退款。")
    expect(page.locator("#accept-offer")).to_have_count(0)
    page.fill("#escalate-reason", "维修不能解决问题。")
    page.click("#escalate-submit")
    expect(page.locator("#case-state [data-state]")).to_have_attribute(
        "data-state", "pending_acceptance"
    )
    expect(page.locator("header")).to_contain_text(w["jinshui"])
    expect(page.locator(".who-must-act")).to_have_text("调解机构须在以下日期前决定是否受理：")
    expect(page.locator("#escalate-form")).to_have_count(0)
    with live_server.app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.state == "pending_acceptance"
        assert db.session.get(Offer, offer_id).counter_proposal == "要求全额退款。"


def test_a_bad_answer_keeps_everything_typed_and_the_evidence(page, live_server, tmp_path):
    w = world(live_server)
    sign_in(page, live_server.url, "consumer.en@test.example", lang="en")
    page.goto(f"{live_server.url}/consumer/file?q={w['enterprise']}")
    page.check(f"#enterprise-{w['enterprise_id']}")
    page.click("#step-submit")
    # Step 2 with a date in the future and an amount that is not one.
    page.check("#subject_kind-1")  # service
    page.fill("#subject", "Gym membership")
    page.fill("#purchase_date", (today() + timedelta(days=3)).isoformat())
    page.fill("#purchase_place", "Erqi fitness club")
    page.fill("#amount", "twelve")
    page.click("#step-submit")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#purchase_date-err")).to_be_visible()
    expect(page.locator("#amount-err")).to_be_visible()
    expect(page.locator("#subject")).to_have_value("Gym membership")
    expect(page.locator("#purchase_place")).to_have_value("Erqi fitness club")
    expect(page.locator("#amount")).to_have_value("twelve")
    expect(page.locator("#subject_kind-1")).to_be_checked()
    assert_accessible(page, "wizard step with errors")
    page.fill("#purchase_date", (today() - timedelta(days=3)).isoformat())
    page.fill("#amount", "2400")
    page.click("#step-submit")
    page.select_option("#issue", "contract")
    page.check("#requests-5")
    page.fill("#claimed_amount", "2400")
    page.click("#step-submit")
    page.fill("#facts", "The club closed and kept my money.")
    page.click("#step-submit")
    # Evidence: one real image and one program renamed .jpg, sent together.
    fake = tmp_path / "invoice.jpg"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    page.set_input_files("#files", [str(png_file(tmp_path, "contract.png")), str(fake)])
    page.click("#step-submit")
    expect(page.locator("#files-err")).to_contain_text("invoice.jpg")
    expect(page.locator(".evidence-name")).to_have_text(["contract.png"])
    assert_accessible(page, "evidence step with an error")
    page.click("#step-submit")
    # Review without the confirmation: refused, and nothing is lost.
    page.click("#step-submit")
    expect(page.locator("#confirm-err")).to_be_visible()
    expect(page.locator(".evidence-name")).to_have_text(["contract.png"])
    expect(page.locator("#rev-purchase + dl")).to_contain_text("Gym membership")
    page.check("#confirm")
    page.click("#step-submit")
    expect(page).to_have_url(re.compile(r"/consumer/cases/\d+$"))
    expect(page.locator(".evidence-name")).to_have_text(["contract.png"])


def test_pages_fit_a_phone_and_read_in_both_languages(page, live_server):
    """Wizard and case page at 375 px and 1280 px, in Chinese and English: nothing wider than
    the screen. Screenshots are kept when ODR_SCREENS_DIR is set."""
    w = world(live_server)
    with live_server.app.app_context():
        consumer = db.session.scalar(db.select(User).where(User.email == "consumer@test.example"))
        agent = db.session.scalar(db.select(User).where(User.email == "agent@test.example"))
        complaint = file_case(
            consumer, agent.enterprise, purchase_date=(today() - timedelta(days=5)).isoformat()
        )
        ops.post_message(agent, complaint, "您好，请提供购物小票，我们尽快处理。")
        ops.make_offer(
            agent,
            complaint,
            remedy="refund",
            amount="1000.00",
            terms="退款一千元，三个工作日内到账。",
        )
        draft = Draft(
            consumer_id=consumer.id,
            step="review",
            data={
                "q": "郑州",
                "enterprise_id": str(w["enterprise_id"]),
                "green_channel": True,
                "subject_kind": "goods",
                "subject": "电饭煲",
                "purchase_date": (today() - timedelta(days=10)).isoformat(),
                "purchase_place": "郑州市金水区花园路某电器城",
                "amount": "399.00",
                "issue": "quality",
                "requests": ["replace", "compensation"],
                "claimed_amount": "500",
                "facts": "用了一周内胆涂层脱落，商家拒绝更换。",
            },
        )
        db.session.add(draft)
        db.session.commit()
        complaint_id, draft_id = complaint.id, draft.id
    sign_in(page, live_server.url, "consumer@test.example")
    for lang in ("zh_CN", "en"):
        page.goto(f"{live_server.url}/lang/{lang}")
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            shots = {
                "wizard": f"/consumer/file?q={w['enterprise'][:2]}",
                "review": f"/consumer/drafts/{draft_id}/review",
                "case": f"/consumer/cases/{complaint_id}",
            }
            for name, path in shots.items():
                page.goto(live_server.url + path)
                expect(page.locator("html")).to_have_attribute(
                    "lang", "en" if lang == "en" else "zh-CN"
                )
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 0, (name, lang, width, overflow)
                if SCREENS:
                    short = "zh" if lang == "zh_CN" else "en"
                    page.screenshot(
                        path=str(Path(SCREENS) / f"consumer-{name}-{short}-{width}.png"),
                        full_page=True,
                    )
