"""What every page carries: the layout (base.html, with its navigation rendered once per
language and role by odr/layout.py) prints what the earlier layout printed, for every role
and both languages; the unread count comes with the user's row; templates' _() caches the
text of a message per language and still follows force_locale; the case page's quick
date-time formatter agrees with the localdt filter."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from flask_login import login_user

from odr.consumer.timeline import local_dt
from odr.disputes.models import Notification
from odr.extensions import db as _db
from odr.web import localdt
from tests import factories

# The layout before the navigation was cached, verbatim (blocks filled by the test).
EARLIER = r"""<!doctype html>
<html lang="{{ html_lang() }}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{% block title %}{{ _('Online Dispute Resolution') }}{% endblock %} · {{ _('ODR portal') }}</title>
  <link rel="stylesheet" href="{{ url_for('static', filename='vendor/bootstrap/bootstrap.min.css') }}">
  <link rel="stylesheet" href="{{ url_for('static', filename='css/app.css') }}">
  {% block head %}{% endblock %}
</head>
<body>
<a class="visually-hidden-focusable skip-link" href="#main">{{ _('Skip to content') }}</a>
<nav class="navbar navbar-expand-xl navbar-dark bg-primary" aria-label="{{ _('Main navigation') }}">
  <div class="container">
    <a class="navbar-brand" href="{{ url_for('public.home') }}">{{ _('ODR portal') }}</a>
    <button class="navbar-toggler" type="button" data-bs-toggle="collapse" data-bs-target="#nav" aria-controls="nav" aria-expanded="false" aria-label="{{ _('Menu') }}">
      <span class="navbar-toggler-icon"></span>
    </button>
    <div class="collapse navbar-collapse" id="nav">
      <ul class="navbar-nav me-auto">
        {% if current_user.is_authenticated %}
          {% if current_user.role == 'consumer' %}
            <li class="nav-item"><a class="nav-link" href="{{ url_for('consumer.cases') }}">{{ _('My cases') }}</a></li>
            <li class="nav-item"><a class="nav-link" href="{{ url_for('consumer.file_start') }}">{{ _('File a complaint') }}</a></li>
            <li class="nav-item"><a class="nav-link" href="{{ url_for('requests.index') }}">{{ _('Reports & advice') }}</a></li>
          {% elif current_user.role == 'enterprise' %}
            <li class="nav-item"><a class="nav-link" href="{{ url_for('merchant.inbox') }}">{{ _('Inbox') }}</a></li>
            {% if current_user.staff_role == 'owner' %}
            <li class="nav-item"><a class="nav-link" href="{{ url_for('merchant.staff') }}">{{ _('Staff') }}</a></li>
            <li class="nav-item"><a class="nav-link" href="{{ url_for('merchant.integration') }}">{{ _('API and webhooks') }}</a></li>
            {% endif %}
          {% elif current_user.role == 'mediator' %}
            <li class="nav-item"><a class="nav-link" href="{{ url_for('mediation.queue') }}">{{ _('Queue') }}</a></li>
            <li class="nav-item"><a class="nav-link" href="{{ url_for('office.requests') }}">{{ _('Reports and consultations') }}</a></li>
          {% elif current_user.role == 'admin' %}
            <li class="nav-item"><a class="nav-link" href="{{ url_for('admin.dashboard') }}">{{ _('Console') }}</a></li>
            <li class="nav-item"><a class="nav-link" href="{{ url_for('admin.enterprises') }}">{{ _('Enterprises') }}</a></li>
          {% endif %}
        {% endif %}
        <li class="nav-item"><a class="nav-link" href="{{ url_for('public.scoreboard') }}">{{ _('Scoreboard') }}</a></li>
        <li class="nav-item"><a class="nav-link" href="{{ url_for('public.warnings') }}">{{ _('Consumer warnings') }}</a></li>
        <li class="nav-item"><a class="nav-link" href="{{ url_for('public.verify_form') }}">{{ _('Verify') }}</a></li>
      </ul>
      <ul class="navbar-nav align-items-xl-center">
        <li class="nav-item">
          {% if get_locale()|string == 'en' %}
            <a class="nav-link" href="{{ url_for('set_language', code='zh_CN') }}" lang="zh-CN" id="lang-switch">中文</a>
          {% else %}
            <a class="nav-link" href="{{ url_for('set_language', code='en') }}" lang="en" id="lang-switch">English</a>
          {% endif %}
        </li>
        {% if current_user.is_authenticated %}
          <li class="nav-item">
            <a class="nav-link" href="{{ url_for('public.notifications') }}">{{ _('Notifications') }}
              {% set n = unread_count() %}{% if n %}<span class="badge bg-warning text-dark" aria-label="{{ _('%(n)s unread', n=n) }}">{{ n }}</span>{% endif %}</a>
          </li>
          <li class="nav-item d-none d-xxl-block"><span class="navbar-text mx-2">{{ current_user.name }}</span></li>
          <li class="nav-item">
            <form method="post" action="{{ url_for('auth.logout') }}" class="d-inline">
              <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
              <button class="btn btn-outline-light btn-sm text-nowrap" type="submit">{{ _('Sign out') }}</button>
            </form>
          </li>
        {% else %}
          <li class="nav-item"><a class="nav-link" href="{{ url_for('auth.login') }}">{{ _('Sign in') }}</a></li>
          <li class="nav-item"><a class="nav-link" href="{{ url_for('auth.register') }}">{{ _('Register') }}</a></li>
        {% endif %}
      </ul>
    </div>
  </div>
</nav>
<main id="main" class="container py-4">
  {% with messages = get_flashed_messages(with_categories=true) %}
    {% for category, message in messages %}
      <div class="alert alert-{{ category if category != 'message' else 'info' }}" role="alert">{{ message }}</div>
    {% endfor %}
  {% endwith %}
  {% block content %}{% endblock %}
</main>
<footer class="container py-3 small text-muted border-top">
  {{ _('Consumer dispute resolution in the style of the 12315 platform. Records can be verified by anyone.') }}
</footer>
<script src="{{ url_for('static', filename='vendor/bootstrap/bootstrap.bundle.min.js') }}"></script>
<script src="{{ url_for('static', filename='js/app.js') }}"></script>
{% block scripts %}{% endblock %}
</body>
</html>
"""  # noqa: E501

PAGE = """{% extends layout %}{% block title %}Page <b>title</b>{% endblock %}
{% block content %}<p>content</p>{% endblock %}"""


def squeeze(html: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)
    return re.sub(r"\s*(<|>)\s*", r"\1", re.sub(r"\s+", " ", html)).strip()


def render(app, layout: str) -> str:
    context = {"layout": layout}
    app.update_template_context(context)
    return app.jinja_env.from_string(PAGE).render(context)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_layout_prints_what_the_earlier_layout_printed(app, world, lang):
    earlier = app.jinja_env.from_string(EARLIER)
    users = [None, world.consumer, world.owner, world.agent, world.head, world.admin]
    for user in users:
        with app.test_request_context(f"/?lang={lang}"):
            if user is not None:
                login_user(user)
            now = render(app, "base.html")
            before = render(app, earlier)
        assert squeeze(now) == squeeze(before), f"{lang}, {user}"
        assert "Page &lt;b&gt;title&lt;/b&gt;" not in now and "Page <b>title</b>" in now


def test_unread_count_comes_with_the_user_in_one_query(app, world):
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
    assert len(statements) == 1, statements  # the user and the count, nothing else


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
    thousands: counting them all cost every page 2 ms): 99 shows as 99, 100 or more as 99+."""
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
