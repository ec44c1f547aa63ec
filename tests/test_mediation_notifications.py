"""Every step of acceptance and mediation tells the parties and the mediators, in the
portal and by e-mail, in each recipient's language."""

from datetime import timedelta

from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.models import Notification, Outbox
from odr.disputes.notifications import written
from odr.disputes.sessions import schedule_session
from odr.disputes.sweep import sweep
from odr.extensions import db
from odr.types import utcnow
from tests.factories import file_case, shanghai


def told(user, complaint, kind) -> bool:
    """An in-app notice and an e-mail in the outbox, both for this step."""
    notice = db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == user.id,
            Notification.complaint_id == complaint.id,
            Notification.kind == kind,
        )
    )
    mail = db.session.scalar(
        db.select(Outbox).where(
            Outbox.channel == "email",
            Outbox.recipient == user.email,
            Outbox.idempotency_key.like(f"mail:{complaint.id}:{kind}:%"),
        )
    )
    return notice is not None and mail is not None


def test_escalation_and_overdue_acceptance_reach_the_offices(world):
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    sweep(shanghai(2026, 10, 28))  # 11 working days later: escalated
    for user in (world.consumer, world.owner, world.mediator, world.head):
        assert told(user, complaint, "escalated"), user
    sweep(shanghai(2026, 11, 10))  # 7 more working days: overdue, raised to the city
    for user in (world.mediator, world.head, world.city_mediator):
        assert told(user, complaint, "overdue"), user
    assert not told(world.other_mediator, complaint, "overdue")


def test_each_mediation_step_is_told_to_whom_it_concerns(world):
    complaint = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.assign_mediator(world.head, complaint, mediator_id=world.mediator.id)
    assert told(world.mediator, complaint, "assigned")
    ops.accept_case(world.mediator, complaint)
    for user in (world.consumer, world.owner):
        assert told(user, complaint, "accepted")
    schedule_session(
        world.mediator,
        complaint,
        day=deadlines.local_date(utcnow()) + timedelta(days=2),
        at=shanghai(2026, 1, 1, 15).timetz(),
        mode="online",
        place="腾讯会议 123-456",
    )
    for user in (world.consumer, world.owner):
        assert told(user, complaint, "session_scheduled")
    ops.suspend(world.mediator, complaint, reason="送检")
    ops.resume(world.mediator, complaint)
    for user in (world.consumer, world.owner):
        assert told(user, complaint, "suspended") and told(user, complaint, "resumed")
    ops.post_message(world.mediator, complaint, "请确认方案。")
    ops.post_message(world.mediator, complaint, "内部记录", internal=True)
    for user in (world.consumer, world.owner):
        assert told(user, complaint, "message")
    assert (
        db.session.scalar(
            db.select(db.func.count(Notification.id)).where(
                Notification.user_id == world.consumer.id, Notification.kind == "message"
            )
        )
        == 1
    )  # the private note told nobody
    ops.propose_agreement(world.mediator, complaint, terms="退款", amount="100")
    for user in (world.consumer, world.owner):
        assert told(user, complaint, "agreement_proposed")
    ops.sign_agreement(world.consumer, complaint)
    for user in (world.owner, world.mediator):
        assert told(user, complaint, "agreement_signed")
    ops.sign_agreement(world.owner, complaint)
    for user in (world.consumer, world.mediator):
        assert told(user, complaint, "mediated")
    for user in (world.consumer, world.owner, world.mediator):
        assert told(user, complaint, "record_issued")


def test_refusal_transfer_and_termination_are_told(world):
    # R4 fits only a purchase more than 3 years before the complaint.
    refused = file_case(
        world.consumer, world.enterprise, green_channel=False, purchase_date="2022-01-05"
    )
    ops.refuse_case(world.mediator, refused, reason="R4", explanation="超过三年")
    for user in (world.consumer, world.owner):
        assert told(user, refused, "refused") and told(user, refused, "record_issued")

    moved = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.transfer_case(world.mediator, moved, body_id=world.laocheng.id, reason="管辖")
    for user in (world.consumer, world.owner, world.other_mediator):
        assert told(user, moved, "transferred")

    ended = file_case(
        world.consumer,
        world.enterprise,
        green_channel=False,
        now=shanghai(2026, 8, 3),
        purchase_date="2026-07-01",
    )
    ops.accept_case(world.mediator, ended, now=shanghai(2026, 8, 4))
    db.session.commit()
    sweep(shanghai(2026, 10, 30))
    for user in (world.consumer, world.owner, world.mediator):
        assert told(user, ended, "terminated") and told(user, ended, "record_issued")


def test_mail_is_written_in_each_recipients_language(world):
    complaint = file_case(world.consumer_en, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, complaint)
    ops.propose_agreement(world.mediator, complaint, terms="Refund", amount="10")
    english = db.session.scalar(
        db.select(Outbox).where(
            Outbox.recipient == world.consumer_en.email,
            Outbox.idempotency_key.like(f"mail:{complaint.id}:agreement_proposed:%"),
        )
    )
    subject, _ = written(english)  # the text the worker will send
    assert "agreement was proposed" in subject
