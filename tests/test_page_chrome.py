"""What every page carries: the layout (base.html) shows each role its own navigation in the
reader's language with a switch to the other; the unread count costs one query; templates'
_() caches the text of a message per language and still follows force_locale; the case page's quick
date-time formatter agrees with the localdt filter."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from flask_babel import force_locale, gettext
from flask_login import login_user

from odr.consumer.timeline import local_dt
from odr.disputes.models import Notification
from odr.extensions import db as _db
from odr.web import localdt
from tests import factories

PAGE = """{% extends "base.html" %}{% block title %}Page <b>title</b>{% endblock %}
{% block content %}<p>content</p>{% endblock %}"""

# The navigation entries each role sees (endpoint: link text), besides the public ones.
PUBLIC = {"public.scoreboard", "public.warnings", "public.verify_form"}
ROLE_LINKS = {
    None: {"auth.login", "auth.register"},
    "consumer": {"consumer.cases", "consumer.file_start", "requests.index"},
    "owner": {"merchant.inbox", "merchant.staff", "merchant.integration"},
    "agent": {"merchant.inbox"},
    "head": {"mediation.queue", "office.requests"},
    "admin": {"admin.dashboard", "admin.enterprises"},
}
SIGNED_IN = {"public.notifications"}
EVERY_ROLE_LINK = set().union(*ROLE_LINKS.values())


def render(app) -> str:
    context: dict = {}
    app.update_template_context(context)
    return app.jinja_env.from_string(PAGE).render(context)


def nav_of(html: str) -> str:
    return html.split("<nav", 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_each_role_sees_its_own_navigation(app, world, lang):
    for who, links in ROLE_LINKS.items():
        user = getattr(world, who) if who else None
        with app.test_request_context(f"/?lang={lang}"):
            if user is not None:
                login_user(user)
            html = render(app)
            nav = nav_of(html)
            hrefs = set(re.findall(r'href="([^"]+)"', nav))
            expected = {url_for(e) for e in links | PUBLIC}
            others = {url_for(e) for e in EVERY_ROLE_LINK - links}
            if user is not None:
                expected |= {url_for(e) for e in SIGNED_IN}
        assert expected <= hrefs, (lang, who, expected - hrefs)
        assert not others & hrefs, (lang, who, others & hrefs)
        signed_in = user is not None
        assert ('action="/auth/logout"' in nav) == signed_in, (lang, who)
        if signed_in:
            assert user.name in nav
        # the title block is the page's own, escaped as the page wrote it
        assert "Page <b>title</b>" in html and "Page &lt;b&gt;title&lt;/b&gt;" not in html
        assert "<p>content</p>" in html.split('<main id="main"', 1)[1]


@pytest.mark.parametrize(
    "lang,html_lang,switch_to,switch_text",
    [("zh_CN", "zh-CN", "en", "English"), ("en", "en", "zh_CN", "中文")],
)
def test_the_layout_is_in_the_readers_language_and_offers_the_other(
    app, world, lang, html_lang, switch_to, switch_text
):
    with app.test_request_context(f"/?lang={lang}"):
        html = render(app)
        switch = url_for("set_language", code=switch_to)
        portal = gettext("ODR portal")
    assert f'<html lang="{html_lang}">' in html
    link = re.search(r'<a [^>]*id="lang-switch"[^>]*>([^<]*)</a>', html)
    assert link is not None and link.group(1) == switch_text
    assert f'href="{switch}"' in link.group(0)
    assert f"· {portal}</title>" in html
    assert ("Sign in" in html) == (lang == "en")


def test_unread_count_costs_one_query(app, world):
    for _ in range(3):
        _db.session.add(Notification(user_id=world.consumer.id, kind="filed", params={}))
    _db.session.add(
        Notification(user_id=world.consumer.id, kind="filed", params={}, read_at=datetime.now(UTC))
    )
    _db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"email": world.consumer.email, "password": factories.PASSWORD})
    with factories.counted() as statements:
        page = client.get("/verify").get_data(as_text=True)
    assert 'aria-label="3 ' in page or ">3</span>" in page
    assert len(statements) == 1, statements  # the count (the user is in the session already)


def test_template_gettext_follows_the_language_and_force_locale(app):
    template = app.jinja_env.from_string("{{ _('Sign out') }}|{{ _('%(n)s unread', n='<b>') }}")
    with app.test_request_context("/?lang=en"):
        assert template.render() == "Sign out|&lt;b&gt; unread"
        with force_locale("zh_CN"):
            chinese = template.render()
        assert "Sign out" not in chinese and "&lt;b&gt;" in chinese and "<b>" not in chinese
        assert template.render() == "Sign out|&lt;b&gt; unread"
    plain = app.jinja_env.from_string(
        "{% autoescape false %}{{ _('%(n)s unread', n='<b>') }}|{{ _('Sign out') }}"
        "{% endautoescape %}"
    )
    with app.test_request_context("/?lang=en"):
        assert plain.render() == "<b> unread|Sign out"
        assert template.render() == "Sign out|&lt;b&gt; unread"  # the other cache


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_quick_date_time_agrees_with_the_localdt_filter(app, lang):
    start = datetime(2025, 12, 31, 15, 59, 30, tzinfo=UTC)
    with app.test_request_context(f"/?lang={lang}"):
        for minutes in range(0, 60 * 24 * 400, 997):
            moment = start + timedelta(minutes=minutes)
            assert local_dt(moment) == localdt(moment)
            naive = moment.replace(tzinfo=None)
            assert local_dt(naive) == localdt(naive)
        assert local_dt(None) == localdt(None) == ""


def test_a_long_unread_count_shows_as_99_plus(app, world):
    """The badge counts at most 100 unread notices (an enterprise owner may have many
    thousands): 99 shows as 99, 100 or more as 99+."""
    client = app.test_client()
    client.post("/auth/login", data={"email": world.consumer.email, "password": factories.PASSWORD})
    for total, shown in ((99, ">99</span>"), (150, ">99+</span>")):
        missing = total - _db.session.scalar(
            _db.select(_db.func.count(Notification.id)).where(
                Notification.user_id == world.consumer.id
            )
        )
        _db.session.add_all(
            Notification(user_id=world.consumer.id, kind="filed", params={}) for _ in range(missing)
        )
        _db.session.commit()
        unread = _db.session.scalar(
            _db.select(_db.func.count(Notification.id)).where(
                Notification.user_id == world.consumer.id, Notification.read_at.is_(None)
            )
        )
        assert unread == total
        with app.app_context():  # a request of its own (the fixture's context shares g)
            page = client.get("/verify").get_data(as_text=True)
        assert shown in page, total
