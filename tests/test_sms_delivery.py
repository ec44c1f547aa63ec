"""Text messages leave through the outbox: to files in development, to the SMS gateway over
HTTP in production, retried with backoff while the gateway fails."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from odr.disputes.delivery import deliver_due
from odr.disputes.models import Outbox
from odr.disputes.notifications import queue_sms
from odr.types import utcnow


@pytest.fixture
def gateway():
    """An SMS gateway on this machine: answers the statuses queued in `answers` (200 once
    they run out) and keeps what it was sent."""
    seen, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers), json.loads(body)))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, seen, answers
    server.shutdown()
    server.server_close()


def test_file_backend_writes_one_file_per_message(app, db, tmp_path):
    app.config["SMS_DIR"] = str(tmp_path / "sms")
    queue_sms("13912345678", "【12315 ODR】测试 http://x/1", key="t1")
    db.session.commit()
    assert deliver_due() == 1
    (text,) = [p.read_text(encoding="utf-8") for p in Path(tmp_path / "sms").glob("*.txt")]
    assert "To: 13912345678" in text and "测试 http://x/1" in text


def test_gateway_gets_json_and_a_failure_is_retried_with_backoff(app, db, gateway):
    server, seen, answers = gateway
    app.config.update(
        SMS_BACKEND="http",
        SMS_GATEWAY_URL=f"http://127.0.0.1:{server.server_port}/send",
        SMS_GATEWAY_TOKEN="gw-secret",
    )
    try:
        answers.append(503)
        queue_sms("13912345678", "【12315 ODR】您的投诉已登记", key="t2")
        db.session.commit()
        assert deliver_due() == 0
        item = db.session.scalar(db.select(Outbox))
        assert item.status == "pending" and item.attempts == 1
        assert item.last_error == "GatewayError: HTTP 503"
        assert item.next_attempt_at > utcnow() + timedelta(seconds=20)
        assert deliver_due() == 0  # not due yet: nothing is sent
        item.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert deliver_due() == 1
        db.session.refresh(item)
        assert item.status == "sent" and item.attempts == 2
        headers, body = seen[-1]
        assert headers["Authorization"] == "Bearer gw-secret"
        assert body == {
            "to": "13912345678",
            "text": "【12315 ODR】您的投诉已登记",
            "sender": "12315",
            "id": f"outbox-{item.id}",
        }
        assert len(seen) == 2
    finally:
        app.config.update(SMS_BACKEND="file", SMS_GATEWAY_URL="", SMS_GATEWAY_TOKEN="")


def test_a_gateway_that_is_down_is_an_error_to_retry_not_a_crash(app, db):
    app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL="http://127.0.0.1:9/send")
    try:
        queue_sms("13912345678", "x", key="t3")
        db.session.commit()
        assert deliver_due() == 0
        item = db.session.scalar(db.select(Outbox))
        assert item.status == "pending" and item.attempts == 1 and item.last_error
    finally:
        app.config.update(SMS_BACKEND="file", SMS_GATEWAY_URL="")
