"""The foundation's browser journey in a real Chromium: register, sign out, sign in, see the
empty case list, switch the language to English and back to Chinese."""

import re

import pytest
from playwright.sync_api import expect

from odr.auth.models import User
from odr.extensions import db
from tests.factories import build_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own base_url fixture warns under pytest 9 (an error here): the
    test builds its URLs from live_server.url."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A browser set to Chinese, like most of the portal's users."""
    return {**browser_context_args, "locale": "zh-CN"}


def test_register_sign_in_empty_list_and_switch_language(live_server, page):
    with live_server.app.app_context():
        build_world()
    url = live_server.url

    # Register (the site opens in Chinese).
    page.goto(f"{url}/auth/register")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.fill("#name", "浏览器用户")
    page.fill("#email", "browser.user@test.example")
    page.fill("#phone", "13900000000")
    page.select_option("#region_code", "410105")
    page.fill("#address", "郑州市金水区经三路1号")
    page.fill("#password", "Browser-pass-1")
    page.fill("#confirm", "Browser-pass-1")
    page.click("#submit")
    # Registered, not signed in (a taken address is answered alike): sign in, address filled.
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("#email")).to_have_value("browser.user@test.example")
    page.fill("#password", "Browser-pass-1")
    page.click("#submit")
    expect(page.locator("#no-cases")).to_be_visible()
    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "browser.user@test.example"))
        assert user is not None and user.role == "consumer"
        db.session.remove()

    # Sign out, then sign in again.
    page.locator("form[action$='/auth/logout'] button").click()
    page.goto(f"{url}/auth/login")
    page.fill("#email", "browser.user@test.example")
    page.fill("#password", "Browser-pass-1")
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/consumer/cases"))
    empty = page.locator("#no-cases")
    expect(empty).to_be_visible()
    chinese_text = empty.inner_text()

    # Switch to English.
    switch = page.locator("#lang-switch")
    expect(switch).to_have_text("English")
    switch.click()
    expect(page).to_have_url(re.compile(r"/consumer/cases"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#no-cases")).to_have_text("You have no cases yet.")
    expect(page.locator("h1")).to_have_text("My cases")
    expect(page.locator("#lang-switch")).to_have_text("中文")

    # The choice follows the user to the next page.
    page.goto(f"{url}/auth/me")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # And back to Chinese.
    page.locator("#lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#lang-switch")).to_have_text("English")
    expect(page.locator("#no-cases")).to_have_text(chinese_text)
    assert re.search(r"[\u4e00-\u9fff]", chinese_text), chinese_text
