"""Sends the outbox: e-mail over SMTP (or to .eml files in development) and signed
webhooks, with retries and exponential backoff. Each item is claimed with a row lock
(SKIP LOCKED on PostgreSQL) so several workers never send the same item at once; every
message carries a stable id (Message-ID, X-ODR-Delivery) so a receiver can drop the
duplicate a crash between sending and recording could cause.
"""

import hashlib
import hmac
import http.client
import ipaddress
import logging
import re
import smtplib
import socket
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from odr.disputes.models import DeliveryAttempt, Outbox, WebhookEndpoint
from odr.disputes.notifications import written
from odr.extensions import db
from odr.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 30
WEBHOOK_TIMEOUT = 10


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 h."""
    return timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_email(item: Outbox) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = item.recipient
    message["Subject"] = item.subject or ""
    message["Date"] = email_date(item.created_at)
    message["Message-ID"] = f"<outbox-{item.id}@odr.local>"
    message.set_content(item.body)
    return message


def send_email(item: Outbox) -> None:
    message = build_email(item)
    if current_app.config["MAIL_BACKEND"] == "smtp":
        with smtplib.SMTP(
            current_app.config["SMTP_HOST"], current_app.config["SMTP_PORT"], timeout=20
        ) as smtp:
            smtp.send_message(message)
    else:
        directory = Path(current_app.config["MAIL_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{item.id:08d}.eml").write_bytes(bytes(message))


class BlockedAddress(Exception):
    """The webhook's host is, or resolves to, an address inside the portal's own networks."""


def forbidden_address(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), shared, reserved or multicast: an
    address a webhook must not reach unless WEBHOOK_PRIVATE_ADDRESSES allows it. Otherwise
    any enterprise could make the portal POST to its database, its admin ports or the
    cloud's metadata service (server-side request forgery)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _address_for(host: str, port: int) -> str:
    """The address to connect to: resolved once, checked, and then used for the
    connection itself, so a name cannot resolve to a public address for the check and to
    a private one for the connection."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise BlockedAddress(f"{host} does not resolve")
    if not current_app.config.get("WEBHOOK_PRIVATE_ADDRESSES", False):
        for address in addresses:
            if forbidden_address(address):
                log.warning("webhook host %s resolves to %s: refused", host, address)
                raise BlockedAddress(f"{host} resolves to an address inside a private network")
    return addresses[0]


class _Pinned:
    """A connection to the checked address; the Host header (and TLS's server name) stay
    the registered host's."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def _socket(self):
        return socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def connect(self):
        self.sock = self._socket()


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    """TLS with the certificate checked against the host name."""

    def connect(self):
        self.sock = self._context.wrap_socket(self._socket(), server_hostname=self.host)


def post(url: str, body: bytes, headers: dict) -> int:
    """POST to the registered address only: a redirect is not followed (it would turn the
    POST into a GET, or lead the portal somewhere else), so a 3xx counts as a failure.
    Answers the status code."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"not an http(s) address: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = connection_class(
        parts.hostname,
        port,
        address=_address_for(parts.hostname, port),
        timeout=WEBHOOK_TIMEOUT,
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # let the receiver finish its answer; the body is ignored
        return response.status
    finally:
        connection.close()


def send_webhook(item: Outbox) -> int:
    endpoint = db.session.get(WebhookEndpoint, item.endpoint_id)
    body = item.body.encode()
    return post(
        item.recipient,
        body,
        {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "odr-portal-webhooks/1",
            "X-ODR-Event": item.event or "",
            "X-ODR-Delivery": item.idempotency_key,
            "X-ODR-Attempt": str(item.attempts + 1),
            "X-ODR-Signature": sign(endpoint.secret, body),
        },
    )


def _claim(item_id: int) -> Outbox | None:
    now = utcnow()
    query = db.select(Outbox).where(
        Outbox.id == item_id, Outbox.status == "pending", Outbox.next_attempt_at <= now
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


# An IPv4 or IPv6 address inside an error text.
_ADDRESS = re.compile(
    r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%\w+)?)"
    r"(?![\w.:])",
    re.IGNORECASE,
)


def shown_error(exc: Exception) -> str:
    """A failed delivery as the enterprise's delivery log shows it: never the address a host
    name resolved to (that would map the portal's own network for whoever registers a name
    pointing inside it). The full text goes to the server's log."""
    text = f"{type(exc).__name__}: {exc}"
    shown = _ADDRESS.sub("[address]", text)
    if shown != text:
        log.warning("delivery failed: %s", text)
    return shown[:1000]


def deliver_one(item: Outbox) -> bool:
    started = time.monotonic()
    status_code, error = None, None
    try:
        if item.channel == "email":
            # A notification is written now, in the recipient's language; the text sent
            # is kept on the item.
            item.subject, item.body = written(item)
            send_email(item)
        else:
            endpoint = db.session.get(WebhookEndpoint, item.endpoint_id)
            if endpoint is None or not endpoint.active:
                item.status = "cancelled"
                return False
            status_code = send_webhook(item)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
    except Exception as exc:  # network down, refused, timeout, SMTP error
        error = shown_error(exc)
    item.attempts += 1
    if item.channel == "webhook":
        db.session.add(
            DeliveryAttempt(
                outbox_id=item.id,
                status_code=status_code,
                error=error,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
    if error is None:
        item.status = "sent"
        item.sent_at = utcnow()
        item.last_error = None
        return True
    item.last_error = error
    if item.attempts >= MAX_ATTEMPTS:
        item.status = "dead"
    else:
        item.next_attempt_at = utcnow() + backoff(item.attempts)
    return False


def deliver_due(limit: int = 200) -> int:
    """Send what is due; answer how many went out."""
    ids = list(
        db.session.scalars(
            db.select(Outbox.id)
            .where(Outbox.status == "pending", Outbox.next_attempt_at <= utcnow())
            .order_by(Outbox.id)
            .limit(limit)
        )
    )
    sent = 0
    for item_id in ids:
        item = _claim(item_id)
        if item is None:
            db.session.rollback()
            continue
        try:
            if deliver_one(item):
                sent += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("outbox item %s", item_id)
    return sent
