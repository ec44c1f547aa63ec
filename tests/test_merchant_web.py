"""The enterprise web pages: joining, the admin decisions, staff, the case page, the
integration console, and who may see what."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from odr.auth.models import (
    ApiToken,
    LinkPurpose,
    OneTimeLink,
    StaffRole,
    User,
    UserRole,
    hash_token,
)
from odr.disputes import operations as ops
from odr.disputes.formats import mask_address, mask_phone
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    Enterprise,
    EnterpriseEvent,
    Evidence,
    Offer,
    Outbox,
    Record,
    WebhookEndpoint,
)
from odr.disputes.states import Invalid
from odr.types import utcnow
from tests.factories import PASSWORD, credit_code, file_case

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def login(client, email, password=PASSWORD):
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def apply_data(**overrides):
    data = {
        "name": "郑州新申请商贸有限公司",
        "credit_code": credit_code(424242),
        "region_code": "410105",
        "address": "郑州市金水区农业路 8 号",
        "contact_phone": "0371-66668888",
        "owner_name": "赵经理",
        "owner_email": "zhao@newshop.example",
        "owner_password": "Owner-pass-2026",
        "owner_confirm": "Owner-pass-2026",
        "commitment": "y",
        "licence": (io.BytesIO(PDF), "营业执照.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- joining ---------------------------------------------------------------------------------


def test_apply_form_creates_a_pending_enterprise_with_its_owner_and_licence(app, client, world, db):
    page = client.get("/merchant/apply")
    assert page.status_code == 200
    assert 'name="credit_code"' in page.get_data(as_text=True)

    response = client.post("/merchant/apply", data=apply_data(), content_type="multipart/form-data")
    assert response.status_code == 302
    assert "/merchant/apply/submitted" in response.headers["Location"]
    done = client.get(response.headers["Location"])
    assert 'id="application-received"' in done.get_data(as_text=True)

    enterprise = db.session.scalar(db.select(Enterprise).where(Enterprise.name.like("郑州新申请%")))
    assert enterprise.status == "pending"
    assert enterprise.commitment is True
    owner = db.session.scalar(db.select(User).where(User.email == "zhao@newshop.example"))
    assert owner.enterprise_id == enterprise.id and owner.staff_role == StaffRole.OWNER
    assert owner.check_password("Owner-pass-2026")
    stored = Path(app.config["UPLOAD_DIR"]) / enterprise.licence_path
    assert stored.read_bytes() == PDF
    assert "营业执照" not in enterprise.licence_path  # a random name, not the uploaded one
    assert [
        e.action
        for e in db.session.scalars(
            db.select(EnterpriseEvent).where(EnterpriseEvent.enterprise_id == enterprise.id)
        )
    ] == ["apply"]


def test_apply_form_shows_each_field_error_and_keeps_what_was_typed(client, world, db):
    code = credit_code(777)
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post(
        "/merchant/apply",
        data=apply_data(
            credit_code=wrong_check,
            owner_email=world.owner.email,  # taken
            commitment=None,
            licence=(io.BytesIO(b"just some text, not a licence"), "licence.pdf"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "check character" in html or "校验码" in html
    assert html.count("invalid-feedback") >= 3
    assert 'value="郑州新申请商贸有限公司"' in html
    assert f'value="{wrong_check}"' in html
    assert db.session.scalar(db.select(db.func.count(Enterprise.id))) == 3


def test_apply_form_reports_the_credit_code_check_character_per_field(client, world, db):
    code = credit_code(778)
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post(
        "/merchant/apply?lang=en",
        data=apply_data(credit_code=wrong_check),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field_error = re.search(r'id="credit_code-err">([^<]+)<', html)
    assert field_error and "check character" in field_error.group(1)
    assert db.session.scalar(db.select(db.func.count(Enterprise.id))) == 3


def test_apply_refuses_a_licence_that_is_not_a_pdf_or_image(client, world, db, app):
    before = set(Path(app.config["UPLOAD_DIR"]).glob("licence-*"))
    response = client.post(
        "/merchant/apply?lang=en",
        data=apply_data(licence=(io.BytesIO(b"MZ\x90\x00 an executable"), "licence.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert re.search(r'id="licence-err">[^<]*PDF', response.get_data(as_text=True))
    assert set(Path(app.config["UPLOAD_DIR"]).glob("licence-*")) == before


# -- the regulator's decisions ---------------------------------------------------------------


def test_admin_lists_applications_and_approves_with_event_and_mail(client, world, db):
    client.post("/merchant/apply", data=apply_data(), content_type="multipart/form-data")
    enterprise = db.session.scalar(
        db.select(Enterprise).where(Enterprise.status == "pending", Enterprise.name.like("郑州新%"))
    )
    login(client, world.admin.email)
    listing = client.get("/admin/enterprises?status=pending").get_data(as_text=True)
    assert "郑州新申请商贸有限公司" in listing and "二七待审小店" in listing
    assert "郑州测试百货有限公司" not in listing

    detail = client.get(f"/admin/enterprises/{enterprise.id}").get_data(as_text=True)
    assert 'id="decide-approve"' in detail and 'id="licence-link"' in detail
    licence = client.get(f"/admin/enterprises/{enterprise.id}/licence")
    assert licence.status_code == 200 and licence.data == PDF
    assert licence.headers["Content-Disposition"].startswith("attachment")
    licence.close()

    response = client.post(
        f"/admin/enterprises/{enterprise.id}/decide",
        data={"action": "approve", "reason": "材料齐全"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert enterprise.status == "approved" and enterprise.approved_at is not None
    event = db.session.scalars(
        db.select(EnterpriseEvent)
        .where(EnterpriseEvent.enterprise_id == enterprise.id)
        .order_by(EnterpriseEvent.id.desc())
    ).first()
    assert (event.action, event.actor_id, event.reason) == ("approve", world.admin.id, "材料齐全")
    # The newest mail: the application's receipt went to the owner before the decision.
    mail = db.session.scalar(
        db.select(Outbox)
        .where(Outbox.recipient == "zhao@newshop.example")
        .order_by(Outbox.id.desc())
        .limit(1)
    )
    assert mail is not None and "材料齐全" in mail.body

    # Only an approved enterprise receives complaints directly.
    complaint = file_case(world.consumer, enterprise)
    assert complaint.state == "negotiating"


def test_admin_suspension_needs_a_reason_and_reinstates(client, world, db):
    login(client, world.admin.email)
    url = f"/admin/enterprises/{world.enterprise.id}/decide"
    response = client.post(url, data={"action": "suspend", "reason": ""})
    assert response.status_code == 422
    db.session.expire_all()
    assert world.enterprise.status == "approved"

    client.post(url, data={"action": "suspend", "reason": "多次逾期未处理"})
    db.session.expire_all()
    assert world.enterprise.status == "suspended"
    # Issue 16: only an approved enterprise can be named (a suspended one used to be taken,
    # its case sent to mediation); the consumer names it as a business not listed.
    with pytest.raises(Invalid):
        file_case(world.consumer, world.enterprise)
    db.session.rollback()

    client.post(url, data={"action": "reinstate", "reason": "已整改"})
    db.session.expire_all()
    assert world.enterprise.status == "approved"
    history = client.get(f"/admin/enterprises/{world.enterprise.id}").get_data(as_text=True)
    assert "多次逾期未处理" in history and "已整改" in history

    # A decision that the status does not allow is refused without a change.
    response = client.post(url, data={"action": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.enterprise.status == "approved"


def test_inbox_names_the_enterprise_and_shows_a_suspension(client, world, db):
    login(client, world.owner.email)
    inbox = client.get("/merchant/inbox").get_data(as_text=True)
    assert world.enterprise.name in inbox and 'id="enterprise-status"' not in inbox

    world.enterprise.status = "suspended"
    db.session.commit()
    for path in ("/merchant/inbox", "/merchant/staff"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="enterprise-status" data-status="suspended"' in page, path


def test_admin_enterprise_pages_are_for_admins_only(client, world):
    login(client, world.owner.email)
    assert client.get("/admin/enterprises").status_code == 403
    assert client.get(f"/admin/enterprises/{world.enterprise.id}/licence").status_code == 403


# -- who may reach what ----------------------------------------------------------------------


def test_a_consumer_cannot_reach_the_inbox(client, world):
    assert client.get("/merchant/inbox").status_code == 302  # not signed in: to the login
    login(client, world.consumer.email)
    assert client.get("/merchant/inbox").status_code == 403
    assert client.get("/merchant/inbox/export.csv").status_code == 403


def test_an_agent_of_enterprise_a_gets_404_for_a_case_of_enterprise_b(client, world, db):
    from odr.disputes.evidence import store_evidence

    theirs = file_case(world.consumer, world.other_enterprise)
    item = store_evidence(world.consumer, io.BytesIO(PNG), "照片.png", complaint=theirs)
    settled = file_case(world.consumer, world.other_enterprise)
    offer = ops.make_offer(world.other_agent, settled, remedy="refund", amount="10", terms="退")
    ops.accept_offer(world.consumer, settled, offer.id)
    db.session.commit()
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == settled.id))
    urls = (
        f"/merchant/cases/{theirs.id}",
        f"/merchant/cases/{theirs.id}/evidence/{item.id}",
        f"/merchant/cases/{settled.id}",
        f"/merchant/cases/{settled.id}/records/{record.code}.pdf",
    )
    # Their own agent sees them (the control) ...
    login(client, world.other_agent.email)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
    client.post("/auth/logout")

    # ... an agent of another enterprise gets 404 for every page and every action.
    login(client, world.agent.email)
    for url in (*urls, f"/merchant/cases/{theirs.id + 1000}"):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (
            f"/merchant/cases/{theirs.id}/offers",
            {"offer-remedy": "refund", "offer-amount": "1", "offer-terms": "x"},
        ),
        (f"/merchant/cases/{theirs.id}/decline", {"decline-reason": "no"}),
        (f"/merchant/cases/{theirs.id}/messages", {"message-body": "hi"}),
        (f"/merchant/cases/{theirs.id}/evidence", {}),
        (f"/merchant/cases/{settled.id}/performance", {"performance-note": "x"}),
        (f"/merchant/cases/{theirs.id}", {"password": PASSWORD}),
    ):
        assert client.post(url, data=data).status_code == 404, url
    response = client.post(
        "/merchant/inbox/assign", data={"ids": [theirs.id], "assignee_id": "none"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Complaint, theirs.id).state == "negotiating"
    assert db.session.get(Complaint, settled.id).performance_status == "pending"
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 1
    inbox = client.get("/merchant/inbox").get_data(as_text=True)
    assert theirs.reference not in inbox and settled.reference not in inbox


def test_agents_do_not_manage_staff_or_integration(client, world):
    login(client, world.agent.email)
    assert client.get("/merchant/staff").status_code == 403
    assert client.get("/merchant/integration").status_code == 403
    assert client.post("/merchant/integration/tokens", data={"token-name": "x"}).status_code == 403


# -- the inbox and the case page -------------------------------------------------------------


def test_inbox_masks_contact_details_and_the_case_page_shows_them(client, world, db):
    complaint = file_case(
        world.consumer,
        world.enterprise,
        complainant_phone="13812348000",
        complainant_address="郑州市金水区花园路 88 号 3 单元",
    )
    login(client, world.agent.email)
    inbox = client.get("/merchant/inbox").get_data(as_text=True)
    assert complaint.reference in inbox
    assert "138****8000" in inbox and "13812348000" not in inbox
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert "13812348000" in page and "花园路 88 号 3 单元" in page
    assert mask_phone("13812348000") == "138****8000"
    assert "88" not in mask_address("郑州市金水区花园路 88 号")


def test_offer_from_the_case_page_records_the_agent_and_settles_on_acceptance(client, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.agent.email)
    due = (utcnow() + timedelta(days=10)).date().isoformat()
    response = client.post(
        f"/merchant/cases/{complaint.id}/offers",
        data={
            "offer-remedy": "refund",
            "offer-amount": "1299.00",
            "offer-terms": "全额退款，七日内到账。",
            "offer-performance_due": due,
        },
    )
    assert response.status_code == 302
    offer = db.session.scalar(db.select(Offer).where(Offer.complaint_id == complaint.id))
    assert (offer.remedy, str(offer.amount), offer.made_by_id) == (
        "refund",
        "1299.00",
        world.agent.id,
    )
    event = db.session.scalars(
        db.select(CaseEvent)
        .where(CaseEvent.complaint_id == complaint.id)
        .order_by(CaseEvent.id.desc())
    ).first()
    assert (event.action, event.actor_id) == ("make_offer", world.agent.id)

    ops.accept_offer(world.consumer, db.session.get(Complaint, complaint.id), offer.id)
    db.session.commit()
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert 'data-state="settled"' in page
    assert 'data-status="accepted"' in page

    # The settlement record downloads, as an attachment, for the parties.
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == complaint.id))
    pdf = client.get(f"/merchant/cases/{complaint.id}/records/{record.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("attachment")

    # Performance confirmed after the settlement.
    response = client.post(
        f"/merchant/cases/{complaint.id}/performance", data={"performance-note": "已退款"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).performance_status == "confirmed"


def test_offer_form_errors_keep_the_typed_terms(client, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.agent.email)
    response = client.post(
        f"/merchant/cases/{complaint.id}/offers?lang=en",
        data={"offer-remedy": "refund", "offer-amount": "-5", "offer-terms": "我们的条件"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "我们的条件" in html and 'id="offer-amount-err"' in html
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 0


def test_decline_with_a_reason_escalates_at_once(client, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.owner.email)
    response = client.post(f"/merchant/cases/{complaint.id}/decline", data={"decline-reason": ""})
    assert response.status_code == 422
    response = client.post(
        f"/merchant/cases/{complaint.id}/decline", data={"decline-reason": "该商品非本店售出"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == "pending_acceptance" and complaint.body_id == world.jinshui.id
    event = db.session.scalars(db.select(CaseEvent).order_by(CaseEvent.id.desc())).first()
    assert (event.action, event.actor_id, event.details["reason"]) == (
        "decline",
        world.owner.id,
        "该商品非本店售出",
    )
    # The offer form is gone; a second decline is refused without a 500.
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert 'id="offer-form"' not in page
    again = client.post(f"/merchant/cases/{complaint.id}/decline", data={"decline-reason": "x"})
    assert again.status_code == 302


def test_messages_and_evidence_on_the_case_page(client, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.agent.email)
    assert (
        client.post(
            f"/merchant/cases/{complaint.id}/messages",
            data={"message-body": "您好，请提供订单号。"},
        ).status_code
        == 302
    )
    response = client.post(
        f"/merchant/cases/{complaint.id}/evidence",
        data={"evidence-file": (io.BytesIO(PNG), "发货单.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    item = db.session.scalar(db.select(Evidence).where(Evidence.complaint_id == complaint.id))
    download = client.get(f"/merchant/cases/{complaint.id}/evidence/{item.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()
    refused = client.post(
        f"/merchant/cases/{complaint.id}/evidence",
        data={"evidence-file": (io.BytesIO(b"<html>no</html>"), "a.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert "您好，请提供订单号。" in page and "发货单.png" in page
    # The consumer's evidence is visible to the staff; the other enterprise's agent gets 404.
    client.post("/auth/logout")
    login(client, world.other_agent.email)
    assert client.get(f"/merchant/cases/{complaint.id}/evidence/{item.id}").status_code == 404


def _to_mediation_with_agreement(world, db):
    complaint = file_case(world.consumer, world.enterprise)
    ops.escalate(world.consumer, complaint, reason="谈不拢")
    ops.accept_case(world.mediator, complaint)
    ops.propose_agreement(world.mediator, complaint, terms="商家退款 800 元。", amount="800")
    db.session.commit()
    return complaint


def test_signing_form_contract_and_password(client, world, db):
    complaint = _to_mediation_with_agreement(world, db)
    login(client, world.owner.email)
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert '<form id="sign-agreement" method="post">' in page
    assert '<input type="password" name="password" id="sign-password"' in page
    assert 'id="sign-submit"' in page
    wrong = client.post(f"/merchant/cases/{complaint.id}", data={"password": "not-it-at-all"})
    assert wrong.status_code == 422 and 'id="sign-password-err"' in wrong.get_data(as_text=True)
    right = client.post(f"/merchant/cases/{complaint.id}", data={"password": PASSWORD})
    assert right.status_code == 302
    ops.sign_agreement(world.consumer, db.session.get(Complaint, complaint.id))
    db.session.commit()
    page = client.get(f"/merchant/cases/{complaint.id}").get_data(as_text=True)
    assert 'data-state="mediated"' in page and 'id="sign-agreement"' not in page
    signature_event = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.action == "sign_agreement").order_by(CaseEvent.id)
    ).first()
    assert signature_event.actor_id == world.owner.id


def test_bulk_assignment_to_an_agent(client, world, db):
    cases = [file_case(world.consumer, world.enterprise) for _ in range(3)]
    theirs = file_case(world.consumer, world.other_enterprise)
    login(client, world.owner.email)
    response = client.post(
        "/merchant/inbox/assign",
        data={"ids": [cases[0].id, cases[2].id], "assignee_id": str(world.agent.id)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [db.session.get(Complaint, c.id).assignee_id for c in cases] == [
        world.agent.id,
        None,
        world.agent.id,
    ]
    # Not to another enterprise's agent, and not another enterprise's case.
    client.post(
        "/merchant/inbox/assign",
        data={"ids": [cases[1].id], "assignee_id": str(world.other_agent.id)},
    )
    assert (
        client.post(
            "/merchant/inbox/assign", data={"ids": [theirs.id], "assignee_id": str(world.agent.id)}
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Complaint, cases[1].id).assignee_id is None
    assert db.session.get(Complaint, theirs.id).assignee_id is None
    mine = client.get("/merchant/inbox?assignee=none").get_data(as_text=True)
    assert cases[1].reference in mine and cases[0].reference not in mine


# -- staff -----------------------------------------------------------------------------------


def _invite_token(db, email) -> str:
    mail = db.session.scalar(db.select(Outbox).where(Outbox.recipient == email))
    match = re.search(r"/auth/invite/([A-Za-z0-9_\-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_owner_invites_an_agent_who_sets_a_password_and_can_be_removed(client, world, db):
    login(client, world.owner.email)
    response = client.post(
        "/merchant/staff/invite", data={"name": "新客服", "email": "new.agent@test.example"}
    )
    assert response.status_code == 302
    agent = db.session.scalar(db.select(User).where(User.email == "new.agent@test.example"))
    assert (agent.role, agent.staff_role, agent.enterprise_id, agent.active) == (
        UserRole.ENTERPRISE,
        StaffRole.AGENT,
        world.enterprise.id,
        False,
    )
    token = _invite_token(db, "new.agent@test.example")
    link = db.session.scalar(db.select(OneTimeLink).where(OneTimeLink.user_id == agent.id))
    assert link.purpose == LinkPurpose.INVITE and link.token_hash == hash_token(token)
    assert link.expires_at - utcnow() > timedelta(hours=71)
    staff_page = client.get("/merchant/staff").get_data(as_text=True)
    assert 'data-email="new.agent@test.example" data-active="no"' in staff_page
    event = db.session.scalars(
        db.select(EnterpriseEvent).order_by(EnterpriseEvent.id.desc())
    ).first()
    assert (event.action, event.actor_id) == ("invite_agent", world.owner.id)

    client.post("/auth/logout")
    response = client.post(
        f"/auth/invite/{token}", data={"password": "Agent-pass-2026", "confirm": "Agent-pass-2026"}
    )
    assert response.status_code == 302
    login(client, "new.agent@test.example", "Agent-pass-2026")
    assert client.get("/merchant/inbox").status_code == 200

    client.post("/auth/logout")
    login(client, world.owner.email)
    assert client.post(f"/merchant/staff/{agent.id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, agent.id).active is False
    client.post("/auth/logout")
    response = client.post(
        "/auth/login", data={"email": "new.agent@test.example", "password": "Agent-pass-2026"}
    )
    assert response.status_code == 200  # refused: the form again


def test_a_removed_agent_loses_access_at_once(client, world, db):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.agent.email)
    assert client.get(f"/merchant/cases/{complaint.id}").status_code == 200
    world.agent.active = False
    db.session.commit()
    assert client.get("/merchant/inbox").status_code == 302
    assert client.get(f"/merchant/cases/{complaint.id}").status_code == 302


def test_invitation_errors_show_on_the_form(client, world, db):
    login(client, world.owner.email)
    response = client.post(
        "/merchant/staff/invite?lang=en", data={"name": "重复", "email": world.agent.email}
    )
    assert response.status_code == 422
    assert 'id="email-err"' in response.get_data(as_text=True)
    # The owner cannot remove themselves, nor staff of another enterprise.
    assert client.post(f"/merchant/staff/{world.owner.id}/remove").status_code == 302
    assert client.post(f"/merchant/staff/{world.other_agent.id}/remove").status_code == 404
    db.session.expire_all()
    assert world.owner.active and world.other_agent.active


# -- integration console ---------------------------------------------------------------------


def test_integration_token_is_shown_once_stored_hashed_and_revocable(client, world, db):
    login(client, world.owner.email)
    response = client.post("/merchant/integration/tokens", data={"token-name": "CRM 系统"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    raw = re.search(r'id="new-token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "CRM 系统"))
    assert token.token_hash == hash_token(raw) and raw not in token.token_hash
    assert token.kind == "integration" and token.expires_at is None
    listing = client.get("/merchant/integration").get_data(as_text=True)
    assert "CRM 系统" in listing and raw not in listing

    from odr.auth.operations import user_for_token

    assert user_for_token(raw).id == world.owner.id
    assert client.post(f"/merchant/integration/tokens/{token.id}/revoke").status_code == 302
    db.session.expire_all()
    assert user_for_token(raw) is None


def test_webhook_registration_generates_a_secret_and_checks_the_url(client, world, db):
    login(client, world.owner.email)
    bad = client.post(
        "/merchant/integration/webhooks?lang=en", data={"webhook-url": "ftp://example.com/x"}
    )
    assert bad.status_code == 422 and 'id="webhook-url-err"' in bad.get_data(as_text=True)
    short = client.post(
        "/merchant/integration/webhooks",
        data={"webhook-url": "https://crm.example.com/hook", "webhook-secret": "short"},
    )
    assert short.status_code == 422
    assert db.session.scalar(db.select(db.func.count(WebhookEndpoint.id))) == 0

    ok = client.post(
        "/merchant/integration/webhooks", data={"webhook-url": "https://crm.example.com/hook"}
    )
    assert ok.status_code == 200
    secret = re.search(r'id="new-secret" value="([^"]+)"', ok.get_data(as_text=True)).group(1)
    endpoint = db.session.scalar(db.select(WebhookEndpoint))
    assert endpoint.secret == secret and len(secret) >= 32 and endpoint.active
    assert secret not in client.get("/merchant/integration").get_data(as_text=True)
    assert client.get(f"/merchant/integration/webhooks/{endpoint.id}").status_code == 200

    client.post(f"/merchant/integration/webhooks/{endpoint.id}/deactivate")
    db.session.expire_all()
    assert endpoint.active is False
    client.post("/auth/logout")
    login(client, world.other_agent.email)
    assert client.get(f"/merchant/integration/webhooks/{endpoint.id}").status_code == 403


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_enterprise_pages_render_in_both_languages(client, world, db, lang):
    complaint = file_case(world.consumer, world.enterprise)
    login(client, world.owner.email)
    for url in (
        "/merchant/inbox",
        f"/merchant/cases/{complaint.id}",
        "/merchant/staff",
        "/merchant/integration",
    ):
        response = client.get(f"{url}?lang={lang}")
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert ("API 与 Webhook" in html) == (lang == "zh_CN"), url
        assert ("API and webhooks" in html) == (lang == "en"), url
    client.post("/auth/logout")
    assert client.get(f"/merchant/apply?lang={lang}").status_code == 200
