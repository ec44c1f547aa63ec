"""Tamper evidence: `flask odr audit verify` checks every case's hash chain and every
issued record's SHA-256, names what was altered and exits non-zero."""

import json
from pathlib import Path

from odr.disputes import operations as ops
from odr.disputes import records
from odr.disputes.events import verify_chain
from odr.disputes.models import CaseEvent, Record
from odr.maintenance.audit import verify_all
from tests.factories import file_case, shanghai


def settled_case(world, db, *, now=None):
    """A case settled by an accepted offer: four events and one settlement record."""
    complaint = file_case(world.consumer, world.enterprise, now=now)
    offer = ops.make_offer(
        world.agent, complaint, remedy="refund", amount="1299.00", terms="全额退款"
    )
    db.session.commit()
    ops.reject_offer(world.consumer, complaint, offer.id, counter_proposal="再加运费")
    db.session.commit()
    offer = ops.make_offer(
        world.agent, complaint, remedy="refund", amount="1350.00", terms="退款并补运费"
    )
    db.session.commit()
    ops.accept_offer(world.consumer, complaint, offer.id)
    db.session.commit()
    records.render_due()  # the worker renders the settlement record after the commit
    return complaint


def audit(app):
    result = app.test_cli_runner().invoke(args=["odr", "audit", "verify"])
    return result.exit_code, result.output


def test_intact_portal_passes(app, world, db):
    settled_case(world, db)
    file_case(world.consumer, world.other_enterprise)
    code, output = audit(app)
    assert code == 0, output
    assert "checked 2 cases, 6 events, 1 records" in output
    assert "all intact" in output


def test_chain_holds_for_events_stamped_in_another_time_zone(app, world, db):
    # Operations receive `now` in Asia/Shanghai from tests and the sweep's --as-of; the row
    # comes back in UTC. The hash must not depend on the zone the time was given in.
    complaint = settled_case(world, db, now=shanghai(2026, 9, 7, 9, 30))
    db.session.expire_all()
    assert verify_chain(complaint.id) == []
    assert audit(app)[0] == 0


def test_altered_event_row_and_record_byte_are_both_named(app, world, db):
    complaint = settled_case(world, db)
    untouched = file_case(world.consumer, world.other_enterprise)
    accept = db.session.scalar(
        db.select(CaseEvent).where(
            CaseEvent.complaint_id == complaint.id, CaseEvent.action == "accept_offer"
        )
    )
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == complaint.id))
    reference, code, event_id = complaint.reference, record.code, accept.id

    # Someone with database access rewrites what was accepted ...
    db.session.execute(
        db.text("UPDATE case_event SET details = :details WHERE id = :id"),
        {"details": json.dumps({"offer_id": 999999}), "id": event_id},
    )
    db.session.commit()
    # ... and someone with file access changes one byte of the issued PDF.
    path = Path(app.config["RECORD_DIR"]) / record.path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    code_, output = audit(app)
    assert code_ == 1
    assert (
        f"case {reference}" in output
        and f"event {event_id} (accept_offer): content altered" in (output)
    )
    assert f"record {code} of case {reference}: file altered" in output
    assert untouched.reference not in output
    assert "2 problem(s)" in output


def test_deleted_event_reordered_state_and_missing_file_are_caught(app, world, db):
    complaint = settled_case(world, db)
    events = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.id)
    ).all()
    rejected = next(e for e in events if e.action == "reject_offer")
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == complaint.id))
    db.session.execute(db.text("DELETE FROM case_event WHERE id = :id"), {"id": rejected.id})
    db.session.execute(
        db.text("UPDATE complaint SET state = 'negotiating' WHERE id = :id"), {"id": complaint.id}
    )
    db.session.commit()
    (Path(app.config["RECORD_DIR"]) / record.path).unlink()

    report = verify_all()
    text = "\n".join(report.problems)
    assert not report.ok
    assert "link to the previous event broken" in text
    assert "state negotiating differs from the timeline (settled)" in text
    assert f"record {record.code} of case {complaint.reference}: file missing" in text


def test_appended_event_is_caught(app, world, db):
    complaint = settled_case(world, db)
    # A forged last event whose hash is recomputed, but the case's head is not updated.
    last = db.session.scalar(
        db.select(CaseEvent)
        .where(CaseEvent.complaint_id == complaint.id)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    forged = CaseEvent(
        complaint_id=complaint.id,
        at=last.at,
        actor_id=None,
        actor_role="system",
        action="withdraw",
        from_state="settled",
        to_state="settled",
        details={},
        prev_hash=last.hash,
        hash="0" * 64,
    )
    db.session.add(forged)
    db.session.commit()
    from odr.disputes.events import event_hash

    forged.hash = event_hash(forged)
    db.session.commit()
    problems = verify_chain(complaint.id)
    assert problems == ["chain head does not match the last event"]
    code, output = audit(app)
    assert code == 1 and "chain head does not match the last event" in output
