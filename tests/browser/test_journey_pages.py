"""Issue 18 in the browser, in Chinese and English at 1280 and 375 px: the parties see a
scheduled session (when, where, the calendar file); a notice links to its part of the case
and reading the case marks it read; every list marks the cases waiting on the reader; every
case page opens with the next step; a record being prepared turns into its link. One sign-in
per role (the login is rate limited)."""

import os
from datetime import time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from odr.disputes import deadlines, records, sessions
from odr.disputes import operations as ops
from odr.extensions import db
from odr.types import utcnow
from tests.browser.test_escalation_journey import sign_in
from tests.factories import file_case

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("ODR_SCREENS_DIR") or "/tmp/shots-journeya")
LANGS = ("zh_CN", "en")
WIDTHS = (1280, 375)


@pytest.fixture(scope="session")
def base_url():
    return None


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page, what: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (what, overflow)


def build(world):
    """A: in mediation with a session and an agreement to sign; B: an offer to answer;
    C: a new complaint for the enterprise; D: awaiting acceptance; E: settled just now."""
    a = file_case(world.consumer, world.enterprise, commit=False)
    ops.escalate(world.consumer, a)
    ops.accept_case(world.mediator, a)
    sessions.schedule_session(
        world.mediator,
        a,
        day=deadlines.local_date(utcnow()) + timedelta(days=6),
        at=time(14, 30),
        until=time(16),
        mode="in_person",
        place="金水区市场监管局三楼调解室",
    )
    ops.propose_agreement(world.mediator, a, terms="退款八百元。", amount="800")
    b = file_case(world.consumer, world.enterprise, commit=False)
    ops.make_offer(world.agent, b, remedy="refund", amount="300", terms="退款三百元")
    c = file_case(world.other_consumer, world.enterprise, commit=False)
    d = file_case(world.consumer, world.enterprise, commit=False, green_channel=False)
    e = file_case(world.consumer, world.enterprise, commit=False)
    offer = ops.make_offer(world.agent, e, remedy="refund", amount="99", terms="退款")
    ops.accept_offer(world.consumer, e, offer.id)
    db.session.commit()
    return a, b, c, d, e


def test_sessions_notices_turns_and_next_steps(browser, live_server, world):
    a, b, c, d, e = build(world)
    url = live_server.url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, world.consumer)

    # A notice is a link to its part of the case; reading the case reads its notices.
    page.goto(f"{url}/lang/zh_CN")
    page.goto(f"{url}/notifications")
    session_notice = page.locator(".notification", has_text="14:30").first
    expect(session_notice).to_have_attribute("data-read", "no")
    shot(page, "notifications-zh-1280")
    session_notice.locator("a.notification-link").click()
    expect(page).to_have_url(f"{url}/consumer/cases/{a.id}#sessions")
    page.goto(f"{url}/notifications")
    for notice in page.locator(".notification", has_text=a.reference).all():
        expect(notice).to_have_attribute("data-read", "yes")
    expect(page.locator(".notification", has_text=b.reference).first).to_have_attribute(
        "data-read", "no"
    )
    page.locator("#read-all").click()
    expect(page.locator(".notification[data-read=no]")).to_have_count(0)

    for lang in LANGS:
        short = "zh" if lang == "zh_CN" else "en"
        page.goto(f"{url}/lang/{lang}")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            # My cases: the cases waiting on the consumer are marked, and can be filtered.
            page.goto(f"{url}/consumer/cases")
            expect(page.locator(f".case-item[data-case='{a.id}']")).to_have_attribute(
                "data-turn", "sign_agreement"
            )
            expect(page.locator(f".case-item[data-case='{b.id}'] .your-turn")).to_be_visible()
            expect(page.locator(f".case-item[data-case='{d.id}'] .your-turn")).to_have_count(0)
            fits(page, f"my cases {lang} {width}")
            shot(page, f"my-cases-{short}-{width}")
            page.goto(f"{url}/consumer/cases?turn=1")
            shown = page.locator(".case-item").evaluate_all(
                "items => items.map(i => Number(i.dataset.case))"
            )
            assert sorted(shown) == sorted([a.id, b.id]), shown

            # The case page: next step first, the progress line, the session with its .ics.
            page.goto(f"{url}/consumer/cases/{a.id}")
            banner = page.locator("#next-step")
            expect(banner).to_have_attribute("data-kind", "turn")
            expect(page.locator("#next-step-action")).to_have_attribute("href", "#agreement")
            expect(page.locator("#progress [data-stage=mediation]")).to_have_attribute(
                "data-status", "current"
            )
            item = page.locator("#sessions .session-item")
            expect(item.locator(".session-when")).to_contain_text("14:30–16:00")
            expect(item).to_contain_text("金水区市场监管局三楼调解室")
            ics = page.request.get(url + item.locator(".session-ics").get_attribute("href"))
            assert ics.ok and b"BEGIN:VEVENT" in ics.body()
            fits(page, f"case page {lang} {width}")
            shot(page, f"case-session-{short}-{width}")

    # The settled case: the outcome banner says its record is being prepared, then links it.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}/consumer/cases/{e.id}")
    expect(page.locator("#next-step")).to_have_attribute("data-kind", "outcome")
    expect(page.locator("#outcome-record.outcome-record-pending")).to_be_visible()
    shot(page, "outcome-being-prepared-en-1280")
    assert records.render_due() == 1  # the worker's turn
    expect(page.locator("a#outcome-record")).to_be_visible(timeout=10_000)
    shot(page, "outcome-record-linked-en-1280")
    context.close()

    # The enterprise's inbox and case page; the mediator's queue.
    for user, path, row, step in (
        (world.agent, "/merchant/inbox", f"tr[data-id='{c.id}']", "answer_complaint"),
        (world.mediator, "/mediation/", f"tr[data-case='{d.id}']", "decide_acceptance"),
    ):
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, live_server, user)
        for lang in LANGS:
            short = "zh" if lang == "zh_CN" else "en"
            page.goto(f"{url}/lang/{lang}")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(url + path)
                expect(page.locator(row)).to_have_attribute("data-turn", step)
                expect(page.locator(f"{row} .your-turn-badge")).to_be_visible()
                name = "inbox" if user is world.agent else "queue"
                shot(page, f"{name}-{short}-{width}")
        page.goto(url + path + ("?turn=1" if user is world.agent else "?turn=1"))
        expect(page.locator(row)).to_be_visible()
        if user is world.agent:
            expect(page.locator(f"tr[data-id='{b.id}']")).to_have_count(0)  # the consumer's turn
            page.goto(f"{url}/merchant/cases/{c.id}")
            expect(page.locator("#next-step-action")).to_have_attribute("href", "#offer-form")
        else:
            page.goto(f"{url}/mediation/cases/{a.id}")
            expect(page.locator("#next-step")).to_have_attribute("data-kind", "waiting")
        shot(page, f"{name}-case-en-1280")
        context.close()
