"""A report's reporter never appears in anything the reported enterprise can see: its web
pages, its API lists, its notifications, its records, its e-mails and webhooks."""

import pytest
from werkzeug.routing import Map

from odr.auth.models import StaffRole, User, UserRole
from odr.disputes import requests as service
from odr.disputes.models import Notification, Outbox, Record, WebhookEndpoint
from odr.disputes.notifications import written
from odr.extensions import db
from tests.factories import PASSWORD, file_case, shanghai, user

REPORTER_NAME = "举报人欧阳秘密"
REPORTER_EMAIL = "whistleblower@secret.example"
REPORTER_PHONE = "13912345678"
SUBJECT = "仓库无证储存烟花爆竹"
TEXT = "城东仓库夜间装卸，线人编号QX-7781。"


def login(client, who):
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": who.email, "password": PASSWORD})


def secrets_of(item) -> list[str]:
    return [REPORTER_NAME, REPORTER_EMAIL, REPORTER_PHONE, SUBJECT, "QX-7781", item.reference]


@pytest.fixture
def reported(world, app):
    """A real-name report against the enterprise, verified, extended and decided, while
    the enterprise also has an ordinary case from another consumer."""
    reporter = user(UserRole.CONSUMER, REPORTER_EMAIL, REPORTER_NAME)
    reporter.phone = REPORTER_PHONE
    db.session.add(
        WebhookEndpoint(
            enterprise_id=world.enterprise.id, url="https://hooks.example/odr", secret="s3cret"
        )
    )
    db.session.commit()
    case = file_case(world.other_consumer, world.enterprise, purchase_date="2026-10-01")
    records_before = db.session.scalar(db.select(db.func.count(Record.id)))
    client = app.test_client()
    login(client, reporter)
    response = client.post(
        "/consumer/requests/new/report",
        data={
            "enterprise_id": str(world.enterprise.id),
            "subject": SUBJECT,
            "text": TEXT,
            "real_name": "y",
        },
    )
    assert response.status_code == 302
    from odr.disputes.models import ServiceRequest

    item = db.session.scalar(db.select(ServiceRequest))
    client = app.test_client()
    login(client, world.mediator)
    client.post(f"/office/requests/{item.id}/extend", data={"reason": "需要现场核查"})
    client.post(f"/office/requests/{item.id}/decide", data={"outcome": "filed", "answer": "已立案"})
    db.session.expire_all()
    assert db.session.get(ServiceRequest, item.id).outcome == "filed"
    assert db.session.scalar(db.select(db.func.count(Record.id))) == records_before
    # The reporter was told, so the e-mails exist and the test below has something to miss.
    assert db.session.scalar(
        db.select(db.func.count(Outbox.id)).where(Outbox.recipient == REPORTER_EMAIL)
    )
    return item, case


def _get_paths(app, prefix: str, ids: dict) -> list[str]:
    """Every GET route under `prefix`, its integer arguments filled with known ids."""
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or "GET" not in rule.methods:
            continue
        values = {
            arg: ids.get(arg, ids["case_id"] if "id" in arg else "x") for arg in rule.arguments
        }
        adapter = Map([rule.empty()]).bind("localhost")
        paths.append(adapter.build(rule.endpoint, values))
    return paths


def test_the_enterprise_web_pages_never_show_the_reporter(world, app, reported):
    client = app.test_client()
    item, case = reported
    staff = db.session.scalars(
        db.select(User).where(User.enterprise_id == world.enterprise.id)
    ).all()
    assert {u.staff_role for u in staff} == {StaffRole.OWNER, StaffRole.AGENT}
    ids = {"case_id": case.id, "complaint_id": case.id, "id": case.id}
    paths = [
        *_get_paths(app, "/merchant", ids),
        "/notifications",
        "/",
        "/enterprises",
        "/warnings",
        f"/consumer/requests/{item.id}",
        f"/office/requests/{item.id}",
        f"/admin/requests/{item.id}",
        "/office/requests",
        "/admin/requests",
    ]
    assert any(p.startswith("/merchant/inbox") for p in paths)
    for member in staff:
        login(client, member)
        inbox = client.get("/merchant/inbox")
        assert inbox.status_code == 200 and case.reference in inbox.get_data(as_text=True)
        for path in paths:
            response = client.get(path)
            body = response.get_data(as_text=True)
            for secret in secrets_of(item):
                assert secret not in body, (member.email, path, secret)


def test_the_enterprise_api_never_shows_the_reporter(world, api, app, reported):
    item, case = reported
    ids = {"case_id": case.id, "complaint_id": case.id, "id": case.id}
    paths = [p.removeprefix("/api/v1") for p in _get_paths(app, "/api/v1", ids)]
    paths += ["/complaints", f"/complaints/{case.id}", f"/complaints/{case.id}/records"]
    for member in (world.owner, world.agent):
        for path in paths:
            body = api.get(member, path).get_data(as_text=True)
            for secret in secrets_of(item):
                assert secret not in body, (member.email, path, secret)


def test_no_mail_webhook_or_notification_to_the_enterprise_mentions_the_report(world, reported):
    item, _case = reported
    staff = db.session.scalars(
        db.select(User).where(User.enterprise_id == world.enterprise.id)
    ).all()
    emails = {u.email for u in staff}
    outgoing = db.session.scalars(db.select(Outbox)).all()
    to_enterprise = [o for o in outgoing if o.recipient in emails or o.channel == "webhook"]
    assert to_enterprise  # the ordinary case did reach the enterprise
    for message in to_enterprise:
        subject, body = written(message)  # the text as it will be sent
        text = f"{subject}\n{body}"
        for secret in secrets_of(item):
            assert secret not in text, (message.recipient, secret)
    notices = db.session.scalars(
        db.select(Notification).where(Notification.user_id.in_([u.id for u in staff]))
    ).all()
    for notice in notices:
        assert notice.kind not in {"request_received", "report_extended", "report_decided"}
        assert item.reference not in str(notice.params)


def test_a_report_is_not_a_case_of_the_enterprise(world, reported):
    item, case = reported
    assert not service.can_view(world.owner, item)
    assert not service.is_handler(world.owner, item)
    assert service.for_handler(world.owner) == []


def test_a_report_filed_at_a_fixed_time_has_its_clock(world):
    item = service.file_request(
        world.consumer,
        "report",
        {"enterprise_id": world.enterprise.id, "subject": "s", "text": "t"},
        now=shanghai(2026, 9, 29),
    )
    assert item.state == "open" and item.deadline_at is not None
