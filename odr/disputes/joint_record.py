"""The group record of a joint complaint (PDF): the group, and its members by case reference
only (no names), each with their outcome, beside each member's own records. Rendered on
request in the reader's language from plain dicts (records.render_pdf)."""

from flask_babel import format_datetime, get_locale

from odr.disputes import formats
from odr.disputes.joint import member_rows
from odr.disputes.models import Enterprise, JointComplaint
from odr.disputes.records import render_pdf
from odr.disputes.states import State
from odr.extensions import db
from odr.types import utcnow


def record_context(joint: JointComplaint, now=None) -> dict:
    rows = member_rows(joint.id)
    enterprise = db.session.get(Enterprise, joint.enterprise_id)
    chinese = str(get_locale() or "zh_CN").startswith("zh")
    members = []
    for row in rows:
        if row.complaint_id is None:
            continue
        state = State(row.state)
        reason = row.termination_reason or row.refusal_reason
        members.append(
            {
                "reference": row.reference,
                "state": str(state.label),
                "outcome_amount": formats.money(row.settled_amount),
                "reason": f"{reason} {reason.label}" if reason is not None else "",
                "left": row.left_at is not None,
            }
        )
    return {
        "chinese": chinese,
        "colon": "：" if chinese else ": ",
        "reference": joint.reference,
        "enterprise": enterprise.name,
        "credit_code": enterprise.credit_code,
        "subject": joint.subject,
        "issue": str(joint.issue.label),
        "state": str(joint.state.label),
        "created_at": format_datetime(joint.created_at, formats.DATETIME_FORMAT),
        "submitted_at": (
            format_datetime(joint.submitted_at, formats.DATETIME_FORMAT)
            if joint.submitted_at
            else ""
        ),
        "issued_at": format_datetime(now or utcnow(), formats.DATETIME_FORMAT),
        "members": members,
        "member_count": len(members),
    }


def group_record_pdf(joint: JointComplaint) -> bytes:
    return render_pdf("pdf/joint_record.html", record_context(joint))
