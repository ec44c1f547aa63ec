"""Who must sign a mediation agreement is decided by the operation (operations.
signing_parties), which the mediator's workspace shows: the consumer and the listed
enterprise; for a respondent not listed on the portal, the consumer alone."""

from odr.disputes import operations as ops
from odr.disputes.states import State
from tests.factories import file_case


def _mediating(world, enterprise, **kw):
    case = file_case(world.consumer, enterprise, commit=False, green_channel=False, **kw)
    ops.accept_case(world.mediator, case)
    ops.propose_agreement(world.mediator, case, terms="退款", amount="10")
    return case


def test_a_listed_enterprise_must_sign_too(world, db):
    case = _mediating(world, world.enterprise)
    assert ops.signing_parties(case) == ("consumer", "enterprise")
    ops.sign_agreement(world.consumer, case)
    assert case.state == State.MEDIATING
    ops.sign_agreement(world.agent, case)
    assert case.state == State.MEDIATED


def test_for_an_unlisted_respondent_the_consumer_alone_signs(world, db):
    case = _mediating(world, None, respondent_name="路边小店", respondent_region_code="410105")
    assert ops.signing_parties(case) == ("consumer",)
    ops.sign_agreement(world.consumer, case)
    assert case.state == State.MEDIATED
