"""The joint-complaint journey in a real Chromium, in Chinese and in English: three consumers
join one group against the gym that closed (one starts it, the others join with their own
claim), the first is elected representative and sends it; the enterprise answers every
member once on its grouped page; two members accept the offer on their own case page and
the third asks for mediation, which takes their case to the competent office, where the
mediator finds it on the group's page.

Each person has a browser context of their own and signs in once (sign-in is rate-limited)."""

import re

import pytest
from playwright.sync_api import expect

from odr.auth.models import UserRole
from odr.disputes.models import Complaint, JointComplaint, Offer
from odr.disputes.states import State
from odr.extensions import db
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WORDS = {
    "zh_CN": {
        "html": "zh-CN",
        "joined": "您已加入共同投诉，并有本人的案件",
        "offer_sent": "方案已发送给 3 名成员",
        "group_page": "共同投诉",
    },
    "en": {
        "html": "en",
        "joined": "You joined the joint complaint with your own case",
        "offer_sent": "Your offer was sent to 3 members",
        "group_page": "Joint complaint",
    },
}


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback warns under pytest 9: URLs come from live_server."""
    return None


def person(browser, live_server, user, lang):
    """A browser context of this user's own, signed in once, in the language of the run."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/auth/login?lang={lang}")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_load_state()
    assert "/auth/login" not in page.url, page.content()[:2000]
    return page


def join(page, claimed: str):
    form = page.locator("#join-form")
    form.locator("#purchase_date").fill("2026-09-01")
    form.locator("#amount").fill("3000")
    form.locator("#claimed_amount").fill(claimed)
    form.locator("input[name=requests][value=refund]").check()
    form.locator("#complainant_address").fill("郑州市金水区健身路1号")
    form.locator("#facts").fill("健身房关门，预付卡余额无法使用。The gym closed.")
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_three_join_the_enterprise_answers_once_two_accept_and_one_escalates(
    browser, live_server, world, lang
):
    words = WORDS[lang]
    third = factories.user(UserRole.CONSUMER, f"third.{lang}@test.example", "王五")
    db.session.commit()
    alice, bob, carol = (
        person(browser, live_server, u, lang) for u in (world.consumer, world.other_consumer, third)
    )
    base = live_server.url

    # Alice starts the group against the gym's enterprise and joins with her claim.
    alice.goto(f"{base}/consumer/joint/new?enterprise_id={world.enterprise.id}")
    expect(alice.locator("html")).to_have_attribute("lang", words["html"])
    alice.select_option("#enterprise_id", str(world.enterprise.id))
    alice.select_option("#issue", "prepaid_card")
    alice.fill("#subject", "星光健身年卡 Starlight gym annual card")
    alice.fill("#facts", "健身房突然关门。The gym closed without notice.")
    alice.locator("#joint-start-form [type=submit]").click()
    alice.wait_for_load_state()
    db.session.expire_all()
    joint = db.session.scalar(db.select(JointComplaint))
    assert joint is not None, alice.content()[:3000]
    url = f"{base}/consumer/joint/{joint.id}"
    alice.goto(url)
    join(alice, "2400")
    expect(alice.locator(".alert-success")).to_contain_text(words["joined"])

    # Bob and Carol find it in the list and join with their own claims.
    for page, claimed in ((bob, "2000"), (carol, "1800")):
        page.goto(f"{base}/consumer/joint")
        page.locator(f"a[href$='/consumer/joint/{joint.id}']").first.click()
        page.wait_for_load_state()
        join(page, claimed)
        expect(page.locator(".alert-success")).to_contain_text(words["joined"])

    # Alice is elected representative and sends the group to the enterprise.
    alice.goto(url)
    expect(alice.locator("#member-count")).to_contain_text("3")
    alice.locator("#elect-form input[type=checkbox]").first.check()
    alice.locator("#elect-form [type=submit]").click()
    alice.wait_for_load_state()
    alice.locator("#submit-form button").click()
    alice.wait_for_load_state()
    expect(alice.locator("#joint-state")).to_have_attribute("data-state", "submitted")

    # The enterprise answers every member once: half of each claim.
    owner = person(browser, live_server, world.owner, lang)
    owner.goto(f"{base}/merchant/joint/{joint.id}")
    expect(owner.locator("h1")).to_contain_text(words["group_page"])
    expect(owner.locator("#claims tr.claim")).to_have_count(3)
    owner.select_option("#joint-remedy", "refund")
    owner.select_option("#joint-mode", "share")
    owner.fill("#joint-share_percent", "50")
    owner.fill("#joint-terms", "退还各会员请求金额的一半。Half of each claim is refunded.")
    owner.locator("#joint-offer-form [type=submit]").click()
    owner.wait_for_load_state()
    expect(owner.locator(".alert-success")).to_contain_text(words["offer_sent"])
    db.session.expire_all()
    cases = {
        c.consumer_id: c
        for c in db.session.scalars(db.select(Complaint).order_by(Complaint.id)).all()
    }
    offers = {o.complaint_id: f"{o.amount:.2f}" for o in db.session.scalars(db.select(Offer))}
    assert sorted(offers.values()) == ["1000.00", "1200.00", "900.00"]

    # Alice and Bob accept on their own case pages; Carol asks for mediation.
    for page, user in ((alice, world.consumer), (bob, world.other_consumer)):
        page.goto(f"{base}/consumer/cases/{cases[user.id].id}")
        page.click("#accept-offer")
        page.wait_for_load_state()
    carol_case = cases[third.id]
    carol.goto(f"{base}/consumer/cases/{carol_case.id}")
    carol.locator("#escalate-form textarea").fill("一半不够。Half is not enough.")
    carol.click("#escalate-submit")
    carol.wait_for_load_state()

    db.session.expire_all()
    states = {
        cid: db.session.get(Complaint, c.id).state
        for cid, c in cases.items()  # consumer id -> their case
    }
    assert states == {
        world.consumer.id: State.SETTLED,
        world.other_consumer.id: State.SETTLED,
        third.id: State.PENDING_ACCEPTANCE,
    }
    settled = {
        c.consumer_id: f"{c.settled_amount:.2f}"
        for c in (db.session.get(Complaint, x.id) for x in cases.values())
        if c.settled_amount is not None
    }
    assert settled == {world.consumer.id: "1200.00", world.other_consumer.id: "1000.00"}
    expect(carol.locator("body")).to_contain_text(re.compile(carol_case.reference))

    # The competent office's mediator finds Carol's case with its group on one page.
    mediator = person(browser, live_server, world.mediator, lang)
    mediator.goto(f"{base}/mediation/joint/{joint.id}")
    expect(mediator.locator("#members tr.member")).to_have_count(3)
    expect(mediator.locator("#joint-accept-form")).to_be_visible()
    for page in (alice, bob, carol, owner, mediator):
        page.context.close()
