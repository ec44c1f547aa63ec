"""Forms and sessions: CSRF on every state-changing form, cookie flags, the login rate
limit shared by several app servers through Redis, password hashing, and password-reset
links that expire and work once."""

import os
import re
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

import pytest

from odr import create_app
from odr.auth import operations as auth_ops
from odr.auth.models import LinkPurpose, OneTimeLink, User
from odr.config import DEV_SECRET, ProductionConfig, TestConfig
from odr.disputes.models import Complaint, Outbox
from odr.extensions import db as _db
from odr.types import utcnow
from tests.factories import PASSWORD, file_case

ROOT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path="/auth/login", **kw) -> str:
    page = client.get(path, **kw).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email, password=PASSWORD, **kw):
    token = csrf_token(client, **kw)
    return client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}, **kw
    )


def sibling_app(app, config=TestConfig, **overrides):
    """Another app on the same database and folders (so it sees the same users)."""
    settings = {
        key: app.config[key]
        for key in ("SQLALCHEMY_DATABASE_URI", "INSTANCE_DIR", "UPLOAD_DIR", "RECORD_DIR")
    }
    settings["MAIL_DIR"] = app.config["MAIL_DIR"]
    return create_app(config, **{**settings, **overrides})


@pytest.fixture
def csrf_app(app):
    other = sibling_app(app, WTF_CSRF_ENABLED=True)
    yield other
    with other.app_context():
        _db.engine.dispose()


# -- CSRF --------------------------------------------------------------------------------


