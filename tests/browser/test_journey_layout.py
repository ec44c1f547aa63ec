"""Issue 18 in a real Chromium, at 375 and 1280 px, in Chinese and English: the inbox, the
queue, the scoreboard and the dashboard fit a phone as cards (no word or number broken, no
badge or mediator choice clipped); the home page starts a complaint; an offer's counter-offer
form and a ¥0 warning; a change request reaches the mediator's workspace."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from odr.disputes import operations as ops
from odr.extensions import db
from tests.browser.test_escalation_journey import sign_in
from tests.factories import PASSWORD, file_case

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("ODR_SCREENS_DIR") or "/tmp/shots-journeyb")

# Every number, amount and badge is one line; a card's label and value sit side by side.
UNBROKEN = """(selector) => {
  const broken = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent) continue;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rects = [...range.getClientRects()].filter(r => r.width > 0);
      const lines = new Set(rects.map(r => Math.round(r.bottom)));
      if (lines.size > 1) broken.push(node.textContent.trim());
    }
    if (el.getBoundingClientRect().right > window.innerWidth + 0.5) broken.push(el.textContent);
  }
  return broken;
}"""

# A select shows its chosen option whole (its text narrower than the box).
SELECT_FITS = """(selector) => [...document.querySelectorAll(selector)].filter(s => {
  const probe = document.createElement('span');
  const style = getComputedStyle(s);
  probe.style.font = style.font;
  probe.style.whiteSpace = 'nowrap';
  probe.textContent = s.options[s.selectedIndex].text;
  document.body.appendChild(probe);
  const wide = probe.getBoundingClientRect().width;
  probe.remove();
  return wide > s.clientWidth - parseFloat(style.paddingLeft) - 16;
}).map(s => s.options[s.selectedIndex].text)"""

PAGES = {
    # role: [(name, path, table selector or None)]
    "agent": [("inbox", "/merchant/inbox", "#inbox")],
    "head": [("queue", "/mediation/", "table.queue-table")],
    "admin": [("dashboard", "/admin/", "#clocks-table")],
    None: [("scoreboard", "/enterprises", "#scoreboard"), ("home", "/", None)],
}


@pytest.fixture(scope="session")
def base_url():
    return None


def sign_out(page):
    """The sign-out button, whether or not a phone's menu is open."""
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[action$=\"/auth/logout\"]').submit()")


def _cases(world):
    big = file_case(
        world.consumer,
        world.enterprise,
        subject="家用中央空调一套（含安装）",
        amount="1234567.89",
        claimed_amount="1234567.89",
    )
    ops.make_offer(
        world.agent, big, remedy="refund", amount="1299", terms="退款", expires_on="2099-12-31"
    )
    mediating = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, mediating)
    ops.accept_case(world.head, mediating)
    ops.propose_agreement(world.head, mediating, terms="退款 800 元", amount="800")
    file_case(world.consumer, world.enterprise, green_channel=False)
    db.session.commit()
    return big, mediating


def _check_layout(page, name, table, width, lang):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, lang, width, overflow)
    if table:
        cells = f"{table} td.num, {table} .amount, {table} .badge"
        assert page.evaluate(UNBROKEN, cells) == [], (name, lang, width)
        # Longer texts wrap between words only (never overflow-wrap: anywhere).
        breaking = page.evaluate(
            """(t) => [...document.querySelectorAll(t + ' td, ' + t + ' th')].filter(c => {
                 const s = getComputedStyle(c);
                 return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all';
               }).length""",
            table,
        )
        assert breaking == 0, (name, lang, width)
        if width == 375:
            # Cards: a row is a block, its heading and every labelled value visible.
            row = page.locator(f"{table} tbody tr").first
            assert row.evaluate("r => getComputedStyle(r).display") == "block", name
            assert page.locator(f"{table} thead").evaluate("h => h.offsetHeight") <= 1
        assert page.evaluate(SELECT_FITS, f"{table} select") == [], (name, lang, width)
    page.screenshot(path=str(SHOTS / f"layout-{name}-{lang}-{width}.png"), full_page=True)


