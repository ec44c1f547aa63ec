"""Enterprise integration: webhook endpoints and long-lived integration tokens, the API
twins of the owner's integration console (odr/merchant/integration.py), through the same
operations (odr.disputes.integration) and so with the same rules: staff may list the webhook
endpoints, only the owner changes them or manages tokens."""

from odr.api import bp, schemas
from odr.api.core import caller_token, payload, require_role
from odr.api.render import token_dict, webhook_dict
from odr.api.spec import NO_CONTENT, endpoint
from odr.auth.models import TokenScope, User, UserRole
from odr.disputes import integration as integration_ops
from odr.disputes.models import WebhookEndpoint
from odr.disputes.staff import require_owner
from odr.extensions import db

INTEGRATION = ("enterprise", "integration")


def _owner() -> User:
    """Checked before the body is read: an agent is told 403, whatever they sent."""
    user = require_role(UserRole.ENTERPRISE)
    require_owner(user)
    return user


@endpoint(
    bp,
    "GET",
    "/webhooks",
    scope=TokenScope.MANAGE_WEBHOOKS,
    summary="The enterprise's webhook endpoints (staff)",
    tags=INTEGRATION,
    responses={200: schemas.WebhookList},
    errors=(403,),
)
def list_webhooks():
    user = require_role(UserRole.ENTERPRISE)
    endpoints = db.session.scalars(
        db.select(WebhookEndpoint)
        .where(WebhookEndpoint.enterprise_id == user.enterprise_id)
        .order_by(WebhookEndpoint.id)
    )
    return {"items": [webhook_dict(e) for e in endpoints]}, 200


@endpoint(
    bp,
    "POST",
    "/webhooks",
    scope=TokenScope.MANAGE_WEBHOOKS,
    summary="Register a webhook endpoint (owner)",
    tags=INTEGRATION,
    body=schemas.WebhookIn,
    responses={201: schemas.WebhookCreated},
    errors=(403,),
)
def create_webhook():
    """Events: complaint.created, complaint.message, complaint.escalated, offer.accepted,
    offer.rejected, complaint.closed; each POSTed with `X-ODR-Signature: sha256=<hex>`, the
    HMAC-SHA256 of the body under the secret. Without a secret one is made; it is shown
    once."""
    owner = _owner()
    data = payload(schemas.WebhookIn)
    endpoint_, secret = integration_ops.register_webhook(owner, url=data.url, secret=data.secret)
    db.session.commit()
    return {**webhook_dict(endpoint_), "secret": secret}, 201


@endpoint(
    bp,
    "DELETE",
    "/webhooks/<int(max=2147483647):webhook_id>",
    scope=TokenScope.MANAGE_WEBHOOKS,
    summary="Stop sending to a webhook endpoint (owner)",
    tags=INTEGRATION,
    responses={204: NO_CONTENT},
    errors=(403,),
)
def delete_webhook(webhook_id: int):
    integration_ops.deactivate_webhook(_owner(), webhook_id)
    db.session.commit()
    return None, 204


@endpoint(
    bp,
    "GET",
    "/tokens",
    scope=TokenScope.MANAGE_TOKENS,
    summary="The enterprise's integration tokens (owner)",
    tags=INTEGRATION,
    responses={200: schemas.IntegrationTokenList},
    errors=(403,),
)
def list_tokens():
    tokens = integration_ops.enterprise_tokens(_owner().enterprise_id)
    return {"items": [token_dict(t) for t in tokens]}, 200


@endpoint(
    bp,
    "POST",
    "/tokens",
    scope=TokenScope.MANAGE_TOKENS,
    summary="Create a long-lived integration token (owner); shown once",
    description=(
        "`scopes` (optional) limits what the token may do: `cases:read`, `cases:act`, "
        "`webhooks:manage`, `tokens:manage`. Without it the token gets `cases:read` and "
        "`cases:act` (those the caller has). Only a sign-in token or a token with "
        "`tokens:manage` may create tokens, never with a scope the caller lacks (422); the "
        "new token is revoked with the token that created it."
    ),
    tags=INTEGRATION,
    body=schemas.TokenCreateIn,
    responses={201: schemas.IntegrationTokenCreated},
    errors=(403,),
)
def create_integration_token():
    owner = _owner()
    data = payload(schemas.TokenCreateIn)
    raw, token = integration_ops.create_integration_token(
        owner,
        name=data.name,
        scopes=[str(s) for s in data.scopes] if data.scopes is not None else None,
        minted_by=caller_token(),
    )
    db.session.commit()
    return {**token_dict(token), "token": raw}, 201


@endpoint(
    bp,
    "DELETE",
    "/tokens/<int(max=2147483647):token_id>",
    scope=TokenScope.MANAGE_TOKENS,
    summary="Revoke an integration token (owner); it stops working at once",
    tags=INTEGRATION,
    responses={204: NO_CONTENT},
    errors=(403,),
)
def revoke_token(token_id: int):
    """Also revokes every token minted with it, and what those minted. An integration
    token may revoke itself and the tokens minted below it."""
    integration_ops.revoke_token(_owner(), token_id, by=caller_token())
    db.session.commit()
    return None, 204
