"""The webhook delivery log is the enterprise's to read: it says a delivery was refused or
failed, never which internal address the registered name resolved to (a map of the
portal's own network for anyone who can register a name)."""

import pytest

from odr.disputes import delivery, integration
from odr.disputes.models import DeliveryAttempt
from tests.factories import PASSWORD, file_case
from tests.test_webhooks import SECRET, Receiver


@pytest.fixture
def receiver():
    started = []

    def start(**kw):
        hook = Receiver(**kw)
        started.append(hook)
        return hook

    yield start
    for hook in started:
        hook.close()


def test_webhook_log_shows_the_internal_address_a_name_resolved_to(
    app, client, db, world, receiver
):
    hook = receiver()
    url = hook.url.replace("127.0.0.1", "localhost")
    endpoint, _secret = integration.register_webhook(world.owner, url=url, secret=SECRET)
    db.session.commit()
    file_case(world.consumer, world.enterprise)
    app.config["WEBHOOK_PRIVATE_ADDRESSES"] = False
    try:
        delivery.deliver_due()
    finally:
        app.config["WEBHOOK_PRIVATE_ADDRESSES"] = True
    attempt = db.session.scalar(db.select(DeliveryAttempt))
    assert "private network" in attempt.error
    assert "127.0.0.1" not in attempt.error and "::1" not in attempt.error

    client.post("/auth/login", data={"email": world.owner.email, "password": PASSWORD})
    page = client.get(f"/merchant/integration/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "private network" in page
    assert "127.0.0.1" not in page and "::1" not in page


@pytest.mark.parametrize(
    "message",
    [
        "certificate verify failed: IP address mismatch, certificate is not valid for '10.2.3.4'",
        "[Errno 111] Connect call failed ('192.168.0.7', 443)",
        "[Errno 101] Network is unreachable: fd00::1%eth0",
    ],
)
def test_webhook_log_shows_an_address_inside_a_network_error(message):
    shown = delivery.shown_error(OSError(message))
    assert shown.startswith("OSError: ")
    for address in ("10.2.3.4", "192.168.0.7", "fd00::1"):
        assert address not in shown
    assert "[address]" in shown
