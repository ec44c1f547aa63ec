"""Accounts on the web: registration, sign-in and sign-out, role gates, hashed passwords,
rate-limited sign-in."""

from urllib.parse import urlparse

import pytest

from odr import create_app
from odr.auth import operations as auth_ops
from odr.auth.models import User
from odr.config import TestConfig
from odr.extensions import db as _db
from odr.extensions import limiter
from tests.factories import PASSWORD


@pytest.fixture(scope="module")
def homes(app) -> dict[str, str]:
    """Each role's home page, as the sign-in sends it there."""
    from flask import url_for

    from odr.auth.views import HOME_BY_ROLE

    with app.test_request_context():
        return {str(role): url_for(endpoint) for role, endpoint in HOME_BY_ROLE.items()}


def path(response) -> str:
    return urlparse(response.headers["Location"]).path


def login(client, email, password=PASSWORD, **kw):
    return client.post("/auth/login", data={"email": email, "password": password}, **kw)


def registration(**overrides) -> dict:
    data = {
        "name": "赵六",
        "email": "Zhao.Liu@Example.com",
        "phone": "13700000000",
        "region_code": "410105",
        "address": "郑州市金水区农业路1号",
        "password": "Secret-pass-1",
        "confirm": "Secret-pass-1",
    }
    data.update(overrides)
    return data


# -- registration ------------------------------------------------------------------------------


def test_register_creates_a_consumer_who_then_signs_in(world, client, db, homes):
    page = client.get("/auth/register")
    assert page.status_code == 200
    assert 'value="410105"' in page.get_data(as_text=True)

    response = client.post("/auth/register", data=registration())
    assert response.status_code == 302
    # Not signed in (a taken address is answered alike): to the sign-in page, address filled.
    assert path(response) == "/auth/login"
    form = client.get("/auth/login").get_data(as_text=True)
    assert 'value="zhao.liu@example.com"' in form
    assert client.get(homes["consumer"]).status_code == 302

    user = db.session.scalar(db.select(User).where(User.email == "zhao.liu@example.com"))
    assert user is not None
    assert user.role == "consumer"
    assert user.region_code == "410105"
    assert user.password_hash.startswith("scrypt:")
    assert "Secret-pass-1" not in user.password_hash
    assert user.check_password("Secret-pass-1")
    assert not user.check_password("secret-pass-1")

    response = login(client, "zhao.liu@example.com", "Secret-pass-1")
    assert response.status_code == 302
    assert path(response) == homes["consumer"]
    cases = client.get(homes["consumer"])
    assert cases.status_code == 200
    assert 'id="no-cases"' in cases.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field_text"),
    [
        ({"email": "not-an-address"}, "not-an-address"),
        ({"password": "short", "confirm": "short"}, "赵六"),
        ({"confirm": "Other-pass-1"}, "赵六"),
        ({"name": ""}, "13700000000"),
    ],
)
def test_register_refuses_bad_input_and_keeps_what_was_typed(
    world, client, db, overrides, field_text
):
    before = db.session.scalar(db.select(db.func.count(User.id)))
    response = client.post("/auth/register", data=registration(**overrides))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is-invalid" in html
    assert field_text in html
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_registration_of_an_existing_address_makes_no_second_account_whatever_its_case(
    world, client, db
):
    """Answered like a new address (tests/test_trust_accounts.py shows how alike)."""
    response = client.post("/auth/register", data=registration(email="CONSUMER@test.example"))
    assert response.status_code == 302 and path(response) == "/auth/login"
    assert (
        db.session.scalar(
            db.select(db.func.count(User.id)).where(User.email == "consumer@test.example")
        )
        == 1
    )


# -- sign in, sign out ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "role"),
    [("consumer", "consumer"), ("agent", "enterprise"), ("head", "mediator"), ("admin", "admin")],
)
def test_login_sends_each_role_home(world, client, who, role, homes):
    user = getattr(world, who)
    response = login(client, user.email)
    assert response.status_code == 302
    assert path(response) == homes[role]


def test_login_is_case_insensitive_on_the_address(world, client):
    response = login(client, "  Consumer@Test.Example ")
    assert response.status_code == 302


