"""Sends the outbox: e-mail over SMTP (or to .eml files in development) and signed
webhooks, with retries and exponential backoff. Each item is claimed with a row lock
(SKIP LOCKED on PostgreSQL) so several workers never send the same item at once; every
message carries a stable id (Message-ID, X-ODR-Delivery) so a receiver can drop the
duplicate a crash between sending and recording could cause.
"""

import hashlib
import hmac
import logging
import smtplib
import time
import urllib.error
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from pathlib import Path

from flask import current_app

from odr.disputes.models import DeliveryAttempt, Outbox, WebhookEndpoint
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook is delivered to the registered address only: a redirect is an error
    (it would otherwise turn the POST into a GET, or lead the portal somewhere else)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def send_webhook(item: Outbox) -> int:
    endpoint = db.session.get(WebhookEndpoint, item.endpoint_id)
    body = item.body.encode()
    request = urllib.request.Request(  # noqa: S310 - URL scheme checked at registration
        item.recipient,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "odr-portal-webhooks/1",
            "X-ODR-Event": item.event or "",
            "X-ODR-Delivery": item.idempotency_key,
            "X-ODR-Attempt": str(item.attempts + 1),
            "X-ODR-Signature": sign(endpoint.secret, body),
        },
    )
    with _opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
        response.read(64 * 1024)  # let the receiver finish its answer; the body is ignored
        return response.status


def _claim(item_id: int) -> Outbox | None:
    now = utcnow()
    query = db.select(Outbox).where(
        Outbox.id == item_id, Outbox.status == "pending", Outbox.next_attempt_at <= now
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def deliver_one(item: Outbox) -> bool:
    started = time.monotonic()
    status_code, error = None, None
    try:
        if item.channel == "email":
            send_email(item)
        else:
            endpoint = db.session.get(WebhookEndpoint, item.endpoint_id)
            if endpoint is None or not endpoint.active:
                item.status = "cancelled"
                return False
            status_code = send_webhook(item)
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
        exc.close()
    except Exception as exc:  # network down, refused, timeout, SMTP error
        error = f"{type(exc).__name__}: {exc}"[:1000]
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
    if error is None and (status_code is None or 200 <= status_code < 300):
        item.status = "sent"
        item.sent_at = utcnow()
        item.last_error = None
        return True
    item.last_error = error or f"HTTP {status_code}"
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
