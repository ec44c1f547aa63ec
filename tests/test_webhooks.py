"""Webhooks delivered to a real HTTP receiver started by the test: signed, retried while
the receiver is down, delivered exactly once, logged per endpoint."""

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from odr.disputes import delivery, integration
from odr.disputes import operations as ops
from odr.disputes.models import DeliveryAttempt, Outbox, WebhookEndpoint
from odr.types import utcnow
from tests.factories import PASSWORD, file_case

SECRET = "test-secret-of-the-crm-0001"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers `fail_first` calls with 503, then 200."""

    def __init__(self, port: int = 0, fail_first: int = 0, status: int = 503):
        self.calls: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = status if len(receiver.calls) < receiver.fail_first else 200
                receiver.calls.append(
                    {
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "answer": answer,
                    }
                )
                self.send_response(answer)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/odr/events"

    @property
    def delivered(self) -> list[dict]:
        return [c for c in self.calls if c["answer"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = []

    def start(**kw):
        r = Receiver(**kw)
        started.append(r)
        return r

    yield start
    for r in started:
        r.close()


def verifies(call: dict, secret: str = SECRET) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), call["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(call["headers"]["x-odr-signature"], expected)


def make_due(db) -> None:
    """The retry time has come: move every pending item's next attempt into the past."""
    db.session.execute(
        db.update(Outbox)
        .where(Outbox.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def register(db, world, url) -> WebhookEndpoint:
    endpoint, _secret = integration.register_webhook(world.owner, url=url, secret=SECRET)
    db.session.commit()
    return endpoint


def test_receiver_down_twice_gets_the_signed_event_exactly_once(db, world, receiver):
    hook = receiver(fail_first=2, status=503)
    endpoint = register(db, world, hook.url)
    complaint = file_case(world.consumer, world.enterprise)

    delivery.deliver_due()
    assert [c["answer"] for c in hook.calls] == [503]
    item = db.session.scalar(db.select(Outbox).where(Outbox.channel == "webhook"))
    assert item.status == "pending" and item.next_attempt_at > utcnow()

    # Not due yet: nothing is sent before the backoff has passed.
    delivery.deliver_due()
    assert len(hook.calls) == 1

    for _ in range(4):
        make_due(db)
        delivery.deliver_due()
    assert [c["answer"] for c in hook.calls] == [503, 503, 200]
    assert len(hook.delivered) == 1

    # Every call is the same event, signed with the endpoint's secret.
    assert all(verifies(c) for c in hook.calls)
    assert len({c["headers"]["x-odr-delivery"] for c in hook.calls}) == 1
    assert [c["headers"]["x-odr-attempt"] for c in hook.calls] == ["1", "2", "3"]
    payload = json.loads(hook.delivered[0]["body"])
    assert payload["type"] == "complaint.created"
    assert payload["data"]["complaint"]["reference"] == complaint.reference
    assert hook.delivered[0]["headers"]["x-odr-event"] == "complaint.created"
    assert not verifies(hook.delivered[0], "another-secret-entirely")

    db.session.expire_all()
    assert (item.status, item.attempts) == ("sent", 3)
    attempts = db.session.scalars(
        db.select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == item.id)
    ).all()
    assert [a.status_code for a in attempts] == [503, 503, 200]

    # No duplicate after success, however often the worker runs.
    for _ in range(3):
        make_due(db)
        delivery.deliver_due()
    assert len(hook.calls) == 3
    assert endpoint.active


def test_receiver_refusing_connections_gets_the_event_once_it_is_up(db, world, receiver):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/odr/events"
    register(db, world, url)
    file_case(world.consumer, world.enterprise)

    delivery.deliver_due()
    make_due(db)
    delivery.deliver_due()
    item = db.session.scalar(db.select(Outbox).where(Outbox.channel == "webhook"))
    errors = db.session.scalars(
        db.select(DeliveryAttempt.error).where(DeliveryAttempt.outbox_id == item.id)
    ).all()
    assert len(errors) == 2 and all("refused" in (e or "").lower() for e in errors)
    assert item.status == "pending"

    hook = receiver(port=port)
    make_due(db)
    delivery.deliver_due()
    make_due(db)
    delivery.deliver_due()
    assert len(hook.calls) == 1 and verifies(hook.calls[0])
    db.session.expire_all()
    assert (item.status, item.attempts) == ("sent", 3)


def test_every_case_event_reaches_the_receiver_once_in_order(db, world, receiver):
    hook = receiver()
    register(db, world, hook.url)
    complaint = file_case(world.consumer, world.enterprise)
    ops.post_message(world.consumer, complaint, "请尽快处理")
    offer = ops.make_offer(world.agent, complaint, remedy="refund", amount="100", terms="退款")
    ops.reject_offer(world.consumer, complaint, offer.id, counter_proposal="要全额")
    offer = ops.make_offer(world.agent, complaint, remedy="refund", amount="1299", terms="全额退款")
    ops.accept_offer(world.consumer, complaint, offer.id)
    db.session.commit()
    other = file_case(world.consumer, world.enterprise)
    ops.decline(world.agent, other, reason="不是本店商品")
    db.session.commit()

    for _ in range(2):
        delivery.deliver_due()
        make_due(db)
    types = [json.loads(c["body"])["type"] for c in hook.calls]
    assert types == [
        "complaint.created",
        "complaint.message",
        "offer.rejected",
        "offer.accepted",
        "complaint.closed",
        "complaint.created",
        "complaint.escalated",
    ]
    assert all(verifies(c) for c in hook.calls)
    assert len({c["headers"]["x-odr-delivery"] for c in hook.calls}) == len(hook.calls)


def test_a_deactivated_endpoint_gets_nothing_more(db, world, receiver):
    hook = receiver()
    endpoint = register(db, world, hook.url)
    file_case(world.consumer, world.enterprise)
    integration.deactivate_webhook(world.owner, endpoint.id)
    db.session.commit()
    delivery.deliver_due()
    file_case(world.consumer, world.enterprise)
    delivery.deliver_due()
    assert hook.calls == []
    statuses = db.session.scalars(db.select(Outbox.status).where(Outbox.channel == "webhook")).all()
    assert statuses == ["cancelled"]  # queued before the deactivation; none after


def test_a_redirect_is_not_followed(db, world, receiver):
    hook = receiver(fail_first=99, status=302)
    register(db, world, hook.url)
    file_case(world.consumer, world.enterprise)
    delivery.deliver_due()
    assert len(hook.calls) == 1
    item = db.session.scalar(db.select(Outbox).where(Outbox.channel == "webhook"))
    assert item.status == "pending" and item.last_error == "HTTP 302"


def test_the_delivery_log_shows_each_attempt(client, db, world, receiver):
    hook = receiver(fail_first=1)
    endpoint = register(db, world, hook.url)
    file_case(world.consumer, world.enterprise)
    delivery.deliver_due()
    make_due(db)
    delivery.deliver_due()
    client.post("/auth/login", data={"email": world.owner.email, "password": PASSWORD})
    html = client.get(f"/merchant/integration/webhooks/{endpoint.id}?lang=en").get_data(
        as_text=True
    )
    assert html.count("<code>complaint.created</code>") == 2
    assert "HTTP 503" in html and "HTTP 200" in html
    assert "Delivered: 1" in html