def test_wrong_password_or_unknown_address(world, client):
    for email, password in (("consumer@test.example", "wrong-pass"), ("nobody@x.example", "x")):
        response = login(client, email, password)
        assert response.status_code == 200
        assert "is-invalid" in response.get_data(as_text=True) or "alert-danger" in (
            response.get_data(as_text=True)
        )
    assert client.get("/consumer/cases").status_code == 302


def test_inactive_account_cannot_sign_in(world, client, db):
    world.consumer.active = False
    db.session.commit()
    assert login(client, world.consumer.email).status_code == 200


def test_next_is_followed_only_within_the_site(world, client, homes):
    response = login(client, world.consumer.email, query_string={"next": "/consumer/cases?page=1"})
    assert response.headers["Location"].endswith("/consumer/cases?page=1")
    client.post("/auth/logout")
    for target in ("//evil.example/x", "https://evil.example/"):
        response = login(client, world.consumer.email, query_string={"next": target})
        assert path(response) == homes["consumer"]
        assert "evil" not in response.headers["Location"]
        client.post("/auth/logout")


def test_logout(world, client, homes):
    login(client, world.consumer.email)
    assert client.get(homes["consumer"]).status_code == 200
    assert client.get("/auth/logout").status_code == 405  # sign-out is a POST (CSRF)
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert path(response) == "/"
    response = client.get(homes["consumer"])
    assert response.status_code == 302
    assert path(response) == "/auth/login"


# -- role gates -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(world, client, homes):
    for home in homes.values():
        response = client.get(home)
        assert response.status_code == 302, home
        assert path(response) == "/auth/login"
        assert "next=" in response.headers["Location"]


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("consumer", "consumer"), ("agent", "enterprise"), ("head", "mediator"), ("admin", "admin")],
)
def test_each_role_is_kept_to_its_own_area(world, client, who, allowed, homes):
    login(client, getattr(world, who).email)
    for home in homes.values():
        status = client.get(home).status_code
        if home == homes[allowed]:
            assert status == 200, home
        else:
            assert status == 403, (who, home)


def test_consumer_gets_403_on_admin(world, client):
    login(client, world.consumer.email)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "<html" in response.get_data(as_text=True)  # the error page, not a stack trace


# -- passwords ------------------------------------------------------------------------------


def test_passwords_are_hashed_with_scrypt(world, db):
    for user in db.session.scalars(db.select(User)):
        assert user.password_hash.startswith("scrypt:"), user.email
        assert PASSWORD not in user.password_hash
    # The same password twice gives two different hashes (salted).
    a = auth_ops.register_consumer(email="a@salt.example", password="Same-pass-1", name="A")
    b = auth_ops.register_consumer(email="b@salt.example", password="Same-pass-1", name="B")
    assert a.password_hash != b.password_hash
    assert a.check_password("Same-pass-1") and b.check_password("Same-pass-1")


def test_authenticate(world, db):
    assert auth_ops.authenticate("consumer@test.example", PASSWORD).id == world.consumer.id
    assert auth_ops.authenticate("consumer@test.example", "nope") is None
    assert auth_ops.authenticate("consumer@test.example", None) is None
    assert auth_ops.authenticate("", "") is None


# -- rate limit -----------------------------------------------------------------------------


@pytest.fixture
def limited_app(app, tmp_path, monkeypatch):
    """A second app on the same database with rate limiting on. The limiter is one object
    for every app: its switch is put back after the test."""
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        INSTANCE_DIR=str(tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    yield limited
    limiter.reset()
    with limited.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_login_is_rate_limited(world, limited_app):
    client = limited_app.test_client()
    for attempt in range(10):
        response = login(client, "consumer@test.example", "wrong-pass")
        assert response.status_code == 200, attempt
    response = login(client, "consumer@test.example", "wrong-pass")
    assert response.status_code == 429
    assert "<html" in response.get_data(as_text=True)
    # Even the right password waits now; the page itself still opens.
    assert login(client, "consumer@test.example").status_code == 429
    assert client.get("/auth/login").status_code == 200


def test_rate_limit_is_off_in_tests(world, client):
    for _ in range(12):
        assert login(client, "consumer@test.example", "wrong-pass").status_code == 200
