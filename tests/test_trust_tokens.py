"""Integration tokens carry scopes (cases:read, cases:act, webhooks:manage, tokens:manage).
Only a token with tokens:manage mints tokens, never with more than its own scopes, and
revoking a token revokes everything minted below it."""

import pytest

from odr.auth.models import ApiToken
from odr.types import utcnow
from tests.factories import PASSWORD, file_case


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def owner_token(api, world):
    return api.token(world.owner)


def mint(client, raw, name, scopes=None):
    body = {"name": name} if scopes is None else {"name": name, "scopes": scopes}
    return client.post("/api/v1/tokens", json=body, headers=bearer(raw))


def minted(client, raw, name, scopes=None) -> tuple[str, int]:
    answer = mint(client, raw, name, scopes)
    assert answer.status_code == 201, answer.get_json()
    data = answer.get_json()
    return data["token"], data["id"]


def works(client, raw) -> int:
    return client.get("/api/v1/complaints", headers=bearer(raw)).status_code


def test_default_scopes_for_a_caller_that_names_none(client, owner_token):
    answer = mint(client, owner_token, "crm")
    assert answer.status_code == 201
    assert answer.get_json()["scopes"] == ["cases:act", "cases:read"]
    token = answer.get_json()["token"]
    assert mint(client, token, "more").status_code == 403
    assert client.post(
        "/api/v1/webhooks", json={"url": "https://erp.example.com/h"}, headers=bearer(token)
    ).get_json()["error"]["code"] == ("insufficient_scope")


def test_integration_token_mints_tokens_that_survive_its_revocation(client, owner_token, db):
    parent, parent_id = minted(
        client, owner_token, "parent", ["tokens:manage", "cases:read", "cases:act"]
    )
    child, _ = minted(client, parent, "child", ["cases:read"])
    manager, _ = minted(client, parent, "manager", ["tokens:manage", "cases:read"])
    grandchild, _ = minted(client, manager, "grandchild", ["cases:read"])
    for raw in (parent, child, manager, grandchild):
        assert works(client, raw) == 200

    answer = client.delete(f"/api/v1/tokens/{parent_id}", headers=bearer(owner_token))
    assert answer.status_code == 204
    for raw in (parent, child, manager, grandchild):
        assert works(client, raw) == 401
    listed = client.get("/api/v1/tokens", headers=bearer(owner_token)).get_json()["items"]
    assert all(t["revoked_at"] for t in listed)
    assert works(client, owner_token) == 200


def test_minted_token_exceeds_the_minters_scopes(client, owner_token):
    manager, _ = minted(client, owner_token, "manager", ["tokens:manage", "cases:read"])
    answer = mint(client, manager, "wider", ["cases:read", "webhooks:manage"])
    assert answer.status_code == 422
    assert "webhooks:manage" in answer.get_json()["error"]["fields"]["scopes"]
    # Without a choice it gets the default, cut down to what the minter holds.
    assert mint(client, manager, "plain").get_json()["scopes"] == ["cases:read"]


def test_token_without_manage_tokens_mints_tokens(client, owner_token):
    reader, _ = minted(client, owner_token, "reader", ["cases:read", "cases:act"])
    answer = mint(client, reader, "sneaky", ["cases:read"])
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "insufficient_scope"
    assert client.get("/api/v1/tokens", headers=bearer(reader)).status_code == 403


def test_integration_token_registers_webhooks(client, owner_token):
    plain, _ = minted(client, owner_token, "plain")
    hooks = {"url": "https://erp.example.com/odr"}
    assert client.post("/api/v1/webhooks", json=hooks, headers=bearer(plain)).status_code == 403
    manager, _ = minted(client, owner_token, "hooks", ["webhooks:manage"])
    assert client.post("/api/v1/webhooks", json=hooks, headers=bearer(manager)).status_code == 201


def test_read_only_token_acts_on_cases(client, owner_token, world, db):
    case = file_case(world.consumer, world.enterprise)
    reader, _ = minted(client, owner_token, "reader", ["cases:read"])
    assert client.get(f"/api/v1/complaints/{case.id}", headers=bearer(reader)).status_code == 200
    answer = client.post(
        f"/api/v1/complaints/{case.id}/messages", json={"body": "hi"}, headers=bearer(reader)
    )
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "insufficient_scope"


def test_minted_token_revokes_its_minter(client, owner_token):
    parent, parent_id = minted(client, owner_token, "parent", ["tokens:manage", "cases:read"])
    child, child_id = minted(client, parent, "child", ["tokens:manage", "cases:read"])
    assert client.delete(f"/api/v1/tokens/{parent_id}", headers=bearer(child)).status_code == 404
    assert works(client, parent) == 200
    assert client.delete(f"/api/v1/tokens/{child_id}", headers=bearer(parent)).status_code == 204
    assert works(client, child) == 401 and works(client, parent) == 200


def test_token_minted_while_its_minter_was_revoked(client, owner_token, db):
    """A child written after the revocation walked the tree (two requests racing) still
    opens nothing: every request checks the line above the token."""
    parent, parent_id = minted(client, owner_token, "parent", ["tokens:manage", "cases:read"])
    child, child_id = minted(client, parent, "child", ["cases:read"])
    db.session.execute(
        db.update(ApiToken).where(ApiToken.id == parent_id).values(revoked_at=utcnow())
    )
    db.session.commit()
    assert db.session.get(ApiToken, child_id).revoked_at is None
    assert works(client, child) == 401


def test_web_console_creates_a_token_with_the_chosen_scopes(client, world, db):
    client.post("/auth/login", data={"email": world.owner.email, "password": PASSWORD})
    page = client.get("/merchant/integration").get_data(as_text=True)
    assert 'value="webhooks:manage"' in page and 'value="tokens:manage"' in page
    answer = client.post(
        "/merchant/integration/tokens",
        data={
            "token-name": "hooks only",
            "token-scopes-shown": "1",
            "token-scopes": ["webhooks:manage"],
        },
    )
    assert answer.status_code == 200
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "hooks only"))
    assert token.scopes == "webhooks:manage" and token.parent_id is None
    none = client.post(
        "/merchant/integration/tokens", data={"token-name": "none", "token-scopes-shown": "1"}
    )
    assert none.status_code == 422
