"""A world for the access matrix and the CSRF proof: factories.build_world() plus one case
of every kind of object a route can name (a case in mediation with an offer, evidence, a
record, messages and a private note; a draft with a file; a request; warnings; tokens;
a webhook; invitation and reset links), and the users the matrix calls as.

Everything is built through the portal's own operations, so it is a real world."""

from datetime import time, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import current_app

from odr.auth import operations as auth_ops
from odr.auth.models import LinkPurpose, StaffRole, TokenKind, UserRole
from odr.disputes import deadlines, drafts, joint, records, sessions, supervision
from odr.disputes import operations as ops
from odr.disputes import requests as service
from odr.disputes.evidence import store_evidence
from odr.disputes.models import Notification, WebhookEndpoint
from odr.extensions import db
from odr.types import utcnow
from tests import factories

# The party consumer's contact details: unique strings no other user of the world shares,
# so a page that shows them to anyone else is a leak.
SECRET_PHONE = "13977001234"
SECRET_NAME = "欧阳保密"
SECRET_ADDRESS = "郑州市金水区保密巷77号"
# A mediator's private note: never shown to a party.
SECRET_NOTE = "INTERNAL-NOTE-7f3a"
# What the case and the report say, and the webhook's secret (shown once, at creation).
SECRET_FACTS = "FACTS-OF-THE-CASE-5b1c"
SECRET_REQUEST = "REPORT-TEXT-9d2e"
SECRET_WEBHOOK = "whsec_ACCESS-MATRIX-0c4f8a1e"
# What the other consumer's own case says (so the party consumer never sees it either).
OTHER_PHONE = "13977005678"
OTHER_NAME = "司马另外"

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)

# The roles of the matrix; the owner of the respondent and the head of the competent office
# are two more columns (owner-only and head-only pages).
ROLES = (
    "anonymous",
    "party_consumer",
    "other_consumer",
    "respondent_agent",
    "other_agent",
    "competent_mediator",
    "other_mediator",
    "admin",
    "respondent_owner",
    "competent_head",
)


def _file(io_bytes: bytes):
    import io

    return io.BytesIO(io_bytes)


