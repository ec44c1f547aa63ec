"""Every state-changing form refuses a request without a valid CSRF token.

An app with CSRF protection on (the test configuration turns it off) over the test
database and the access-matrix world. Every POST route of the URL map outside the JSON API
is sent the body its allowed user would send (tests/test_access_matrix.py BODY), by that
user (the first signed-in `ok` of its row in the access matrix, and by nobody as well for
a public form), once without a token and once with a forged one: each answers 400 with the
CSRF error page, and not one row of the database changes. The same forms with the token of
the page work, and the API (bearer tokens, no cookies) needs no CSRF token.
"""

import itertools
import re

import pytest
from flask import url_for

from odr import create_app
from odr.auth import operations as auth_ops
from odr.config import TestConfig
from odr.disputes.models import Message
from odr.extensions import db as _db
from odr.extensions import limiter
from tests import access_world
from tests.factories import browser_session
from tests.test_access_matrix import BODY, COLUMNS, TABLE, _values

# The CSRF error page, in the default language (zh_CN) and in English.
CSRF_MESSAGES = ("表单已过期", "The form expired")


@pytest.fixture
def csrf_app(app, monkeypatch):
    # The limiter object is shared by every app: leave it as it was.
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    monkeypatch.setattr(limiter, "initialized", limiter.initialized)
    protected = create_app(
        TestConfig,
        WTF_CSRF_ENABLED=True,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_DIR=app.config["INSTANCE_DIR"],
        UPLOAD_DIR=app.config["UPLOAD_DIR"],
        RECORD_DIR=app.config["RECORD_DIR"],
        MAIL_DIR=app.config["MAIL_DIR"],
        PUBLIC_BASE_URL=app.config["PUBLIC_BASE_URL"],
    )
    yield protected
    with protected.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _web_posts(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):
            yield f"POST {rule.endpoint}", rule


def _who(key: str) -> list[str]:
    """Who the form is for: the first signed-in user the access matrix lets through (any
    user who reaches the view, for the few forms that let nobody through: the token is
    checked before anything else), and nobody too when the form is public."""
    codes = dict(zip(COLUMNS, TABLE[key].split(), strict=True))
    allowed = [role for role in COLUMNS[1:] if codes[role] == "ok"]
    reaching = [role for role in COLUMNS[1:] if codes[role] not in ("L", "403")]
    public = ["anonymous"] if codes["anonymous"] == "ok" else []
    return public + (allowed or reaching)[:1]


def _client(app, w, role):
    client = app.test_client()
    if w.user_ids[role] is not None:
        browser_session(client, w.user_ids[role], w.sessions[role])
    return client


def test_every_form_refuses_a_post_without_a_valid_token(app, db, csrf_app):
    w = access_world.build()
    keys = list(_web_posts(csrf_app))
    assert len(keys) >= 60
    before = access_world.fingerprint()
    problems = []
    calls = 0
    for key, rule in keys:
        values = _values(w, key, rule)
        with csrf_app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for role, token in itertools.product(_who(key), (None, "forged-" + "0" * 40)):
            calls += 1
            client = _client(csrf_app, w, role)
            kwargs = BODY[key](w) if key in BODY else {"data": {}}
            if token is not None:
                kwargs.setdefault("data", {})["csrf_token"] = token
            response = client.post(url, **kwargs)
            text = response.get_data(as_text=True)
            if response.status_code != 400 or not any(m in text for m in CSRF_MESSAGES):
                problems.append(f"{key} as {role} (token {token}): {response.status_code}")
    db.session.expire_all()
    changes = access_world.changes(before, access_world.fingerprint())
    print(f"CSRF: {len(keys)} forms, {calls} posts without a valid token refused")
    assert not problems, "answered without a valid CSRF token:\n" + "\n".join(problems)
    assert not changes, f"written without a valid CSRF token: {changes}"


def _token(client, path) -> str:
    html = client.get(path).get_data(as_text=True)
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def test_the_same_forms_work_with_the_token_of_the_page(app, db, csrf_app):
    w = access_world.build()
    case_id = w.case_ids["mediating"]
    consumer = _client(csrf_app, w, "party_consumer")
    token = _token(consumer, f"/consumer/cases/{case_id}")
    answer = consumer.post(
        f"/consumer/cases/{case_id}/messages",
        data={"csrf_token": token, "msg-body": "带令牌的留言"},
    )
    assert answer.status_code == 302
    mediator = _client(csrf_app, w, "competent_mediator")
    token = _token(mediator, f"/mediation/cases/{case_id}")
    answer = mediator.post(
        f"/mediation/cases/{case_id}/messages",
        data={"csrf_token": token, "msg-body": "调解员带令牌的留言"},
    )
    assert answer.status_code == 302
    # A token of another session is no token.
    stranger = _client(csrf_app, w, "party_consumer")
    answer = stranger.post(
        f"/consumer/cases/{case_id}/messages", data={"csrf_token": token, "msg-body": "x"}
    )
    assert answer.status_code == 400
    _db.session.expire_all()
    bodies = _db.session.scalars(
        _db.select(Message.body).where(Message.complaint_id == case_id)
    ).all()
    assert "带令牌的留言" in bodies and "调解员带令牌的留言" in bodies and "x" not in bodies


def test_the_api_needs_no_csrf_token(app, db, csrf_app):
    """Bearer tokens are not sent by browsers on their own: the API is exempt."""
    w = access_world.build()
    raw, _ = auth_ops.issue_token(w.users["party_consumer"])
    _db.session.commit()
    answer = csrf_app.test_client().post(
        f"/api/v1/complaints/{w.case_ids['mediating']}/messages",
        json={"body": "来自接口"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
