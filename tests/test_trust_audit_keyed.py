"""The keyed audit chain against someone with database (and file) access but not the audit
key: every change to a fact a record or decision rests on is named by `odr audit verify`
(exit 1), `/verify` no longer calls a forged record genuine, and production refuses to start
without ODR_AUDIT_KEY."""

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from odr.config import ProductionConfig
from odr.disputes import operations as ops
from odr.disputes import records
from odr.disputes.events import _canonical
from odr.disputes.models import (
    Agreement,
    AuditSeal,
    CaseEvent,
    Complaint,
    Message,
    Offer,
    Record,
    Signature,
)
from odr.maintenance.audit import verify_all
from tests.factories import file_case


def audit(app):
    result = app.test_cli_runner().invoke(args=["odr", "audit", "verify"])
    return result.exit_code, result.output


def settled(world, db):
    case = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, case, remedy="refund", amount="1299.00", terms="退款")
    db.session.commit()
    ops.post_message(world.consumer, case, "好的")
    ops.accept_offer(world.consumer, case, offer.id)
    db.session.commit()
    records.render_due()  # the worker renders the settlement record after the commit
    return case, offer


def mediated(world, db):
    case = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, case)
    agreement = ops.propose_agreement(world.mediator, case, terms="退款五百", amount="500.00")
    ops.sign_agreement(world.consumer, case)
    ops.sign_agreement(world.agent, case)
    db.session.commit()
    records.render_due()  # the worker renders the mediation record after the commit
    return case, agreement


def run(db, sql, **params):
    db.session.execute(sa.text(sql), params)
    db.session.commit()


def broken(app, *expected):
    code, output = audit(app)
    assert code == 1, output
    for text in expected:
        assert text in output, output
    return output


def test_untouched_portal_audits_clean(app, world, db):
    settled(world, db)
    mediated(world, db)
    code, output = audit(app)
    assert code == 0, output
    assert "all intact" in output


def test_offer_amount_changed(app, world, db):
    case, offer = settled(world, db)
    run(db, "UPDATE offer SET amount = 1.00 WHERE id = :id", id=offer.id)
    broken(app, f"case {case.reference}", f"offer {offer.id} altered")


def test_offer_terms_or_status_changed(app, world, db):
    case, offer = settled(world, db)
    run(db, "UPDATE offer SET terms = 'nothing', status = 'rejected' WHERE id = :id", id=offer.id)
    broken(app, f"offer {offer.id} altered")


def test_agreement_amount_changed(app, world, db):
    case, agreement = mediated(world, db)
    run(db, "UPDATE agreement SET amount = 5.00 WHERE id = :id", id=agreement.id)
    broken(app, f"case {case.reference}", f"agreement {agreement.id} altered")


def test_case_moved_to_another_consumer(app, world, db):
    case, _ = settled(world, db)
    run(
        db,
        "UPDATE complaint SET consumer_id = :other WHERE id = :id",
        other=world.other_consumer.id,
        id=case.id,
    )
    broken(app, f"case {case.reference}", "the case (parties, body, state) altered")


def test_case_body_changed(app, world, db):
    case, _ = settled(world, db)
    run(db, "UPDATE complaint SET facts = 'forged', claimed_amount = 9 WHERE id = :id", id=case.id)
    broken(app, "the case (parties, body, state) altered")


def test_signature_deleted(app, world, db):
    case, agreement = mediated(world, db)
    signature_id = db.session.scalar(
        db.select(Signature.id).where(Signature.agreement_id == agreement.id).limit(1)
    )
    reference = case.reference
    run(db, "DELETE FROM signature WHERE id = :id", id=signature_id)
    broken(app, f"case {reference}", f"signature {signature_id} deleted")


def test_signature_forged(app, world, db):
    case = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, case)
    agreement = ops.propose_agreement(world.mediator, case, terms="退款", amount="5.00")
    ops.sign_agreement(world.consumer, case)
    db.session.commit()
    run(
        db,
        "INSERT INTO signature (agreement_id, user_id, party, signed_at) "
        "VALUES (:a, :u, 'enterprise', CURRENT_TIMESTAMP)",
        a=agreement.id,
        u=world.agent.id,
    )
    broken(app, "not in the seal (added outside the portal)")


def test_message_rewritten(app, world, db):
    case, _ = settled(world, db)
    message = db.session.scalar(db.select(Message).where(Message.complaint_id == case.id))
    run(db, "UPDATE message SET body = 'I withdraw everything' WHERE id = :id", id=message.id)
    broken(app, f"message {message.id} altered")


