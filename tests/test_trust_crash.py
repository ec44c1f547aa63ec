"""Crash safety: a real `flask odr worker` process is killed (SIGKILL) in the middle of a
sweep and again in the middle of the outbox; started again, it moves every due case exactly
once and every mail and webhook reaches its receiver, each under its stable id
(Message-ID, X-ODR-Delivery), so a receiver that drops repeats gets each exactly once.

Runs on the database under test (a SQLite file, or PostgreSQL) with a real SMTP server
(aiosmtpd) and a real HTTP webhook receiver, both in this process.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from odr.disputes import operations as ops
from odr.disputes.delivery import sign
from odr.disputes.events import verify_chain
from odr.disputes.models import CaseEvent, Complaint, Outbox, Record, WebhookEndpoint
from odr.disputes.states import State
from tests.factories import file_case, shanghai

ROOT = Path(__file__).resolve().parent.parent
DUE_CASES = 40  # settlement deadlines run out: escalated
DUE_MEDIATIONS = 8  # 45 working days run out: terminated (T5), each with a PDF (~0.3 s)
SECRET = "crash-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    """Counts the Message-ID of every message an SMTP client delivered completely."""

    def __init__(self, delay: float):
        self.delay = delay
        self.ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.ids.append(message["Message-ID"])
        return "250 OK"


class HookSink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.deliveries: list[str] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), HookHandler)


class HookHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: HookSink = self.server
        with server.lock:
            if self.headers.get("X-ODR-Signature") != sign(SECRET, body):
                server.bad_signatures += 1
            server.deliveries.append(self.headers.get("X-ODR-Delivery"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Worker:
    def __init__(self, app, tmp_path, smtp_port):
        self.env = {
            **os.environ,
            "ODR_CONFIG": "development",
            "ODR_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "ODR_INSTANCE_DIR": str(tmp_path / "worker"),
            "ODR_MAIL_BACKEND": "smtp",
            "ODR_SMTP_HOST": "127.0.0.1",
            "ODR_SMTP_PORT": str(smtp_port),
            "FLASK_APP": "wsgi",
            "PYTHONWARNINGS": "ignore",
            # Small batches, so the kill lands between two commits of one pass (with the
            # default 100, all 40 escalations commit at once and a busy machine finishes
            # them before the test can take its lock).
            "ODR_SWEEP_BATCH": "5",
        }
        self.log = tmp_path / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "odr", "worker", "--interval", "0.1"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class DatabaseLock:
    """Makes the worker wait: on PostgreSQL an exclusive lock on the record table (the
    sweep's terminations insert there), on SQLite the write lock of the whole file, taken
    as the portal's writers take it (BEGIN IMMEDIATE, odr.database)."""

    def __init__(self, app):
        self.url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self.postgres = self.url.get_backend_name() == "postgresql"
        self.connection = None

    def take(self):
        if self.postgres:
            import psycopg

            self.connection = psycopg.connect(
                host=self.url.host,
                port=self.url.port or 5432,
                user=self.url.username,
                password=self.url.password,
                dbname=self.url.database,
            )
            self.connection.execute("LOCK TABLE record IN EXCLUSIVE MODE")
        else:
            self.connection = sqlite3.connect(self.url.database, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")

    def release(self):
        if self.postgres:
            self.connection.rollback()
        else:
            self.connection.execute("ROLLBACK")
        self.connection.close()


def wait_until(predicate, what, timeout=120.0, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.mark.slow
def test_killed_worker_moves_every_case_and_sends_every_message_once(app, db, world, tmp_path):
    db.session.add(
        WebhookEndpoint(enterprise_id=world.enterprise.id, url="http://placeholder", secret=SECRET)
    )
    past = shanghai(2026, 9, 1, 10)  # every clock ran out long ago
    ids = [
        file_case(world.consumer, world.enterprise, now=past, commit=False).id
        for _ in range(DUE_CASES)
    ]
    mediations = []
    for _ in range(DUE_MEDIATIONS):
        case = file_case(world.consumer, world.enterprise, now=past, commit=False)
        ops.escalate(world.consumer, case, now=past + timedelta(hours=1))
        ops.accept_case(world.head, case, now=past + timedelta(days=1))
        mediations.append(case.id)
    # Filing queued mail and webhooks too; start from an empty outbox so the receivers
    # count only what the sweep causes.
    db.session.execute(db.delete(Outbox))
    db.session.commit()

    mail = MailSink(delay=0.002)
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    hooks = HookSink()
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    db.session.execute(
        db.update(WebhookEndpoint).values(url=f"http://127.0.0.1:{hooks.server_port}/hook")
    )
    db.session.commit()
    worker = Worker(app, tmp_path, smtp.port)

    def count(query) -> int:
        db.session.rollback()  # a fresh snapshot each time (and no lock held on SQLite)
        return db.session.scalar(query)

    escalated = db.select(db.func.count(CaseEvent.id)).where(CaseEvent.action == "escalate_overdue")
    expired = db.select(db.func.count(CaseEvent.id)).where(CaseEvent.action == "expire")
    pending_mail = db.select(db.func.count(Outbox.id)).where(Outbox.status != "sent")
    try:
        # 1. Kill it in the middle of the sweep. It escalates the settlements first, then
        # terminates the mediations, issuing a record for each. The test holds a lock that
        # stops it half-way, so the kill lands mid-sweep with a case in hand: on PostgreSQL
        # the record table (taken before it starts: every escalation goes through, the
        # first termination waits); on SQLite the write lock of the file, taken as soon as
        # the first case is moved (the 48 moves take far longer than that).
        hold = DatabaseLock(app)
        if hold.postgres:
            hold.take()
        worker.start()
        if hold.postgres:
            wait_until(lambda: count(escalated) == DUE_CASES, "the settlements are escalated")
        else:
            wait_until(lambda: count(escalated) > 0, "the sweep is under way", step=0.002)
            hold.take()
        time.sleep(0.5)  # the worker now waits for the lock, in the middle of a move
        worker.kill()
        hold.release()
        moved_before = count(escalated) + count(expired)
        assert 0 < moved_before < DUE_CASES + DUE_MEDIATIONS, moved_before
        assert not mail.ids, "the outbox started before the sweep ended"

        # 2. Start again; kill it in the middle of sending the outbox.
        worker.start()
        wait_until(lambda: count(expired) == DUE_MEDIATIONS, "every case is moved")
        wait_until(lambda: len(mail.ids) >= 30, "mail is going out")
        worker.kill()
        total = count(db.select(db.func.count(Outbox.id)))
        unsent = count(pending_mail)
        assert 0 < unsent < total, f"not killed mid-outbox ({unsent} of {total} unsent)"

        # 3. Start again and let it finish.
        worker.start()
        wait_until(lambda: count(pending_mail) == 0, "the outbox is empty")
        time.sleep(0.5)  # one more round: nothing more may go out
    finally:
        worker.stop()
        smtp.stop()
        hooks.shutdown()
        hooks.server_close()

    # Every due case moved exactly once, with an intact chain.
    db.session.rollback()
    for complaint_id in ids:
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.state == State.PENDING_ACCEPTANCE
        actions = db.session.scalars(
            db.select(CaseEvent.action).where(CaseEvent.complaint_id == complaint_id)
        ).all()
        assert Counter(actions) == {"file": 1, "escalate_overdue": 1}
        assert verify_chain(complaint_id) == []
    for complaint_id in mediations:
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.state == State.TERMINATED and complaint.termination_reason == "T5"
        actions = db.session.scalars(
            db.select(CaseEvent.action).where(CaseEvent.complaint_id == complaint_id)
        ).all()
        assert Counter(actions) == {"file": 1, "escalate": 1, "accept": 1, "expire": 1}
        assert verify_chain(complaint_id) == []
        records = db.session.scalars(db.select(Record).where(Record.complaint_id == complaint_id))
        assert len(records.all()) == 1

    # Every mail and webhook arrived; at most the one in flight at the kill came twice,
    # and then under the same id, so the receiver can drop it.
    items = db.session.scalars(db.select(Outbox)).all()
    assert all(item.status == "sent" for item in items)
    expected_mail = {f"<outbox-{i.id}@odr.local>" for i in items if i.channel == "email"}
    expected_hooks = {i.idempotency_key for i in items if i.channel == "webhook"}
    assert len(expected_mail) >= DUE_CASES * 5 and len(expected_hooks) >= DUE_CASES
    assert set(mail.ids) == expected_mail
    assert set(hooks.deliveries) == expected_hooks
    repeats = (len(mail.ids) - len(expected_mail)) + (len(hooks.deliveries) - len(expected_hooks))
    assert repeats <= 1, f"{repeats} repeated deliveries"
    assert hooks.bad_signatures == 0
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
