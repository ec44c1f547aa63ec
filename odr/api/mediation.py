"""The mediator's moves: accept, refuse or transfer an escalated case; propose the
agreement; suspend, resume, terminate; and the head of a body assigns the case."""

from odr.api import bp, schemas
from odr.api.complaints import CASE
from odr.api.core import caller, load_case, payload, require_part
from odr.api.render import agreement_dict, case_detail
from odr.api.spec import endpoint
from odr.disputes import operations as ops
from odr.disputes.serialize import complaint_summary
from odr.disputes.states import Move
from odr.extensions import db

MEDIATOR = ("mediator",)


def _done(complaint):
    db.session.commit()
    return case_detail(complaint, caller()), 200


@endpoint(
    bp,
    "POST",
    CASE + "/accept",
    summary="Accept the case for mediation (45 working days)",
    tags=MEDIATOR,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def accept_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.ACCEPT)
    ops.accept_case(caller(), complaint)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/refuse",
    summary="Refuse the case with a legal reason R1 to R6",
    tags=MEDIATOR,
    body=schemas.RefuseIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def refuse_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.REFUSE)
    data = payload(schemas.RefuseIn)
    ops.refuse_case(caller(), complaint, reason=str(data.reason), explanation=data.explanation)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/transfer",
    summary="Transfer the case to the competent body (its clock restarts there)",
    tags=MEDIATOR,
    body=schemas.TransferIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def transfer_case(complaint_id: int):
    """After a transfer the case belongs to the other body: the answer shows it as it was
    left, and the caller may no longer see it afterwards."""
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.TRANSFER)
    data = payload(schemas.TransferIn)
    ops.transfer_case(caller(), complaint, body_id=data.body_id, reason=data.reason)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/agreement",
    summary="Propose the mediation agreement (replaces an earlier unsigned proposal)",
    tags=MEDIATOR,
    body=schemas.AgreementIn,
    responses={201: schemas.AgreementCreated},
    idempotent=True,
    errors=(403, 409),
)
def propose_agreement(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.PROPOSE_AGREEMENT)
    data = payload(schemas.AgreementIn)
    agreement = ops.propose_agreement(
        caller(),
        complaint,
        terms=data.terms,
        amount=data.amount,
        performance_due=data.performance_due,
    )
    db.session.commit()
    return {**agreement_dict(agreement), "complaint": complaint_summary(complaint)}, 201


@endpoint(
    bp,
    "POST",
    CASE + "/terminate",
    summary="Terminate the mediation with a legal reason T1 to T7",
    tags=MEDIATOR,
    body=schemas.TerminateIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def terminate_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.TERMINATE)
    data = payload(schemas.TerminateIn)
    ops.terminate(caller(), complaint, reason=str(data.reason), explanation=data.explanation)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/suspend",
    summary="Suspend the mediation (testing, recusal); the clock pauses",
    tags=MEDIATOR,
    body=schemas.SuspendIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def suspend_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.SUSPEND)
    data = payload(schemas.SuspendIn)
    ops.suspend(caller(), complaint, reason=data.reason)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/resume",
    summary="Resume a suspended mediation; the clock runs on",
    tags=MEDIATOR,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def resume_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.RESUME)
    ops.resume(caller(), complaint)
    return _done(complaint)


@endpoint(
    bp,
    "POST",
    CASE + "/assign",
    summary="Assign the case to a mediator of the body (head of the body)",
    tags=MEDIATOR,
    body=schemas.AssignIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def assign_case(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.ASSIGN)
    data = payload(schemas.AssignIn)
    ops.assign_mediator(caller(), complaint, mediator_id=data.mediator_id)
    return _done(complaint)
