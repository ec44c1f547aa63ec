"""Staff intake: hotline seats and service stations file complaints for callers, log the
consultations they answer, pass records to another office's seats and see their workload."""

from odr.api import bp, schemas
from odr.api.complaints import CASE
from odr.api.core import decode_cursor, load_case, page, payload, query, require_role
from odr.api.render import case_detail, consultation_dict, filed_case_detail
from odr.api.spec import endpoint
from odr.auth.models import UserRole
from odr.disputes import intake
from odr.disputes.intake import consultations_page, workload
from odr.extensions import db

INTAKE = ("intake",)
CONSULTATION = "/intake/consultations/<int(max=2147483647):consultation_id>"


@endpoint(
    bp,
    "POST",
    "/intake/complaints",
    summary="File a complaint for a caller or visitor (intake)",
    tags=INTAKE,
    body=schemas.IntakeComplaintIn,
    responses={201: schemas.CaseDetail},
    errors=(403,),
    idempotent=True,
)
def intake_complaint():
    """The complaint's fields as a consumer files them, with `caller` {name, phone, address,
    email?, locale?}, `channel` (phone, walk_in or letter) and the `note` of the call. The
    case is routed like any other (enterprise or competent body) and carries `channel` and
    `taken_by`. The caller is sent a link by SMS (and by e-mail when an address is given) to
    follow and answer the case online; claiming it creates their account or adds the case to
    the one they have."""
    user = require_role(UserRole.INTAKE)
    data = payload(schemas.IntakeComplaintIn).model_dump(mode="json", exclude_unset=True)
    complaint, event = intake.file_for_caller(user, data)
    answer = filed_case_detail(complaint, user, event)
    db.session.commit()
    return answer, 201


@endpoint(
    bp,
    "POST",
    CASE + "/intake-transfer",
    summary="Pass a complaint taken by intake to another office's hotline seats (intake)",
    tags=INTAKE,
    body=schemas.IntakeTransferIn,
    responses={200: schemas.CaseDetail},
    errors=(403,),
)
def intake_transfer_complaint(complaint_id: int):
    """The other office's seats then hold the case; the one who took it still sees it. The
    case's course (enterprise, mediation) does not change."""
    user = require_role(UserRole.INTAKE)
    complaint = load_case(complaint_id, lock=True)
    data = payload(schemas.IntakeTransferIn)
    intake.transfer_complaint(user, complaint, body_id=data.body_id, note=data.note)
    db.session.commit()
    return case_detail(complaint, user), 200


@endpoint(
    bp,
    "POST",
    "/intake/consultations",
    summary="Log an answered consultation (intake)",
    tags=INTAKE,
    body=schemas.ConsultationIn,
    responses={201: schemas.ConsultationOut},
    errors=(403,),
    idempotent=True,
)
def log_consultation():
    """`caller` {name, phone?, address?}, the `question`, the `answer` given, its `topic`
    (an issue category), the `channel` (default phone) and optionally the `enterprise_id`
    it was about."""
    user = require_role(UserRole.INTAKE)
    data = payload(schemas.ConsultationIn).model_dump(mode="json", exclude_unset=True)
    consultation = intake.log_consultation(user, data)
    db.session.commit()
    return consultation_dict(consultation), 201


@endpoint(
    bp,
    "GET",
    "/intake/consultations",
    summary="The consultations the caller took or their office (station) holds, newest first",
    tags=(*INTAKE, "admin"),
    query=schemas.PageQuery,
    responses={200: schemas.ConsultationPage},
    errors=(403,),
)
def list_consultations():
    user = require_role(UserRole.INTAKE, UserRole.ADMIN)
    args = query(schemas.PageQuery)
    rows = consultations_page(user, after=decode_cursor(args.cursor), size=args.limit + 1)
    rows, cursor = page(rows, args.limit)
    return {"items": [consultation_dict(c) for c in rows], "next_cursor": cursor}, 200


@endpoint(
    bp,
    "GET",
    CONSULTATION,
    summary="One consultation with its transfers",
    tags=(*INTAKE, "admin"),
    responses={200: schemas.ConsultationOut},
    errors=(403,),
)
def show_consultation(consultation_id: int):
    user = require_role(UserRole.INTAKE, UserRole.ADMIN)
    return consultation_dict(intake.load_consultation(user, consultation_id)), 200


@endpoint(
    bp,
    "POST",
    CONSULTATION + "/transfer",
    summary="Pass a consultation to another office's hotline seats (intake)",
    tags=INTAKE,
    body=schemas.IntakeTransferIn,
    responses={200: schemas.ConsultationOut},
    errors=(403,),
)
def transfer_consultation(consultation_id: int):
    user = require_role(UserRole.INTAKE)
    consultation = intake.load_consultation(user, consultation_id)
    data = payload(schemas.IntakeTransferIn)
    intake.transfer_consultation(user, consultation, body_id=data.body_id, note=data.note)
    db.session.commit()
    return consultation_dict(consultation), 200


@endpoint(
    bp,
    "GET",
    "/intake/workload",
    summary="The caller's own workload: what they filed and what their office holds",
    tags=INTAKE,
    responses={200: schemas.WorkloadOut},
    errors=(403,),
)
def intake_workload():
    user = require_role(UserRole.INTAKE)
    return workload(user), 200
