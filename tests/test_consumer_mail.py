"""An e-mail for a new offer lands in a real SMTP server, in each consumer's language."""

import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from odr.disputes import deadlines, delivery
from odr.disputes import operations as ops
from odr.disputes.models import Outbox
from odr.extensions import db
from odr.types import utcnow
from tests.factories import file_case


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"

    def mails_to(self, address: str):
        return [
            message_from_bytes(content, policy=policy.default)
            for rcpts, content in self.received
            if address in rcpts
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "SMTP_HOST", "SMTP_PORT")}
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    try:
        yield inbox
    finally:
        app.config.update(saved)
        controller.stop()


def has_cjk(value: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in value)


def test_new_offer_mail_reaches_each_consumer_in_their_language(world, smtp_server):
    purchase = (deadlines.local_date(utcnow()) - timedelta(days=3)).isoformat()
    zh_case = file_case(world.consumer, world.enterprise, purchase_date=purchase)
    en_case = file_case(world.consumer_en, world.enterprise, purchase_date=purchase)
    for complaint, amount in ((zh_case, "800.00"), (en_case, "650.50")):
        ops.make_offer(world.agent, complaint, remedy="refund", amount=amount, terms="退款")
    db.session.commit()

    sent = delivery.deliver_due()
    db.session.commit()
    pending = db.session.scalars(db.select(Outbox).where(Outbox.status != "sent")).all()
    assert pending == [], [(o.recipient, o.last_error) for o in pending]
    assert sent == len(smtp_server.received) and sent >= 2

    [zh_mail] = smtp_server.mails_to("consumer@test.example")
    assert zh_mail["Subject"] == f"案件 {zh_case.reference} 有新的和解方案"
    assert has_cjk(zh_mail["Subject"])
    zh_body = zh_mail.get_content()
    assert zh_body.startswith("张三，您好：")
    assert "金额：¥800.00" in zh_body
    assert f"/consumer/cases/{zh_case.id}" in zh_body
    assert zh_mail.get_content_charset() == "utf-8"

    [en_mail] = smtp_server.mails_to("consumer.en@test.example")
    assert en_mail["Subject"] == f"New offer on case {en_case.reference}"
    en_body = en_mail.get_content()
    assert en_body.startswith("Dear Jane Doe,")
    assert "Amount: ¥650.50" in en_body
    assert f"/consumer/cases/{en_case.id}" in en_body
    assert not has_cjk(en_mail["Subject"])

    # Each went out once, with a stable Message-ID a receiver can de-duplicate on.
    assert zh_mail["Message-ID"] != en_mail["Message-ID"]
    assert delivery.deliver_due() == 0
