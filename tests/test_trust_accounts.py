"""Issue 16, the account, session and input half: each test is one attack that worked
before, named after it, and shows it fails now (on SQLite and PostgreSQL).

1. an enterprise that has only applied is found, named and reads the consumer;
2. a forged Host header puts the attacker's host into a mailed link;
3. `next` leaves the site, or answers 500;
4. sessions and tokens outlive logout, password change and reset;
5. a suspended enterprise acts on the web;
11. login time, registration, ids out of range, rate limits, deactivated mediators."""

import re

import pytest

from odr.auth.models import StaffRole, UserRole
from odr.disputes.models import Complaint, Draft, Outbox
from tests.factories import PASSWORD, complaint_data, file_case, user


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
