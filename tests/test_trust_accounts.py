"""Issue 16, the account, session and input half: each test is one attack that worked
before, named after it, and shows it fails now (on SQLite and PostgreSQL).

1. an enterprise that has only applied is found, named and reads the consumer;
2. a forged Host header puts the attacker's host into a mailed link;
3. `next` leaves the site, or answers 500;
4. sessions and tokens outlive logout, password change and reset;
5. a suspended enterprise acts on the web;
11. login time, registration and enterprise applications, ids out of range, rate limits,
    deactivated mediators."""

import io
import re
from pathlib import Path

import pytest
from werkzeug import security

from odr.auth import models as account_models
from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, User, UserRole, UserSession
from odr.disputes import integration as integration_ops
from odr.disputes.models import (
    Complaint,
    Draft,
    Enterprise,
    EnterpriseEvent,
    EnterpriseStatus,
    Outbox,
)
from odr.extensions import db as _db
from tests.factories import (
    PASSWORD,
    browser_session,
    complaint_data,
    credit_code,
    file_case,
    user,
)


def login(client, email, password=PASSWORD, **kw):
    return client.post("/auth/login", data={"email": email, "password": password}, **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


# -- 1. an application sees nothing of any consumer ---------------------------------------


@pytest.fixture
def applicant(world, db):
    owner = user(
        UserRole.ENTERPRISE,
        "applicant@test.example",
        enterprise=world.pending_enterprise,
        staff_role=StaffRole.OWNER,
    )
    db.session.commit()
    return owner


def test_applicant_enterprise_named_by_id_in_web_and_api_filings_is_refused(
    world, db, client, api, applicant
):
    pending = world.pending_enterprise
    # The API: searched by name or credit code, it is not there; named by id, refused.
    for q in (pending.name, pending.credit_code):
        assert client.get("/api/v1/enterprises", query_string={"q": q}).get_json()["items"] == []
    filed = api.post(world.consumer, "/complaints", json=complaint_data(pending))
    assert filed.status_code == 422 and "enterprise_id" in filed.get_json()["error"]["fields"]
    # The web: the wizard's search does not find it, and a forged choice is refused.
    assert login(client, world.consumer.email).status_code == 302
    assert pending.name not in text(client.get("/consumer/file", query_string={"q": "待审"}))
    forged = client.post(
        "/consumer/file", data={"enterprise_id": str(pending.id), "green_channel": "y"}
    )
    assert forged.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Draft.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0


def test_applicant_enterprise_reads_no_consumer_even_when_a_case_names_it(
    world, db, client, api, applicant
):
    """A row naming it (from before the rule) shows its staff nothing: no list, no page, no
    phone or address, no message form."""
    case = file_case(world.consumer, world.enterprise, green_channel=False, commit=False)
    case.enterprise_id = world.pending_enterprise.id
    db.session.commit()
    assert login(client, applicant.email).status_code == 302
    inbox = text(client.get("/merchant/inbox"))
    assert case.reference not in inbox and world.consumer.phone not in inbox
    assert client.get(f"/merchant/cases/{case.id}").status_code == 404
    said = client.post(f"/merchant/cases/{case.id}/messages", data={"message-body": "您好"})
    assert said.status_code in (403, 404)
    # No API token for it either.
    token = client.post(
        "/api/v1/auth/tokens", json={"email": applicant.email, "password": PASSWORD}
    )
    assert token.status_code == 401


# -- 2. a forged Host header never reaches a link -------------------------------------------

LINK = re.compile(r"https?://[^\s/]+/auth/reset/[A-Za-z0-9_\-]+")


def test_password_reset_requested_with_a_forged_host_mails_a_link_to_the_real_site(
    app, world, db, client
):
    response = client.post(
        "/auth/reset",
        data={"email": world.consumer.email},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 302
    mail = db.session.scalar(db.select(Outbox).where(Outbox.recipient == world.consumer.email))
    assert "evil.example" not in mail.body
    assert LINK.search(mail.body).group(0).startswith(app.config["PUBLIC_BASE_URL"] + "/")


def test_production_without_a_public_address_refuses_to_start(monkeypatch):
    from odr import create_app
    from odr.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "k" * 64)
    for bad in ("", "evil.example", "javascript:alert(1)", "https://", "https://a b.cn"):
        monkeypatch.setattr(ProductionConfig, "PUBLIC_BASE_URL", bad)
        with pytest.raises(RuntimeError, match="ODR_PUBLIC_BASE_URL"):
            create_app("production")


# -- 3. `next` stays on the site ------------------------------------------------------------

OFF_SITE = [
    "//evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/%252F/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/\r\n/evil.example",
    "evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_next_pointing_off_site_goes_home(world, client, target):
    response = login(client, world.consumer.email, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/consumer/cases"


def test_login_next_on_the_site_is_followed(world, client):
    response = login(client, world.consumer.email, query_string={"next": "/consumer/file?q=a"})
    assert response.headers["Location"] == "/consumer/file?q=a"


def test_login_next_with_cr_lf_injects_no_header_and_answers_no_500(world, client):
    response = login(client, world.consumer.email, query_string={"next": "/\r\nSet-Cookie: x=1"})
    assert response.status_code == 302
    assert "\n" not in response.headers["Location"] and "\r" not in response.headers["Location"]
    assert not any("x=1" in c for c in response.headers.getlist("Set-Cookie"))


# -- 4. sessions end on the server ------------------------------------------------------------


def copy_cookie(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


def visit(browser, path, **kw):
    """GET as this browser alone. The tests' app context outlives requests, and Flask-Login
    keeps the user it loaded on it (g): forget it, so the cookie is read again."""
    from flask import g

    g.pop("_login_user", None)
    return browser.get(path, **kw)


def test_session_cookie_copied_before_logout_stops_working_after_it(app, world, client):
    assert login(client, world.consumer.email).status_code == 302
    thief = app.test_client()
    copy_cookie(client, thief)
    assert visit(thief, "/consumer/cases").status_code == 200
    client.post("/auth/logout")
    assert visit(client, "/consumer/cases").status_code == 302
    answer = visit(thief, "/consumer/cases")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_logout_in_one_browser_leaves_the_others_signed_in(app, world, client):
    other = app.test_client()
    assert login(client, world.consumer.email).status_code == 302
    assert login(other, world.consumer.email).status_code == 302
    client.post("/auth/logout")
    assert visit(other, "/consumer/cases").status_code == 200


def test_password_reset_ends_old_sessions_and_revokes_api_and_integration_tokens(
    app, world, db, client, api
):
    victim = app.test_client()
    assert login(victim, world.owner.email).status_code == 302
    thief = app.test_client()
    copy_cookie(victim, thief)
    session_token = api.token(world.owner)
    integration, _ = integration_ops.create_integration_token(world.owner, name="kept by a thief")
    db.session.commit()
    client.post("/auth/reset", data={"email": world.owner.email})
    mail = db.session.scalar(db.select(Outbox).where(Outbox.recipient == world.owner.email))
    link = re.search(r"/auth/reset/[A-Za-z0-9_\-]+", mail.body).group(0)
    done = client.post(link, data={"password": "Brand-new-2026", "confirm": "Brand-new-2026"})
    assert done.status_code == 302
    for browser in (victim, thief):
        assert visit(browser, "/merchant/inbox").status_code == 302
    for token in (session_token, integration):
        headers = {"Authorization": f"Bearer {token}"}
        assert visit(client, "/api/v1/complaints", headers=headers).status_code == 401
    assert login(client, world.owner.email, "Brand-new-2026").status_code == 302


def test_a_reset_link_does_not_reopen_a_disabled_account(app, world, db, client):
    client.post("/auth/reset", data={"email": world.consumer.email})
    mail = db.session.scalar(db.select(Outbox).where(Outbox.recipient == world.consumer.email))
    link = re.search(r"/auth/reset/[A-Za-z0-9_\-]+", mail.body).group(0)
    world.consumer.active = False
    db.session.commit()
    client.post(link, data={"password": "Brand-new-2026", "confirm": "Brand-new-2026"})
    db.session.expire_all()
    assert world.consumer.active is False
    assert login(client, world.consumer.email, "Brand-new-2026").status_code == 200


@pytest.fixture
def csrf_client(app):
    from odr import create_app
    from odr.config import TestConfig

    settings = {
        k: app.config[k]
        for k in ("SQLALCHEMY_DATABASE_URI", "INSTANCE_DIR", "UPLOAD_DIR", "RECORD_DIR", "MAIL_DIR")
    }
    other = create_app(TestConfig, WTF_CSRF_ENABLED=True, **settings)
    yield other.test_client()
    with other.app_context():
        _db.engine.dispose()


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def test_session_fixed_before_sign_in_keeps_neither_its_csrf_secret_nor_its_id(world, csrf_client):
    """An attacker who planted a session (and knows its CSRF token) before the victim signs
    in holds nothing afterwards: the CSRF secret and the session token are new."""
    page = csrf_client.get("/auth/login").get_data(as_text=True)
    planted = CSRF_FIELD.search(page).group(1)
    with csrf_client.session_transaction() as session:
        planted_secret = session["csrf_token"]
    signed = csrf_client.post(
        "/auth/login",
        data={"email": world.consumer.email, "password": PASSWORD, "csrf_token": planted},
    )
    assert signed.status_code == 302
    with csrf_client.session_transaction() as session:
        assert session.get("csrf_token") != planted_secret
        first_sid = session["sid"]
    refused = csrf_client.post("/auth/logout", data={"csrf_token": planted})
    assert refused.status_code == 400
    token = CSRF_FIELD.search(csrf_client.get("/consumer/cases").get_data(as_text=True)).group(1)
    assert csrf_client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    page = csrf_client.get("/auth/login").get_data(as_text=True)
    csrf_client.post(
        "/auth/login",
        data={
            "email": world.consumer.email,
            "password": PASSWORD,
            "csrf_token": CSRF_FIELD.search(page).group(1),
        },
    )
    with csrf_client.session_transaction() as session:
        assert session["sid"] != first_sid


# -- 5. an enterprise out of the programme acts on nothing, on the web ------------------------

MERCHANT_FORMS = {
    "merchant.case": {"note-body": "内部备注"},
    "merchant.post_message": {"message-body": "已安排退款"},
    "merchant.make_offer": {
        "offer-remedy": "refund",
        "offer-amount": "900.00",
        "offer-terms": "退款900元",
    },
    "merchant.decline": {"reason": "不同意"},
    "merchant.performance": {"perf-status": "performed"},
    "merchant.assign": {"case_ids": "1", "assignee_id": "1"},
    "merchant.create_token": {"token-name": "CRM"},
    "merchant.create_webhook": {"webhook-url": "https://erp.example.com/hook"},
    "merchant.invite": {"email": "new.agent@test.example", "name": "新客服"},
}


def _row_counts():
    from odr.auth.models import ApiToken, User
    from odr.disputes.models import CaseEvent, Message, Offer, WebhookEndpoint

    tables = (User, ApiToken, WebhookEndpoint, Message, Offer, CaseEvent, Outbox)
    return {
        t.__name__: _db.session.scalar(_db.select(_db.func.count()).select_from(t)) for t in tables
    }


@pytest.mark.parametrize("decision", ["suspend", "exit"])
def test_enterprise_out_of_the_programme_posts_no_message_offer_or_setting_on_the_web(
    app, world, db, client, decision
):
    from odr.disputes import enterprises

    case = file_case(world.consumer, world.enterprise)
    assert login(client, world.owner.email).status_code == 302
    enterprises.decide(world.admin, world.enterprise, decision, "多次超期")
    db.session.commit()
    before = _row_counts()
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("merchant.")
        and "POST" in rule.methods
        and rule.endpoint != "merchant.apply"
    ]
    assert len(posts) >= 12
    for rule in posts:
        url = re.sub(r"<int:\w+>", str(case.id), rule.rule)
        response = client.post(url, data=MERCHANT_FORMS.get(rule.endpoint, {}))
        assert response.status_code == 403, (rule.endpoint, response.status_code)
    assert _row_counts() == before
    # Still signed in, and reads what it answered for.
    assert visit(client, f"/merchant/cases/{case.id}").status_code == 200


# -- 11. ids out of range -------------------------------------------------------------------

OUT_OF_RANGE = ["2147483648", "99999999999999999999999", "-1", "0"]


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if "<int" in rule.rule:
            yield rule


def test_ids_beyond_32_bits_answer_404_on_every_route_signed_in_or_not(app, world, client):
    rules = list(_int_routes(app))
    assert len(rules) > 40
    browsers = {"anonymous": app.test_client(), "admin": app.test_client()}
    browser_session(browsers["admin"], world.admin.id)
    for who, browser in browsers.items():
        for rule in rules:
            for value in OUT_OF_RANGE:
                url = re.sub(r"<int(\([^)]*\))?:\w+>", value, rule.rule)
                url = re.sub(r"<\w+>", "x", url)
                method = "GET" if "GET" in rule.methods else "POST"
                answer = browser.open(url, method=method)
                assert answer.status_code == 404, (who, method, url, answer.status_code)


def test_ids_beyond_32_bits_in_forms_and_queries_are_refused_without_500(
    app, world, db, client, api
):
    huge = "2147483648"
    assert login(client, world.consumer.email).status_code == 302
    chosen = client.post("/consumer/file", data={"enterprise_id": huge, "green_channel": "y"})
    assert chosen.status_code == 422
    report = client.get("/consumer/requests/new/report", query_string={"enterprise_id": huge})
    assert report.status_code == 200
    filed = api.post(world.consumer, "/complaints", json=complaint_data(None, enterprise_id=huge))
    assert filed.status_code == 422
    client.post("/auth/logout")
    case = file_case(world.consumer, world.enterprise)
    assert login(client, world.owner.email).status_code == 302
    assigned = client.post(
        "/merchant/inbox/assign", data={"ids": [str(case.id), huge], "assignee_id": "none"}
    )
    assert assigned.status_code in (302, 422)


# -- 11. a deactivated mediator takes no case ---------------------------------------------


def test_case_assigned_to_a_deactivated_mediator_is_refused(world, db, api):
    from odr.disputes import operations as ops
    from odr.disputes import supervision
    from odr.disputes.states import Invalid

    case = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, case)
    db.session.commit()
    supervision.set_mediator_active(world.admin, world.mediator, False)
    db.session.commit()
    base = f"/complaints/{case.id}/assign"
    refused = api.post(world.head, base, json={"mediator_id": world.mediator.id})
    assert refused.status_code == 422
    assert "mediator_id" in refused.get_json()["error"]["fields"]
    with pytest.raises(Invalid):
        ops.assign_mediator(world.head, case, mediator_id=world.mediator.id)
    db.session.rollback()
    assert api.post(world.head, base, json={"mediator_id": world.head.id}).status_code == 200


# -- 11. rate limits hold across workers and cover account creation ----------------------------


@pytest.fixture
def limited_app(app, tmp_path, monkeypatch):
    """A second app on the same database with limits on, counted in the database (the
    default storage). The limiter is one object for every app: put back after the test."""
    from odr import create_app
    from odr.config import TestConfig
    from odr.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="database://",
        SIGNUP_RATE_LIMIT="3 per hour",
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


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/consumers", {"json": {"email": "x"}}),
        ("/api/v1/enterprises", {"json": {"name": "x"}}),
        ("/merchant/apply", {"data": {"name": "x"}}),
        ("/auth/register", {"data": {"email": "x"}}),
        ("/auth/reset", {"data": {"email": "nobody@test.example"}}),
    ],
)
def test_account_creation_and_reset_requests_flooded_from_one_address_are_refused(
    world, limited_app, path, body
):
    client = limited_app.test_client()
    for attempt in range(3):
        assert client.post(path, **body).status_code != 429, attempt
    assert client.post(path, **body).status_code == 429