def build() -> SimpleNamespace:
    """Build the world (commits). Answers a namespace with the users by matrix role and
    every id a route may need."""
    w = factories.build_world()
    consumer, other = w.consumer, w.other_consumer
    consumer.name, consumer.phone, consumer.address = SECRET_NAME, SECRET_PHONE, SECRET_ADDRESS
    other.name, other.phone = OTHER_NAME, OTHER_PHONE
    db.session.flush()

    # The case: filed to the enterprise, an offer, messages both ways, evidence of both
    # parties, escalated, accepted at the Jinshui office by its mediator, a message and a
    # private note of the mediator, a proposed agreement, and the case file issued.
    case = factories.file_case(
        consumer, w.enterprise, commit=False, facts=f"拉链坏了。{SECRET_FACTS}"
    )
    ops.post_message(consumer, case, f"消费者的留言 {SECRET_FACTS}")
    offer = ops.make_offer(
        w.agent, case, remedy="refund", amount="500.00", terms="退一半", performance_due=None
    )
    ops.post_message(w.agent, case, "企业的答复")
    evidence = store_evidence(consumer, _file(PNG), "receipt.png", complaint=case)
    merchant_evidence = store_evidence(w.agent, _file(PNG), "invoice.png", complaint=case)
    ops.escalate(consumer, case)
    ops.accept_case(w.mediator, case)
    ops.post_message(w.mediator, case, "调解员的留言")
    ops.post_message(w.mediator, case, SECRET_NOTE, internal=True)
    ops.propose_agreement(w.mediator, case, terms="退款500元", amount="500.00")
    record = records.issue_case_file(w.mediator, case)
    records.render_pending(record)  # as the worker does after the commit
    session = sessions.schedule_session(
        w.mediator,
        case,
        day=deadlines.local_date(utcnow()) + timedelta(days=10),
        at=time(10),
        mode="in_person",
        place="金水区市场监管局调解室",
    )
    notice = db.session.scalar(
        db.select(Notification)
        .where(Notification.user_id == consumer.id, Notification.complaint_id == case.id)
        .order_by(Notification.id)
        .limit(1)
    )

    # The same consumer's cases in the other states a move starts from: direct settlement
    # with an open offer; awaiting acceptance at Jinshui; settled (with its record); suspended.
    negotiating = factories.file_case(consumer, w.enterprise, commit=False)
    open_offer = ops.make_offer(
        w.agent, negotiating, remedy="refund", amount="800.00", terms="退款"
    )
    pending = factories.file_case(consumer, w.enterprise, commit=False, green_channel=False)
    settled = factories.file_case(consumer, w.enterprise, commit=False)
    accepted = ops.make_offer(w.agent, settled, remedy="refund", amount="1299.00", terms="全额")
    ops.accept_offer(consumer, settled, accepted.id)
    suspended = factories.file_case(consumer, w.enterprise, commit=False, green_channel=False)
    ops.accept_case(w.mediator, suspended)
    ops.suspend(w.mediator, suspended, reason="送检")

    # The other consumer's case, against the other enterprise (Laocheng), at its office.
    other_case = factories.file_case(other, w.other_enterprise, commit=False, green_channel=False)

    # A joint complaint against the enterprise, submitted: the party consumer (its elected
    # representative) and a third consumer, each with their own case in direct settlement.
    claim = {
        "purchase_date": "2026-09-01",
        "amount": "600",
        "claimed_amount": "600",
        "requests": ["refund"],
        "facts": "健身房关门",
    }
    group = joint.start(
        consumer,
        {
            "enterprise_id": w.enterprise.id,
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
            **claim,
        },
    )
    fellow = factories.user(UserRole.CONSUMER, "fellow@test.example", "王五")
    fellow_member = joint.join(fellow, group, claim)
    joint.elect(consumer, group, [joint.members_of(group)[0].id])
    joint.submit(consumer, group)

    # A draft of the party consumer, with a file.
    draft = drafts.new_draft(consumer)
    draft_evidence = store_evidence(consumer, _file(PNG), "draft.png", draft=draft)

    # A report (举报) of the party consumer about the enterprise: handled at Jinshui.
    request = service.file_request(
        consumer,
        "report",
        {
            "subject": f"虚假宣传 {SECRET_REQUEST}",
            "text": f"广告与实物不符 {SECRET_REQUEST}",
            "enterprise_id": w.enterprise.id,
        },
    )

    # Warnings: one published, one draft.
    published = supervision.save_warning(w.admin, None, title="消费提示", body="谨慎预付")
    supervision.publish_warning(w.admin, published)
    draft_warning = supervision.save_warning(w.admin, None, title="草稿提示", body="未发布")

    # The owner's integration token and webhook; an invited (inactive) agent; links.
    _raw, integration_token = auth_ops.issue_token(
        w.owner, kind=TokenKind.INTEGRATION, name="ERP", ttl_hours=None
    )
    webhook = WebhookEndpoint(
        enterprise_id=w.enterprise.id, url="https://erp.example.com/hook", secret=SECRET_WEBHOOK
    )
    db.session.add(webhook)
    invited = auth_ops.create_user(
        role=UserRole.ENTERPRISE,
        email="invited@test.example",
        password="Not-known-2026",
        name="待激活客服",
        enterprise=w.enterprise,
        staff_role=StaffRole.AGENT,
    )
    invited.active = False
    db.session.flush()
    invite_token = auth_ops.new_link(invited, LinkPurpose.INVITE, 72)
    reset_token = auth_ops.new_link(w.other_consumer, LinkPurpose.RESET, 1)

    # The pending enterprise's licence file.
    licence = Path(current_app.config["UPLOAD_DIR"]) / "licences" / "pending.png"
    licence.parent.mkdir(parents=True, exist_ok=True)
    licence.write_bytes(PNG)
    w.pending_enterprise.licence_path = "licences/pending.png"
    db.session.commit()

    w.users = {
        "anonymous": None,
        "party_consumer": consumer,
        "other_consumer": other,
        "respondent_agent": w.agent,
        "other_agent": w.other_agent,
        "competent_mediator": w.mediator,
        "other_mediator": w.other_mediator,
        "admin": w.admin,
        "respondent_owner": w.owner,
        "competent_head": w.head,
    }
    w.case, w.other_case, w.offer, w.record = case, other_case, offer, record
    w.cases = {
        "mediating": case,
        "negotiating": negotiating,
        "pending": pending,
        "settled": settled,
        "suspended": suspended,
    }
    w.open_offer = open_offer
    # Plain values (the objects expire at each commit and belong to this session only).
    w.user_ids = {role: (u.id if u is not None else None) for role, u in w.users.items()}
    # A signed-in browser session per user (the cookie's token, checked by the user loader).
    w.sessions = {role: auth_ops.start_session(u) for role, u in w.users.items() if u is not None}
    db.session.commit()
    w.case_ids = {name: c.id for name, c in w.cases.items()}
    w.ids = {
        "offer_id": offer.id,
        "open_offer_id": open_offer.id,
        "evidence_id": evidence.id,
        "merchant_evidence_id": merchant_evidence.id,
        "code": record.code,
        "session_id": session.id,
        "notification_id": notice.id,
        "record_file": str(Path(current_app.config["RECORD_DIR"]) / record.path),
        "draft_id": draft.id,
        "draft_evidence_id": draft_evidence.id,
        "request_id": request.id,
        "warning_id": published.id,
        "draft_warning_id": draft_warning.id,
        "token_id": integration_token.id,
        "endpoint_id": webhook.id,
        "webhook_id": webhook.id,
        "invite_token": invite_token,
        "reset_token": reset_token,
        "invited_id": invited.id,
        "body_id": w.jinshui.id,
        "erqi_id": w.erqi.id,
        "province_id": w.province_body.id,
        "mediator_id": w.mediator.id,
        "head_id": w.head.id,
        "agent_id": w.agent.id,
        "enterprise_id": w.pending_enterprise.id,
        "respondent_id": w.enterprise.id,
        "other_case_id": other_case.id,
        "joint_id": group.id,
        "joint_member_id": fellow_member.id,
        "joint_case_id": fellow_member.complaint_id,
    }
    return w


def fingerprint() -> dict:
    """Every row of every table (a small world: a few hundred rows), but the last use of
    API tokens: a refused request must leave all of it as it was."""
    snapshot = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
        rows = db.session.execute(db.select(*columns).order_by(*table.primary_key.columns))
        snapshot[table.name] = [tuple(map(repr, row)) for row in rows]
    return snapshot


def changes(before: dict, after: dict) -> list[str]:
    """Which tables differ, and how (for a readable failure)."""
    out = []
    for name in before:
        old, new = before[name], after[name]
        if old != new:
            added = [r for r in new if r not in old][:2]
            gone = [r for r in old if r not in new][:2]
            out.append(f"{name}: +{added} -{gone}")
    return out


VOLATILE = {("api_token", "last_used_at")}