def _delete_case(db, complaint_id: int, *, with_seal: bool) -> None:
    """Remove a case and every row that hangs off it, as someone with SQL access would."""
    tables = [t for t in reversed(db.metadata.sorted_tables) if "complaint_id" in t.c]
    for table in tables:
        if table.name == "audit_seal" and not with_seal:
            continue
        db.session.execute(table.delete().where(table.c.complaint_id == complaint_id))
    db.session.execute(sa.delete(Complaint).where(Complaint.id == complaint_id))
    db.session.commit()


def test_case_deleted(app, world, db):
    settled(world, db)
    victim = file_case(world.consumer, world.enterprise)
    file_case(world.consumer, world.other_enterprise)
    reference, victim_id = victim.reference, victim.id
    _delete_case(db, victim_id, with_seal=False)
    broken(app, f"case {reference} (id {victim_id}): deleted")


def test_case_deleted_with_its_seal_leaves_a_gap(app, world, db):
    settled(world, db)
    victim = file_case(world.consumer, world.enterprise)
    file_case(world.consumer, world.other_enterprise)
    victim_id = victim.id
    serial = db.session.get(AuditSeal, victim_id).serial
    _delete_case(db, victim_id, with_seal=True)
    broken(app, f"chain of cases: link {serial} missing: a case was deleted with its seal")


def test_seal_rewritten_without_the_key(app, world, db):
    case, offer = settled(world, db)
    seal = db.session.get(AuditSeal, case.id)
    facts = json.loads(seal.facts)
    facts["offer"][str(offer.id)] = "0" * 32
    run(
        db,
        "UPDATE audit_seal SET facts = :f WHERE complaint_id = :id",
        f=json.dumps(facts),
        id=case.id,
    )
    broken(app, f"case {case.reference}", "seal altered")


def test_event_rehashed_with_plain_sha256(app, world, db):
    """The old chain was plain SHA-256: anyone could recompute it. Now a rewritten event
    cannot be given a hash that verifies."""
    case, _ = settled(world, db)
    event = db.session.scalar(
        db.select(CaseEvent).where(
            CaseEvent.complaint_id == case.id, CaseEvent.action == "accept_offer"
        )
    )
    event.details = {"offer_id": 999}
    fields = {n: getattr(event, n) for n in ("complaint_id", "at", "actor_id", "actor_role")}
    fields |= {"action": event.action, "from_state": event.from_state}
    fields |= {"to_state": event.to_state, "details": event.details}
    forged = hashlib.sha256((event.prev_hash or "").encode() + _canonical(fields)).hexdigest()
    run(
        db,
        "UPDATE case_event SET details = :d, hash = :h WHERE id = :id",
        d=json.dumps(event.details),
        h=forged,
        id=event.id,
    )
    db.session.expire_all()
    broken(app, f"event {event.id} (accept_offer): content altered")


def test_tampering_survives_later_activity(app, world, db):
    """A changed offer stays reported after the case moves on (the next seal keeps the
    offer's seal from before, it does not take the changed row)."""
    case = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(world.agent, case, remedy="refund", amount="800.00", terms="退款")
    db.session.commit()
    run(db, "UPDATE offer SET amount = 8000.00 WHERE id = :id", id=offer.id)
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    ops.post_message(world.consumer, case, "还在吗")
    db.session.commit()
    ops.make_offer(world.agent, case, remedy="refund", amount="900.00", terms="再加一百")
    db.session.commit()
    broken(app, f"offer {offer.id} altered")


def forge_record(app, db, case):
    """Swap the record's PDF for a forgery and update its stored hash and size."""
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == case.id))
    path = Path(app.config["RECORD_DIR"]) / record.path
    forged = path.read_bytes().replace(b"1299.00", b"9999.00") + b"\n% forged\n"
    path.write_bytes(forged)
    run(
        db,
        "UPDATE record SET sha256 = :h, size = :s WHERE id = :id",
        h=hashlib.sha256(forged).hexdigest(),
        s=len(forged),
        id=record.id,
    )
    return record, forged


def test_record_pdf_swapped_and_its_hash_updated(app, client, world, db):
    case, _ = settled(world, db)
    record, forged = forge_record(app, db, case)
    broken(app, f"record {record.id} altered")

    # The public check does not call the forgery genuine, by code or by file.
    answer = client.get(f"/api/v1/verify/{record.code}?sha256={hashlib.sha256(forged).hexdigest()}")
    assert answer.get_json()["valid"] is False
    page = client.post("/verify", data={"pdf": (__import__("io").BytesIO(forged), "r.pdf")})
    assert record.code not in page.get_data(as_text=True)
    page = client.post(
        f"/verify/{record.code}", data={"pdf": (__import__("io").BytesIO(forged), "r.pdf")}
    )
    assert page.status_code == 404


