"""Webhooks cannot reach inside the portal's own network (server-side request forgery).

In production (WEBHOOK_PRIVATE_ADDRESSES off, WEBHOOK_REQUIRE_HTTPS on) an endpoint must be
https and on the internet: literal private addresses and local names are refused at
registration, and every name is resolved, checked and pinned at each delivery, so a name
that resolves to a private address later (DNS rebinding) is not called either.
"""

import pytest

from odr.disputes import delivery, integration
from odr.disputes.models import DeliveryAttempt, Outbox
from odr.disputes.states import Invalid
from tests.factories import file_case
from tests.test_webhooks import SECRET, Receiver


@pytest.fixture
def receiver():
    started = []

    def start(**kw):
        started.append(Receiver(**kw))
        return started[-1]

    yield start
    for r in started:
        r.close()


@pytest.fixture
def production_rules(app):
    saved = {k: app.config[k] for k in ("WEBHOOK_PRIVATE_ADDRESSES", "WEBHOOK_REQUIRE_HTTPS")}
    app.config.update(WEBHOOK_PRIVATE_ADDRESSES=False, WEBHOOK_REQUIRE_HTTPS=True)
    yield
    app.config.update(saved)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "not-an-address",
    ],
)
def test_private_addresses_are_forbidden(address):
    assert delivery.forbidden_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address):
    assert not delivery.forbidden_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://erp.example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://10.0.0.5:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:192.168.0.1]/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://db.internal/hook",
        "https://printer.local/hook",
    ],
)
def test_production_refuses_to_register_private_or_plain_http(
    db, world, production_rules, url, api
):
    with pytest.raises(Invalid) as caught:
        integration.register_webhook(world.owner, url=url, secret=SECRET)
    assert "url" in caught.value.fields
    answer = api.post(world.owner, "/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert "url" in answer.get_json()["error"]["fields"]
    db.session.rollback()


def test_production_registers_a_public_https_endpoint(db, world, production_rules, api):
    answer = api.post(world.owner, "/webhooks", json={"url": "https://erp.example.com/odr"})
    assert answer.status_code == 201


def test_a_name_resolving_to_a_private_address_is_not_called(db, world, receiver, app):
    """Registered while private addresses were allowed (or a public name that now resolves
    to a private address): the delivery resolves it, refuses, and records why; the receiver
    on 127.0.0.1 never sees a request."""
    hook = receiver()
    url = hook.url.replace("127.0.0.1", "localhost")
    integration.register_webhook(world.owner, url=url, secret=SECRET)
    db.session.commit()
    file_case(world.consumer, world.enterprise)

    app.config["WEBHOOK_PRIVATE_ADDRESSES"] = False
    try:
        delivery.deliver_due()
    finally:
        app.config["WEBHOOK_PRIVATE_ADDRESSES"] = True
    assert hook.calls == []
    item = db.session.scalar(db.select(Outbox).where(Outbox.channel == "webhook"))
    assert item.status == "pending" and "private network" in item.last_error
    attempt = db.session.scalar(db.select(DeliveryAttempt))
    assert attempt.status_code is None and attempt.error.startswith("BlockedAddress")


def test_development_delivers_to_a_local_name_through_the_pinned_address(db, world, receiver):
    """Where private addresses are allowed (development, tests), a name is resolved once
    and the connection goes to that address, with the Host header still the name."""
    hook = receiver()
    url = hook.url.replace("127.0.0.1", "localhost")
    integration.register_webhook(world.owner, url=url, secret=SECRET)
    db.session.commit()
    file_case(world.consumer, world.enterprise)

    delivery.deliver_due()
    assert len(hook.delivered) == 1
    assert hook.delivered[0]["headers"]["host"].startswith("localhost:")


def test_a_redirect_is_a_failed_delivery(db, world, receiver):
    hook = receiver(fail_first=1, status=302)
    integration.register_webhook(world.owner, url=hook.url, secret=SECRET)
    db.session.commit()
    file_case(world.consumer, world.enterprise)

    delivery.deliver_due()
    item = db.session.scalar(db.select(Outbox).where(Outbox.channel == "webhook"))
    assert item.status == "pending" and item.last_error == "HTTP 302"
    assert len(hook.calls) == 1