def form_routes(app) -> list[str]:
    """Every state-changing route outside the JSON API (which takes bearer tokens, never
    cookies), with its URL parameters filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") or not rule.methods & {
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        }:
            continue
        urls.append(
            re.sub(r"<(?:int:)?[^>]+>", lambda m: "1" if "int:" in m.group(0) else "x", rule.rule)
        )
    return sorted(urls)


def test_every_form_refuses_a_post_without_a_valid_token(csrf_app, world, db):
    client = csrf_app.test_client()
    urls = form_routes(csrf_app)
    assert len(urls) >= 20 and "/auth/login" in urls and "/auth/logout" in urls
    for signed_in in (False, True):
        if signed_in:
            assert sign_in(client, world.consumer.email).status_code == 302
        for url in urls:
            for data in ({}, {"csrf_token": "forged"}):
                response = client.post(url, data=data)
                assert response.status_code == 400, (url, signed_in, response.status_code)
    # A token is bound to its session: another browser's valid token is refused too.
    stranger = csrf_app.test_client()
    foreign = csrf_token(stranger)
    assert client.post("/auth/logout", data={"csrf_token": foreign}).status_code == 400


def test_refused_posts_change_nothing_and_a_valid_token_works(csrf_app, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    client = csrf_app.test_client()
    assert sign_in(client, world.consumer.email).status_code == 302
    response = client.post(f"/consumer/cases/{complaint.id}/withdraw", data={"reason": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).state == "negotiating"
    # Still signed in: the forged sign-out did nothing.
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/consumer/cases").status_code == 200
    token = csrf_token(client, "/consumer/cases")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/consumer/cases").status_code == 302  # to the sign-in page

    anonymous = csrf_app.test_client()
    before = db.session.scalar(db.select(db.func.count(User.id)))
    data = {
        "name": "新用户",
        "email": "new.user@test.example",
        "phone": "13900000000",
        "password": "Long-enough-1",
        "confirm": "Long-enough-1",
    }
    assert anonymous.post("/auth/register", data=data).status_code == 400
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_the_api_never_takes_the_session_cookie(csrf_app, world, db):
    """The API is exempt from CSRF because it authenticates by bearer token only."""
    client = csrf_app.test_client()
    assert sign_in(client, world.consumer.email).status_code == 302
    response = client.post(
        "/api/v1/complaints", json={"enterprise_id": world.enterprise.id, "facts": "x"}
    )
    assert response.status_code == 401
    assert client.get("/api/v1/complaints").status_code == 401


# -- cookies and passwords -----------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(csrf_app, world, db):
    client = csrf_app.test_client()
    cookie = session_cookie(sign_in(client, world.consumer.email))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain http keeps working


@pytest.fixture
def production_app(app, monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "a" * 64)
    monkeypatch.setattr(ProductionConfig, "PUBLIC_BASE_URL", "https://odr.example.cn")
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "b" * 64)
    # The limiter is one object shared by every app of the process: leave it disabled, as
    # the other tests expect (the limit is tested on real servers below).
    prod = sibling_app(app, ProductionConfig, RATELIMIT_ENABLED=False)
    yield prod
    with prod.app_context():
        _db.engine.dispose()


def test_production_cookies_are_secure_and_hsts_is_sent(production_app, world, db):
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    assert production_app.config["WTF_CSRF_ENABLED"] is not False
    client = production_app.test_client()
    https = {"base_url": "https://odr.example.cn"}
    referer = {"Referer": "https://odr.example.cn/auth/login"}
    token = csrf_token(client, **https)
    response = client.post(
        "/auth/login",
        data={"email": world.consumer.email, "password": PASSWORD, "csrf_token": token},
        headers=referer,
        **https,
    )
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    hsts = response.headers.get("Strict-Transport-Security", "")
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    # Behind a TLS-terminating proxy the header is sent as well.
    behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=31536000" in behind_proxy.headers.get("Strict-Transport-Security", "")


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", DEV_SECRET)
    with pytest.raises(RuntimeError, match="ODR_SECRET_KEY"):
        create_app("production")
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="ODR_SECRET_KEY"):
        create_app("production")


def test_passwords_are_hashed_with_scrypt_and_salted(world, db):
    first = world.consumer.password_hash
    assert first.startswith("scrypt:") and PASSWORD not in first
    user = auth_ops.register_consumer(
        email="same.password@test.example", password=PASSWORD, name="同密码"
    )
    assert user.password_hash.startswith("scrypt:") and user.password_hash != first
    assert auth_ops.authenticate("same.password@test.example", PASSWORD) == user
    assert auth_ops.authenticate("same.password@test.example", PASSWORD + "x") is None


# -- password reset ------------------------------------------------------------------------

LINK = re.compile(r"/auth/reset/([A-Za-z0-9_\-]+)")


def request_reset(client, db, email) -> str:
    before = set(db.session.scalars(db.select(Outbox.id)))
    response = client.post("/auth/reset", data={"email": email})
    assert response.status_code == 302
    new = [o for o in db.session.scalars(db.select(Outbox)) if o.id not in before]
    assert len(new) == 1 and new[0].recipient == email
    return LINK.search(new[0].body).group(1)


def set_password(client, token, password):
    return client.post(
        f"/auth/reset/{token}",
        data={"password": password, "confirm": password},
        follow_redirects=True,
    )


def test_reset_link_works_once(client, world, db):
    token = request_reset(client, db, world.consumer.email)
    assert client.get(f"/auth/reset/{token}").status_code == 200
    set_password(client, token, "New-pass-2026!")
    db.session.expire_all()
    assert auth_ops.authenticate(world.consumer.email, "New-pass-2026!") is not None
    assert auth_ops.authenticate(world.consumer.email, PASSWORD) is None

    again = set_password(client, token, "Third-pass-2026!")
    assert again.request.path == "/auth/login"
    db.session.expire_all()
    assert auth_ops.authenticate(world.consumer.email, "Third-pass-2026!") is None
    assert auth_ops.authenticate(world.consumer.email, "New-pass-2026!") is not None
    # The link is stored hashed: the raw token is nowhere in the database.
    assert (
        db.session.scalar(
            db.select(db.func.count(OneTimeLink.id)).where(OneTimeLink.token_hash == token)
        )
        == 0
    )


def test_reset_link_expires_after_two_hours(client, world, db, monkeypatch):
    import odr.auth.operations as operations

    late = request_reset(client, db, world.consumer.email)
    in_time = request_reset(client, db, world.consumer.email)
    now = utcnow()
    monkeypatch.setattr(operations, "utcnow", lambda: now + timedelta(hours=2, minutes=1))
    set_password(client, late, "Too-late-2026!")
    db.session.expire_all()
    assert auth_ops.authenticate(world.consumer.email, "Too-late-2026!") is None

    monkeypatch.setattr(operations, "utcnow", lambda: now + timedelta(hours=1, minutes=59))
    set_password(client, in_time, "In-time-2026!")
    db.session.expire_all()
    assert auth_ops.authenticate(world.consumer.email, "In-time-2026!") is not None


def test_reset_for_unknown_address_looks_the_same_and_sends_nothing(client, world, db):
    before = db.session.scalar(db.select(db.func.count(Outbox.id)))
    known = client.post("/auth/reset", data={"email": world.consumer.email})
    unknown = client.post("/auth/reset", data={"email": "nobody@test.example"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert db.session.scalar(db.select(db.func.count(Outbox.id))) == before + 1


def test_reset_link_is_not_an_invitation(client, world, db):
    token = request_reset(client, db, world.consumer.email)
    client.post(
        f"/auth/invite/{token}", data={"password": "Invite-2026!", "confirm": "Invite-2026!"}
    )
    db.session.expire_all()
    assert auth_ops.authenticate(world.consumer.email, "Invite-2026!") is None


@pytest.mark.postgres
def test_one_reset_link_used_by_ten_requests_at_once_sets_one_password(app, client, world, db):
    token = request_reset(client, db, world.consumer.email)
    racer = sibling_app(app, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 15})
    barrier = threading.Barrier(10)
    statuses = []

    def use(n):
        with racer.test_client() as browser:
            barrier.wait(timeout=30)
            response = browser.post(
                f"/auth/reset/{token}",
                data={"password": f"Racer-{n}-2026!", "confirm": f"Racer-{n}-2026!"},
                headers={"Accept-Language": "en"},
                follow_redirects=True,
            )
            text = response.get_data(as_text=True)
            statuses.append(
                (response.status_code, "Your password is set" in text, "already used" in text)
            )

    threads = [threading.Thread(target=use, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with racer.app_context():
        _db.engine.dispose()
    db.session.expire_all()
    winners = [
        n for n in range(10) if auth_ops.authenticate(world.consumer.email, f"Racer-{n}-2026!")
    ]
    assert sorted(statuses) == [(200, False, True)] * 9 + [(200, True, False)], statuses
    assert len(winners) == 1, winners
    link = db.session.scalar(db.select(OneTimeLink).where(OneTimeLink.purpose == LinkPurpose.RESET))
    assert link.used_at is not None


# -- login rate limit across app servers ----------------------------------------------------

SERVER = """
import sys
from werkzeug.serving import make_server
from odr import create_app
from odr.config import TestConfig
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1], RATELIMIT_ENABLED=True,
                 RATELIMIT_KEY_PREFIX=sys.argv[3],
                 INSTANCE_DIR=sys.argv[4], UPLOAD_DIR=sys.argv[4] + "/u",
                 RECORD_DIR=sys.argv[4] + "/r", MAIL_DIR=sys.argv[4] + "/m",
                 PROXY_COUNT=int(sys.argv[5]))
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def start_server(app, storage, prefix, folder, proxies=0) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            app.config["SQLALCHEMY_DATABASE_URI"],
            storage,
            prefix,
            str(folder),
            str(proxies),
        ],
        cwd=ROOT,
        # The storage as an operator sets it: ODR_RATELIMIT_STORAGE_URL.
        # The public address as an operator sets it: e-mailed links are built from it.
        env={
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "ODR_RATELIMIT_STORAGE_URL": storage,
            "ODR_PUBLIC_BASE_URL": "https://odr.example.cn",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port = int(process.stdout.readline())
    return process, port


def post_form(port, path, fields, headers=None) -> int:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        path,
        urlencode(fields),
        {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    status = conn.getresponse().status
    conn.close()
    return status


def failed_login(port, headers=None) -> int:
    fields = {"email": "consumer@test.example", "password": "wrong-password"}
    return post_form(port, "/auth/login", fields, headers)


@pytest.mark.slow
def test_login_limit_is_shared_by_app_servers_through_redis(app, world, db, tmp_path):
    import redis

    prefix = f"odr-test-{uuid.uuid4().hex}"
    url = "redis://127.0.0.1:6379/7"
    servers = []
    try:
        shared = [start_server(app, url, prefix, tmp_path / f"r{n}") for n in range(2)]
        alone = [start_server(app, "memory://", prefix, tmp_path / f"m{n}") for n in range(2)]
        servers = [p for p, _ in shared + alone]
        # Ten failed sign-ins in a minute, spread over two servers, are allowed; the 11th,
        # on either server, is refused.
        (_, a), (_, b) = shared
        statuses = [failed_login(a if n % 2 else b) for n in range(10)]
        assert statuses == [200] * 10
        assert failed_login(a) == 429 and failed_login(b) == 429
        # Without the shared store each server counts alone: 11 spread over two pass.
        (_, c), (_, d) = alone
        statuses = [failed_login(c if n % 2 else d) for n in range(11)]
        assert statuses == [200] * 11
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.mark.slow
def test_behind_a_proxy_each_client_has_its_own_budget_and_links_are_https(
    app, world, db, tmp_path
):
    """With ODR_PROXY_COUNT=1 the address the proxy reports is the client's: one client
    guessing passwords does not lock everyone else out. E-mailed links are the configured
    public address (https), whatever host the forwarded headers name (issue 16: they used
    to follow X-Forwarded-Host)."""
    prefix = f"odr-test-{uuid.uuid4().hex}"
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    neighbour = {"X-Forwarded-For": "198.51.100.7"}
    servers = []
    try:
        behind = start_server(app, "memory://", prefix, tmp_path / "proxy", proxies=1)
        servers.append(behind[0])
        direct = start_server(app, "memory://", prefix, tmp_path / "direct", proxies=0)
        servers.append(direct[0])
        for port in (behind[1], direct[1]):
            assert [failed_login(port, attacker) for _ in range(10)] == [200] * 10
            assert failed_login(port, attacker) == 429
        # Trusting the proxy, the neighbour still signs in. Without it, every request seems
        # to come from the proxy: the neighbour is locked out with the attacker.
        fields = {"email": world.consumer.email, "password": PASSWORD}
        assert post_form(behind[1], "/auth/login", fields, neighbour) == 302
        assert post_form(direct[1], "/auth/login", fields, neighbour) == 429

        https = {**neighbour, "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"}
        assert post_form(behind[1], "/auth/reset", {"email": world.consumer.email}, https) == 302
        db.session.rollback()
        mail = db.session.scalar(
            db.select(Outbox)
            .where(Outbox.idempotency_key.like("reset:%"))
            .order_by(Outbox.id.desc())
            .limit(1)
        )
        assert "https://odr.example.cn/auth/reset/" in mail.body
        assert "evil.example" not in mail.body
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()
