"""An enterprise's integration: long-lived API tokens for its own systems and the webhook
endpoints its events are sent to. Only the owner changes them; each change is written to
the enterprise's history (odr.disputes.staff.log_change)."""

import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

from odr.auth import operations as auth_ops
from odr.auth.models import DEFAULT_SCOPES, ApiToken, TokenKind, TokenScope, User
from odr.disputes.delivery import forbidden_address
from odr.disputes.models import WebhookEndpoint
from odr.disputes.staff import log_change, require_owner
from odr.disputes.states import Forbidden, Invalid, NotFound
from odr.extensions import db
from odr.types import as_id

MIN_SECRET = 16


# -- API tokens ----------------------------------------------------------------------------


def create_integration_token(
    owner: User, *, name, scopes=None, minted_by: ApiToken | None = None
) -> tuple[str, ApiToken]:
    """A long-lived API token for the enterprise's own systems. The raw value is answered
    once; only its hash is kept.

    `scopes` (TokenScope values) limit it; without them it gets DEFAULT_SCOPES (those the
    minter has). Made with another token (`minted_by`, the API), that token must carry
    tokens:manage and cannot give more than its own scopes; the new token is its child, so
    revoking the minter revokes it."""
    require_owner(owner)
    if minted_by is not None and not minted_by.allows(TokenScope.MANAGE_TOKENS):
        raise Forbidden(_l("Only a token with the scope tokens:manage may create tokens."))
    held = minted_by.scope_set if minted_by is not None else frozenset(TokenScope)
    errors = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        errors["name"] = str(_l("Give the token a name (at most 100 characters)."))
    if scopes is None:
        wanted = DEFAULT_SCOPES & held
    else:
        try:
            wanted = frozenset(TokenScope(str(s)) for s in scopes)
        except ValueError:
            wanted = frozenset()
            errors["scopes"] = str(_l("Not a valid choice."))
        if not wanted and "scopes" not in errors:
            errors["scopes"] = str(_l("Choose at least one."))
        elif wanted - held:
            errors["scopes"] = str(
                _l(
                    "A token cannot grant more than its own scopes: %(scopes)s.",
                    scopes=", ".join(sorted(str(s) for s in wanted - held)),
                )
            )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    raw, token = auth_ops.issue_token(
        owner,
        kind=TokenKind.INTEGRATION,
        name=name,
        ttl_hours=None,
        scopes=wanted,
        parent=minted_by,
    )
    log_change(owner, "token_created", name)
    return raw, token


def enterprise_tokens(enterprise_id: int) -> list[ApiToken]:
    return db.session.scalars(
        db.select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(User.enterprise_id == enterprise_id, ApiToken.kind == TokenKind.INTEGRATION)
        .order_by(ApiToken.id.desc())
    ).all()


def revoke_token(owner: User, token_id, *, by: ApiToken | None = None) -> ApiToken:
    """Revoke an integration token of the enterprise and, with it, every token it minted
    (and what those minted). Asked with an integration token (`by`), only that token and
    the tokens minted below it may be revoked: a minted token cannot revoke its minter."""
    require_owner(owner)
    try:
        token = db.session.get(ApiToken, as_id(token_id) or 0)
    except (TypeError, ValueError):
        token = None
    if (
        token is None
        or token.kind != TokenKind.INTEGRATION
        or token.user.enterprise_id != owner.enterprise_id
        or (by is not None and by.kind == TokenKind.INTEGRATION and not _below(token, by))
    ):
        raise NotFound(_l("No such token."))
    for revoked in auth_ops.revoke_with_descendants(token):
        log_change(owner, "token_revoked", revoked.name)
    db.session.flush()
    return token


def _below(token: ApiToken, ancestor: ApiToken) -> bool:
    """`token` is `ancestor` or was minted, directly or not, by it."""
    seen: set[int] = set()
    current: ApiToken | None = token
    while current is not None and current.id not in seen:
        if current.id == ancestor.id:
            return True
        seen.add(current.id)
        current = db.session.get(ApiToken, current.parent_id) if current.parent_id else None
    return False


# -- webhooks ------------------------------------------------------------------------------


def url_error(url: str) -> str | None:
    if not url:
        return str(_l("Enter the address that receives the events."))
    if len(url) > 500:
        return str(_l("At most %(n)s characters.", n=500))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return str(_l("Not a valid web address."))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return str(_l("Enter a web address starting with http:// or https://."))
    if parts.username or parts.password:
        return str(_l("The address may not contain a user name or password."))
    if current_app.config.get("WEBHOOK_REQUIRE_HTTPS") and parts.scheme != "https":
        return str(_l("Enter an address starting with https://."))
    if not current_app.config.get("WEBHOOK_PRIVATE_ADDRESSES") and _private_host(parts.hostname):
        return str(_l("The address must be reachable on the internet, not a private network."))
    return None


def _private_host(host: str) -> bool:
    """A literal address or a local name that points inside the portal's own networks (the
    name of any other host is checked when it is resolved, at each delivery)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return forbidden_address(host)


def register_webhook(owner: User, *, url, secret=None) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the enterprise's events. Without a secret, one is made.
    Answers the endpoint and its secret (to show once)."""
    require_owner(owner)
    url = (url or "").strip() if isinstance(url, str) else ""
    secret = (secret or "").strip() if isinstance(secret, str) else ""
    errors = {}
    problem = url_error(url)
    if problem:
        errors["url"] = problem
    if secret and not (MIN_SECRET <= len(secret) <= 100):
        errors["secret"] = str(
            _l(
                "Between %(min)s and %(max)s characters, or leave it empty.",
                min=MIN_SECRET,
                max=100,
            )
        )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(enterprise_id=owner.enterprise_id, url=url, secret=secret)
    db.session.add(endpoint)
    db.session.flush()
    log_change(owner, "webhook_added", url)
    return endpoint, secret


def webhook_endpoint(actor: User, endpoint_id) -> WebhookEndpoint:
    try:
        endpoint = db.session.get(WebhookEndpoint, as_id(endpoint_id) or 0)
    except (TypeError, ValueError):
        endpoint = None
    if endpoint is None or endpoint.enterprise_id != actor.enterprise_id:
        raise NotFound(_l("No such endpoint."))
    return endpoint


def deactivate_webhook(owner: User, endpoint_id) -> WebhookEndpoint:
    """Stop sending to an endpoint; what is still queued for it is cancelled by the worker."""
    require_owner(owner)
    endpoint = webhook_endpoint(owner, endpoint_id)
    if endpoint.active:
        endpoint.active = False
        log_change(owner, "webhook_deactivated", endpoint.url)
    db.session.flush()
    return endpoint
