"""The domain announces what changed through one signal (odr.disputes.signals): after the
commit of a transaction that moved cases, with the cases and the parties whose lists show
them, before and after the move; nothing for a transaction rolled back."""

import pytest

from odr.disputes import operations as ops
from odr.disputes.signals import cases_changed
from odr.disputes.states import Invalid
from odr.extensions import db
from tests.factories import file_case


@pytest.fixture
def received():
    got = []

    def receive(changes):
        got.append(changes)

    cases_changed.connect(receive)
    yield got
    cases_changed.disconnect(receive)


def test_a_filing_announces_its_case_consumer_and_enterprise_after_the_commit(world, received):
    case = file_case(world.consumer, world.enterprise, commit=False)
    assert received == []  # not before the commit
    db.session.commit()
    assert len(received) == 1
    changes = received[0]
    assert changes.cases == {case.id}
    assert changes.consumers == {world.consumer.id}
    assert changes.enterprises == {world.enterprise.id}
    assert changes.bodies == set()


def test_an_escalation_announces_the_body_the_case_goes_to(world, received):
    case = file_case(world.consumer, world.enterprise)
    received.clear()
    ops.escalate(world.consumer, case)
    db.session.commit()
    assert [c.cases for c in received] == [{case.id}]
    assert case.body_id is not None and case.body_id in received[0].bodies


def test_a_transfer_announces_the_body_left_and_the_body_reached(world, received):
    case = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, case)
    db.session.commit()
    left = case.body_id
    other = next(b for b in (world.city_body, world.jinshui) if b.id != left)
    received.clear()
    ops.transfer_case(world.head, case, body_id=other.id, reason="管辖")
    db.session.commit()
    assert len(received) == 1
    assert {left, other.id} <= received[0].bodies


def test_a_rolled_back_transaction_announces_nothing(world, received):
    case = file_case(world.consumer, world.enterprise)
    received.clear()
    ops.escalate(world.consumer, case)
    db.session.rollback()
    db.session.commit()
    assert received == []
    with pytest.raises(Invalid):
        ops.make_offer(world.agent, case, remedy="refund", amount="-5", terms="")
    db.session.rollback()
    assert received == []
