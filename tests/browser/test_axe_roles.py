"""Issue 18: axe-core on every role's main pages (visitor, consumer, enterprise, mediator,
regulator), in Chinese on a phone and in English on a desktop: no serious or critical
violation. One sign-in per role (sign-in is rate limited)."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from odr.disputes import operations as ops
from odr.extensions import db
from tests.browser.test_escalation_journey import sign_in
from tests.factories import file_case

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("ODR_SCREENS_DIR") or "/tmp/shots-journeyb")


@pytest.fixture(scope="session")
def base_url():
    return None


def _world_of_cases(world):
    negotiating = file_case(world.consumer, world.enterprise)
    ops.make_offer(
        world.agent,
        negotiating,
        remedy="refund",
        amount="0",
        terms="代金券",
        expires_on="2099-12-31",
    )
    mediating = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, mediating)
    ops.accept_case(world.head, mediating)
    ops.propose_agreement(world.head, mediating, terms="退款 800 元", amount="800")
    ops.ask_for_changes(world.consumer, mediating, reasons="应全额退款")
    settled = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, settled, remedy="refund", amount="1299", terms="全额退款")
    ops.accept_offer(world.consumer, settled, offer.id)
    ops.report_performance(world.consumer, settled, status="breached")
    db.session.commit()
    return negotiating, mediating, settled


def _pages(world, cases):
    negotiating, mediating, settled = cases
    return {
        None: ["/", "/enterprises", "/verify", "/warnings", "/auth/login", "/merchant/apply"],
        "consumer": [
            "/consumer/cases",
            f"/consumer/cases/{negotiating.id}",
            f"/consumer/cases/{mediating.id}",
            f"/consumer/cases/{settled.id}",
            "/consumer/file",
            "/notifications",
        ],
        "agent": [
            "/merchant/inbox",
            f"/merchant/cases/{negotiating.id}",
            f"/merchant/cases/{mediating.id}",
        ],
        "head": ["/mediation/", f"/mediation/cases/{mediating.id}", "/office/requests"],
        "admin": ["/admin/", "/admin/performance", "/admin/enterprises", "/admin/calendar"],
    }


def _violations(page) -> list:
    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.slow
def test_every_roles_main_pages_pass_axe(page, live_server, world):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = _pages(world, _world_of_cases(world))
    found = {}
    for role, paths in pages.items():
        page.context.clear_cookies()
        if role:
            sign_in(page, live_server, getattr(world, role))
        for lang, width in (("zh_CN", 375), ("en", 1280)):
            page.goto(f"{live_server.url}/lang/{lang}")
            page.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                page.goto(live_server.url + path)
                bad = _violations(page)
                if bad:
                    found[(role, lang, path)] = bad
    assert found == {}
