"""The mediator's pages and the public verify page at 375 px and 1280 px, in Chinese and
English: nothing wider than the screen, no serious or critical axe-core violation."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from odr.disputes import operations as ops
from odr.disputes.records import issue_case_file
from odr.extensions import db
from tests.browser.test_escalation_journey import sign_in
from tests.factories import file_case, shanghai

pytestmark = pytest.mark.browser

SCREENS = os.environ.get("ODR_SCREENS_DIR")


@pytest.fixture(scope="session")
def base_url():
    return None


def assert_accessible(page, what: str) -> None:
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{what}: {bad}"


def test_mediation_pages_fit_a_phone_and_pass_axe(page, live_server, world):
    pending = file_case(world.consumer, world.enterprise, green_channel=False)
    mediating = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    ops.make_offer(world.agent, mediating, remedy="refund", amount="500", terms="退一半")
    ops.escalate(world.consumer, mediating, reason="不同意")
    ops.accept_case(world.head, mediating)
    ops.post_message(world.head, mediating, "请双方提交材料。")
    ops.post_message(world.head, mediating, "内部备注", internal=True)
    ops.propose_agreement(world.head, mediating, terms="退款一千元。", amount="1000")
    ops.sign_agreement(world.consumer, mediating, ip_address="203.0.113.5")
    record = issue_case_file(world.head, mediating)
    db.session.commit()

    sign_in(page, live_server, world.head)
    pages = {
        "queue": "/mediation/",
        "acceptance": f"/mediation/cases/{pending.id}/acceptance",
        "workspace": f"/mediation/cases/{mediating.id}",
        "verify": f"/verify/{record.code}",
        "verify-form": "/verify",
    }
    for lang in ("zh_CN", "en"):
        page.goto(f"{live_server.url}/lang/{lang}")
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in pages.items():
                page.goto(live_server.url + path)
                expect(page.locator("html")).to_have_attribute(
                    "lang", "en" if lang == "en" else "zh-CN"
                )
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 0, (name, lang, width, overflow)
                if width == 375:
                    assert_accessible(page, f"{name} {lang}")
                if SCREENS:
                    short = "zh" if lang == "zh_CN" else "en"
                    page.screenshot(
                        path=str(Path(SCREENS) / f"mediation-{name}-{short}-{width}.png"),
                        full_page=True,
                    )
