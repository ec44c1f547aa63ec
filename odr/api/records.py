"""PDF records of a case, their public verification, and the public enterprise scoreboard."""

import hmac
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr import downloads, viewcache
from odr.api import bp, schemas
from odr.api.complaints import CASE
from odr.api.core import caller, load_case, query
from odr.api.render import record_dict
from odr.api.spec import PDF, endpoint, to_json
from odr.disputes import records
from odr.disputes.models import Complaint, Record
from odr.disputes.permissions import role_in_case
from odr.disputes.records import render_pending
from odr.disputes.serialize import iso
from odr.disputes.states import NotFound, Role
from odr.extensions import db

CODE = re.compile(r"^[A-Z0-9]{1,32}$")
CODE_SCHEMA = {"type": "string", "pattern": "^[A-Z0-9]{1,32}$"}
# Issued records are for the parties and the mediator of the case.
RECORD_READERS = {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR}


def _readable(complaint: Complaint) -> None:
    if role_in_case(caller(), complaint) not in RECORD_READERS:
        raise NotFound(_l("No such record."))


@endpoint(
    bp,
    "GET",
    CASE + "/records",
    summary="The PDF records issued for a case (parties and mediator)",
    tags=("consumer", "enterprise", "mediator"),
    responses={200: schemas.RecordList},
)
def list_records(complaint_id: int):
    complaint = load_case(complaint_id)
    _readable(complaint)
    records = db.session.scalars(
        db.select(Record).where(Record.complaint_id == complaint.id).order_by(Record.id)
    ).all()
    # A record is listed with its digest: one issued moments ago is rendered now (the
    # worker renders it otherwise).
    if any(not r.ready for r in records):
        for r in records:
            render_pending(r)
        db.session.commit()
    return {"items": [record_dict(r) for r in records]}, 200


@endpoint(
    bp,
    "GET",
    "/records/<code>.pdf",
    summary="One record's PDF bytes (parties and mediator of the case)",
    tags=("consumer", "enterprise", "mediator"),
    responses={200: PDF},
    path_schemas={"code": CODE_SCHEMA},
)
def record_pdf(code: str):
    record = (
        db.session.scalar(db.select(Record).where(Record.code == code))
        if CODE.match(code)
        else None
    )
    if record is None:
        raise NotFound(_l("No such record."))
    _readable(record.complaint)
    return downloads.send_record(record)


@endpoint(
    bp,
    "GET",
    "/verify/<code>",
    summary="Verify a record by its code (public; no personal data)",
    tags=("public",),
    auth=False,
    query=schemas.VerifyQuery,
    responses={200: schemas.VerifyOut},
    path_schemas={"code": CODE_SCHEMA},
)
def verify_record(code: str):
    """With `?sha256=<hex>` of the PDF held, `valid` is false when it does not match the
    issued record. An unknown code answers 404 with `valid: false`."""
    args = query(schemas.VerifyQuery)
    code = code.strip().upper()
    record = (
        db.session.scalar(db.select(Record).where(Record.code == code))
        if CODE.match(code)
        else None
    )
    if record is not None and not record.ready:
        render_pending(record)
        db.session.commit()
    if record is None:
        return to_json(
            {
                "valid": False,
                "error": {"code": "not_found", "message": _("No record has this code.")},
            },
            404,
        )
    # The row must be the one sealed at issue: a SHA-256 rewritten for a forgery is not.
    valid = records.genuine(record)
    if valid and args.sha256 is not None:
        valid = hmac.compare_digest(
            args.sha256.strip().lower().encode("utf-8", "replace"), record.sha256.encode()
        )
    return {
        "valid": valid,
        "kind": str(record.kind),
        "reference": record.complaint.reference,
        "issued_at": iso(record.issued_at),
        "sha256": record.sha256,
    }, 200


@endpoint(
    bp,
    "GET",
    "/stats/enterprises",
    summary="Public scoreboard: cases, settlement rate, on-time rate, average days",
    tags=("public",),
    auth=False,
    responses={200: schemas.Scoreboard},
)
def enterprise_stats():
    def number(value):
        return float(value) if value is not None else None

    items = [
        {
            "enterprise_id": int(row["enterprise_id"]),
            "name": row["name"],
            "credit_code": row["credit_code"],
            "cases": int(row["cases"]),
            "settled": int(row["settled"]),
            "settlement_rate": number(row.get("settlement_rate")),
            "on_time_rate": number(row.get("on_time_rate")),
            "average_days": number(row.get("average_days")),
            "status": row["status"],
            "breaches": int(row.get("breaches") or 0),
            "satisfaction": number(row.get("satisfaction")),
        }
        for row in viewcache.scoreboard()
    ]
    return {"items": items}, 200