def test_genuine_record_verifies_by_file(app, client, world, db):
    case, _ = settled(world, db)
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == case.id))
    data = (Path(app.config["RECORD_DIR"]) / record.path).read_bytes()
    answer = client.get(f"/api/v1/verify/{record.code}?sha256={hashlib.sha256(data).hexdigest()}")
    assert answer.get_json()["valid"] is True
    page = client.post("/verify", data={"pdf": (__import__("io").BytesIO(data), "r.pdf")})
    assert record.code in page.get_data(as_text=True)


def test_audit_key_is_required_in_production(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 64)
    monkeypatch.setattr(ProductionConfig, "PUBLIC_BASE_URL", "https://odr.example.cn")
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "dev-only-audit-key-not-secret")
    with pytest.raises(RuntimeError, match="ODR_AUDIT_KEY"):
        ProductionConfig.check()
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "k" * 64)
    ProductionConfig.check()


def test_another_key_cannot_verify(app, world, db):
    settled(world, db)
    assert verify_all().ok
    app.config["AUDIT_KEY"] = "someone-elses-key-" + "z" * 32
    try:
        report = verify_all()
    finally:
        app.config["AUDIT_KEY"] = "dev-only-audit-key-not-secret"
    assert not report.ok
    assert any("content altered" in p for p in report.problems)
    assert any("seal altered" in p for p in report.problems)


def test_every_problem_is_named_once_per_broken_fact(app, world, db):
    case, offer = settled(world, db)
    _, agreement = mediated(world, db)
    run(db, "UPDATE offer SET amount = 2 WHERE id = :id", id=offer.id)
    run(db, "UPDATE agreement SET terms = 'x' WHERE id = :id", id=agreement.id)
    report = verify_all()
    seal_problems = [p for p in report.problems if "altered" in p and "event" not in p]
    assert len(seal_problems) == 2, report.problems
    assert db.session.scalar(db.select(db.func.count(Agreement.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 1


def test_sweep_and_every_move_keep_the_audit_clean(app, world, db):
    """Legitimate moves by statement (the sweep's escalation lapsing an open offer, its
    reminders, T5 terminations) and by hand re-seal what they change: nothing reported."""
    from datetime import timedelta

    from odr.disputes.sweep import sweep
    from odr.types import utcnow

    open_offer = file_case(world.consumer, world.enterprise)
    ops.make_offer(world.agent, open_offer, remedy="refund", amount="10.00", terms="十元")
    declined = file_case(world.consumer, world.enterprise)
    ops.decline(world.agent, declined, reason="不同意")
    db.session.commit()
    sweep(utcnow() + timedelta(days=40))
    sweep(utcnow() + timedelta(days=200))
    db.session.expire_all()
    assert db.session.get(Offer, 1).status == "lapsed"
    code, output = audit(app)
    assert code == 0, output


def test_adopt_seals_a_portal_from_before_the_key_once(app, world, db):
    """A portal upgraded from the unkeyed chain: adoption checks the old timelines, re-links
    them under the key and seals every case; a timeline already altered stays reported,
    and adoption cannot be run again to launder a later change."""
    from odr.maintenance.audit import _legacy_hash

    case, offer = settled(world, db)
    other = file_case(world.consumer, world.other_enterprise)
    # Back to how the portal was before: unkeyed SHA-256 links, no seals.
    for complaint_id in (case.id, other.id):
        prev = None
        for event in db.session.scalars(
            db.select(CaseEvent)
            .where(CaseEvent.complaint_id == complaint_id)
            .order_by(CaseEvent.id)
        ):
            event.prev_hash = prev
            event.hash = _legacy_hash(event)
            prev = event.hash
        db.session.get(Complaint, complaint_id).chain_head = prev
    db.session.execute(sa.delete(AuditSeal))
    db.session.commit()
    run(db, "UPDATE case_event SET details = '{}' WHERE complaint_id = :id", id=other.id)
    reference, other_reference = case.reference, other.reference
    assert audit(app)[0] == 1

    result = app.test_cli_runner().invoke(args=["odr", "audit", "adopt"])
    assert result.exit_code == 1
    assert f"case {other_reference}" in result.output and "left unsealed" in result.output
    output = broken(app, f"case {other_reference}")
    assert f"case {reference}" not in output

    again = app.test_cli_runner().invoke(args=["odr", "audit", "adopt"])
    assert again.exit_code != 0 and "runs once" in again.output