@pytest.mark.slow
def test_login_guessing_spread_over_two_app_servers_meets_one_limit_without_redis(
    app, world, db, tmp_path
):
    import uuid

    from tests.test_security_auth import failed_login, start_server

    prefix = f"odr-test-{uuid.uuid4().hex}"
    servers = []
    try:
        shared = [start_server(app, "database://", prefix, tmp_path / f"d{n}") for n in range(2)]
        servers = [process for process, _ in shared]
        (_, a), (_, b) = shared
        assert [failed_login(a if n % 2 else b) for n in range(10)] == [200] * 10
        assert failed_login(a) == 429 and failed_login(b) == 429
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()


# -- 11. login time says nothing about which addresses have accounts --------------------------


def test_login_timing_of_unknown_and_known_addresses_costs_one_password_hash_each(
    world, db, client, monkeypatch
):
    from werkzeug import security

    import odr.auth.models as models
    import odr.auth.operations as operations

    checked = []

    def counting(hash_, password):
        checked.append(hash_.split("$", 1)[0])
        return security.check_password_hash(hash_, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    monkeypatch.setattr(operations, "check_password_hash", counting)
    for email in ("nobody@test.example", world.consumer.email):
        checked.clear()
        assert login(client, email, "wrong-password").status_code == 200
        assert len(checked) == 1 and checked[0].startswith("scrypt"), (email, checked)


# -- 11. registration says nothing about which addresses have accounts ----------------------

SIGN_UP = {"password": "Long-enough-1", "name": "王五", "phone": "13900000000"}
SIGN_UP_FORM = {**SIGN_UP, "confirm": "Long-enough-1", "region_code": "410105"}


def _mails_to(email: str) -> list[Outbox]:
    return list(_db.session.scalars(_db.select(Outbox).where(Outbox.recipient == email)))


def _user_count() -> int:
    return _db.session.scalar(_db.select(_db.func.count(User.id)))


def _assert_told_alike(app, owner, owner_hash, new_email: str) -> None:
    """The owner of the taken address got the "someone tried" mail in their language, the
    new address its welcome in the language it registered in; both are the same kind of
    outbox row; the owner's account is as it was."""
    base = app.config["PUBLIC_BASE_URL"]
    (tried,) = _mails_to(owner.email)
    assert tried.subject == "Someone tried to create an account with your e-mail address"
    assert "Someone tried to create an account on ODR portal with this address at" in tried.body
    assert "(China time, UTC+8)" in tried.body and f"{base}/auth/login" in tried.body
    (welcome,) = _mails_to(new_email)
    assert welcome.subject == "您的账号已创建"
    assert "消费者账号已创建" in welcome.body and f"{base}/auth/login" in welcome.body
    for row in (tried, welcome):
        assert (row.channel, row.status, row.notice) == ("email", "pending", None)
        assert row.idempotency_key.startswith("account:")
    assert len(tried.idempotency_key) == len(welcome.idempotency_key)
    _db.session.refresh(owner)
    assert owner.password_hash == owner_hash and owner.check_password(PASSWORD)
    assert not owner.check_password(SIGN_UP["password"])
    assert owner.name != SIGN_UP["name"] and owner.locale == "en"


def test_registration_of_a_taken_email_answers_like_a_new_one_on_the_api(app, world, db, client):
    owner = world.consumer_en
    owner_hash, users = owner.password_hash, _user_count()
    top = db.session.scalar(db.select(db.func.max(User.id)))
    taken = client.post("/api/v1/consumers", json={**SIGN_UP, "email": "Consumer.EN@test.example"})
    new = client.post("/api/v1/consumers", json={**SIGN_UP, "email": "new.one@test.example"})
    assert taken.status_code == new.status_code == 201
    taken, new = taken.get_json(), new.get_json()
    assert set(taken) == set(new) == {"id", "email", "name", "phone", "region_code", "role"}
    assert {k: v for k, v in taken.items() if k not in ("id", "email")} == {
        k: v for k, v in new.items() if k not in ("id", "email")
    }
    assert taken["email"] == "consumer.en@test.example"
    assert type(taken["id"]) is int and type(new["id"]) is int
    assert taken["id"] > top and new["id"] > top
    if db.engine.dialect.name == "postgresql":
        # The id was taken from the sequence as an insert takes it: the next account's follows.
        assert new["id"] == taken["id"] + 1
    # One account more (the new one), none for the taken address, no sign-in either way.
    assert _user_count() == users + 1
    assert db.session.get(User, new["id"]).email == "new.one@test.example"
    assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 0
    _assert_told_alike(app, owner, owner_hash, "new.one@test.example")
    # The owner still signs in with their own password, not with the one just typed.
    for password, status in ((PASSWORD, 201), (SIGN_UP["password"], 401)):
        tokens = client.post(
            "/api/v1/auth/tokens", json={"email": owner.email, "password": password}
        )
        assert tokens.status_code == status


def _flashes(client) -> list:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_registration_of_a_taken_email_answers_like_a_new_one_on_the_web(app, world, db):
    owner = world.consumer_en
    owner_hash, users = owner.password_hash, _user_count()
    answers = {}
    for email in ("CONSUMER.en@test.example", "new.one@test.example"):
        browser = app.test_client()
        response = browser.post("/auth/register", data={**SIGN_UP_FORM, "email": email})
        said = [(kind, text.replace(email.lower(), "<email>")) for kind, text in _flashes(browser)]
        # Not signed in: the case list sends to the sign-in page, whose form has the address.
        cases = browser.get("/consumer/cases")
        form = browser.get("/auth/login").get_data(as_text=True)
        answers[email] = (
            response.status_code,
            response.headers["Location"],
            said,
            cases.status_code,
            cases.headers.get("Location", "").split("?")[0],
            f'value="{email.lower()}"' in form,
        )
    taken, new = answers.values()
    assert taken == new
    assert taken[:3] == (
        302,
        "/auth/login",
        [("success", "谢谢。我们已向 <email> 发送了一封邮件。请用该邮箱地址和您的密码登录。")],
    )
    assert taken[3:] == (302, "/auth/login", True)
    assert _user_count() == users + 1
    assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 0
    _assert_told_alike(app, owner, owner_hash, "new.one@test.example")


@pytest.fixture
def password_work(monkeypatch):
    """The password hashes made and checked from here on, as (what, method) pairs."""
    calls = []

    def hashing(password, **kw):
        calls.append(("hash", kw.get("method")))
        return security.generate_password_hash(password, **kw)

    def checking(hash_, password):
        calls.append(("check", hash_.split("$", 1)[0]))
        return security.check_password_hash(hash_, password)

    monkeypatch.setattr(account_models, "generate_password_hash", hashing)
    monkeypatch.setattr(account_models, "check_password_hash", checking)
    monkeypatch.setattr(auth_ops, "check_password_hash", checking)
    auth_ops._stand_in_hash()  # made once per process, before: not the registration's work
    return calls


@pytest.mark.parametrize("channel", ["api", "web"])
def test_registration_hashes_the_password_once_whether_the_address_is_new_or_taken(
    app, world, db, password_work, channel
):
    """The same work either way: one scrypt hash each, and no check of the owner's password
    (which a new address would not cost). Counted, not timed."""
    for email in ("consumer@test.example", "new.one@test.example"):
        password_work.clear()
        browser = app.test_client()
        if channel == "api":
            answer = browser.post("/api/v1/consumers", json={**SIGN_UP, "email": email})
            assert answer.status_code == 201
        else:
            answer = browser.post("/auth/register", data={**SIGN_UP_FORM, "email": email})
            assert answer.status_code == 302
        assert password_work == [("hash", "scrypt")], (email, password_work)


# -- 11. an enterprise application says nothing about which addresses have accounts ----------


def _application(email: str, code: str) -> dict:
    return {
        "name": "新申请商贸有限公司",
        "credit_code": code,
        "region_code": "410103",
        "address": "郑州市二七区测试路 8 号",
        "contact_phone": "0371-66668888",
        "owner": {"email": email, "password": "Long-enough-1", "name": "赵老板"},
    }


def _application_form(email: str, code: str) -> dict:
    data = _application(email, code)
    owner = data.pop("owner")
    return {
        **data,
        "owner_email": owner["email"],
        "owner_password": owner["password"],
        "owner_confirm": owner["password"],
        "owner_name": owner["name"],
        "commitment": "y",
        "licence": (io.BytesIO(LICENCE), "营业执照.pdf"),
    }


LICENCE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _enterprise_count() -> int:
    return _db.session.scalar(_db.select(_db.func.count(Enterprise.id)))


def _recorded(code: str) -> Enterprise | None:
    return _db.session.scalar(_db.select(Enterprise).where(Enterprise.credit_code == code))


def _assert_applications_told_alike(app, owner, owner_hash, taken_code, new_email, new_code):
    """Nothing was recorded for the taken address's application and its owner's account is
    as it was; that owner got the "someone applied" mail in their language, the new owner
    the application's receipt in the language applied in, as the same kind of outbox row;
    the new application was recorded pending, owned by its new account."""
    assert _recorded(taken_code) is None
    _db.session.refresh(owner)
    assert owner.password_hash == owner_hash and owner.check_password(PASSWORD)
    assert not owner.check_password("Long-enough-1")
    assert (owner.role, owner.enterprise_id, owner.staff_role) == (UserRole.CONSUMER, None, None)
    assert owner.name == "Jane Doe" and owner.locale == "en"
    base = app.config["PUBLIC_BASE_URL"]
    (tried,) = _mails_to(owner.email)
    assert tried.subject == "Someone applied for an enterprise with your e-mail address"
    assert (
        "Someone applied on ODR portal to register the enterprise 新申请商贸有限公司 "
        f"(credit code {taken_code}) with this address as the owner's at"
    ) in tried.body
    assert "(China time, UTC+8)" in tried.body and "contact the regulator" in tried.body
    assert f"{base}/auth/login" in tried.body
    (receipt,) = _mails_to(new_email)
    assert receipt.subject == "您的企业入驻申请已收到"
    assert new_code in receipt.body and "新申请商贸有限公司" in receipt.body
    assert f"{base}/auth/login" in receipt.body
    for row in (tried, receipt):
        assert (row.channel, row.status, row.notice) == ("email", "pending", None)
        assert row.idempotency_key.startswith("account:")
    assert len(tried.idempotency_key) == len(receipt.idempotency_key)
    enterprise = _recorded(new_code)
    assert enterprise.status == EnterpriseStatus.PENDING
    (new_owner,) = enterprise.staff
    assert (new_owner.email, new_owner.staff_role) == (new_email, StaffRole.OWNER)
    events = _db.session.scalars(_db.select(EnterpriseEvent.enterprise_id)).all()
    assert events.count(enterprise.id) == 1 and len(set(events)) == len(events)


def test_enterprise_application_with_a_taken_owner_email_answers_like_a_new_one_on_the_api(
    app, world, db, client
):
    owner = world.consumer_en
    owner_hash, users, enterprises = owner.password_hash, _user_count(), _enterprise_count()
    top = db.session.scalar(db.select(db.func.max(Enterprise.id)))
    taken_code, new_code = credit_code(901), credit_code(902)
    taken = client.post(
        "/api/v1/enterprises", json=_application("Consumer.EN@test.example", taken_code)
    )
    new = client.post("/api/v1/enterprises", json=_application("boss@new.example", new_code))
    assert taken.status_code == new.status_code == 201
    taken, new = taken.get_json(), new.get_json()
    assert set(taken) == set(new)
    assert {k: v for k, v in taken.items() if k not in ("id", "credit_code", "created_at")} == {
        k: v for k, v in new.items() if k not in ("id", "credit_code", "created_at")
    }
    assert taken["status"] == "pending" and taken["approved_at"] is None
    assert (taken["credit_code"], new["credit_code"]) == (taken_code, new_code)
    assert type(taken["created_at"]) is str and type(new["created_at"]) is str
    assert type(taken["id"]) is int and type(new["id"]) is int
    assert taken["id"] > top and new["id"] > top
    if db.engine.dialect.name == "postgresql":
        # The id was taken from the sequence as an insert takes it: the next one's follows.
        assert new["id"] == taken["id"] + 1
    # One enterprise and one account more (the new application's), none for the taken one.
    assert _enterprise_count() == enterprises + 1 and _user_count() == users + 1
    assert _recorded(new_code).id == new["id"]
    _assert_applications_told_alike(
        app, owner, owner_hash, taken_code, "boss@new.example", new_code
    )
    # The owner still signs in with their own password, not with the one just typed.
    for password, status in ((PASSWORD, 201), ("Long-enough-1", 401)):
        tokens = client.post(
            "/api/v1/auth/tokens", json={"email": owner.email, "password": password}
        )
        assert tokens.status_code == status


def test_enterprise_application_with_a_taken_owner_email_answers_like_a_new_one_on_the_web(
    app, world, db
):
    owner = world.consumer_en
    owner_hash, users, enterprises = owner.password_hash, _user_count(), _enterprise_count()
    uploads = Path(app.config["UPLOAD_DIR"])
    licences = set(uploads.glob("licence-*"))
    answers = {}
    for email, code in (
        ("CONSUMER.en@test.example", credit_code(903)),
        ("boss@new.example", credit_code(904)),
    ):
        browser = app.test_client()
        response = browser.post(
            "/merchant/apply",
            data=_application_form(email, code),
            content_type="multipart/form-data",
        )
        location = response.headers["Location"].replace(code, "<code>")
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        answers[email] = (
            response.status_code,
            location,
            _flashes(browser),
            page.replace(code, "<code>"),
        )
    taken, new = answers.values()
    assert taken == new
    assert taken[:3] == (302, "/merchant/apply/submitted?ref=<code>", [])
    assert 'id="application-received"' in taken[3]
    assert _enterprise_count() == enterprises + 1 and _user_count() == users + 1
    # The licence is kept for the recorded application only.
    (licence,) = set(uploads.glob("licence-*")) - licences
    assert licence.name == _recorded(credit_code(904)).licence_path
    assert licence.read_bytes() == LICENCE
    _assert_applications_told_alike(
        app, owner, owner_hash, credit_code(903), "boss@new.example", credit_code(904)
    )


@pytest.mark.parametrize("channel", ["api", "web"])
def test_enterprise_application_hashes_the_password_once_whether_the_owner_is_new_or_taken(
    app, world, db, password_work, channel
):
    for n, email in enumerate(("consumer@test.example", "boss@new.example")):
        code = credit_code(910 + n)
        password_work.clear()
        browser = app.test_client()
        if channel == "api":
            answer = browser.post("/api/v1/enterprises", json=_application(email, code))
            assert answer.status_code == 201
        else:
            answer = browser.post(
                "/merchant/apply",
                data=_application_form(email, code),
                content_type="multipart/form-data",
            )
            assert answer.status_code == 302
        assert password_work == [("hash", "scrypt")], (email, password_work)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_code", "91330100716105852F", "already registered"),
        ("credit_code", "914101000000009060", "check character"),  # 906 ends in D
    ],
)
def test_enterprise_application_with_a_taken_owner_email_still_names_its_other_mistakes(
    world, client, field, value, message
):
    """Only the taken address is answered alike: a registered credit code (public anyway,
    approved enterprises are found by it) or a wrong check character is named as before,
    and nothing is mailed for a refused application."""
    application = {**_application(world.consumer_en.email, credit_code(905)), field: value}
    answer = client.post("/api/v1/enterprises?lang=en", json=application)
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert set(fields) == {field} and message in fields[field]
    assert _mails_to(world.consumer_en.email) == []