def test_lists_fit_a_phone_and_a_desktop_in_both_languages(page, live_server, world):
    SHOTS.mkdir(parents=True, exist_ok=True)
    world.enterprise.name_en = "Zhengzhou Test Department Store Co., Ltd."
    db.session.commit()
    _cases(world)
    for role, pages in PAGES.items():
        if role:
            sign_in(page, live_server, getattr(world, role))
        for lang in ("zh_CN", "en"):
            page.goto(f"{live_server.url}/lang/{lang}")
            for width in (375, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                for name, path, table in pages:
                    page.goto(live_server.url + path)
                    _check_layout(page, name, table, width, lang)
        if role:
            sign_out(page)

    # The visitor's home page starts a complaint (sign-in first, then the wizard).
    page.goto(f"{live_server.url}/lang/zh_CN")
    page.goto(live_server.url + "/")
    expect(page.locator("#home-steps li")).to_have_count(3)
    page.click("#start-complaint")
    page.fill("#email", world.consumer.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url("**/consumer/file**")
    page.fill("#q", "zzcs")  # the initials of 郑州测试百货
    page.click("#search-submit")
    expect(page.locator(f"#enterprise-{world.enterprise.id}")).to_be_attached()
    expect(page.locator(f"#enterprise-{world.other_enterprise.id}")).to_have_count(0)
    sign_out(page)


def test_counter_offer_zero_warning_and_change_request(page, live_server, world):
    SHOTS.mkdir(parents=True, exist_ok=True)
    big, mediating = _cases(world)
    page.set_viewport_size({"width": 375, "height": 900})

    # The consumer rejects with a counter-offer (a remedy and an amount), in English.
    sign_in(page, live_server, world.consumer)
    page.goto(f"{live_server.url}/lang/en")
    page.goto(f"{live_server.url}/consumer/cases/{big.id}")
    expect(page.locator(".offer-expiry")).to_be_visible()
    page.select_option("#reject-counter_remedy", "refund")
    page.fill("#reject-counter_amount", "1234567.89")
    page.click("#reject-offer")
    expect(page.locator(".counter-offer")).to_contain_text("¥1,234,567.89")
    # ... and asks the mediator for changes on the other case.
    page.goto(f"{live_server.url}/consumer/cases/{mediating.id}")
    page.locator("#ask-changes summary").click()
    page.fill("#changes-reasons", "The refund should be the full price.")
    page.click("#ask-changes-submit")
    expect(page.locator(".alert-success")).to_be_visible()
    sign_out(page)

    # The enterprise sees the counter-offer; a ¥0 refund asks to confirm first (Chinese).
    sign_in(page, live_server, world.agent)
    page.goto(f"{live_server.url}/lang/zh_CN")
    page.goto(f"{live_server.url}/merchant/cases/{big.id}")
    expect(page.locator(".counter-offer")).to_contain_text("¥1,234,567.89")
    page.select_option("#offer-remedy", "refund")
    page.fill("#offer-amount", "0")
    page.fill("#offer-terms", "赠送代金券")
    page.click("#offer-submit")
    expect(page.locator("#zero-offer-warning")).to_be_visible()
    page.screenshot(path=str(SHOTS / "zero-offer-warning-zh-375.png"), full_page=True)
    page.check("#offer-confirm_zero")
    page.click("#offer-submit")
    expect(page.locator(".offer").first).to_contain_text("¥0.00")
    sign_out(page)

    # The mediator reads the request with its reasons.
    sign_in(page, live_server, world.head)
    page.goto(f"{live_server.url}/mediation/cases/{mediating.id}")
    expect(page.locator("#change-requests")).to_contain_text("full price")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "change-requests-zh-1280.png"), full_page=True)
