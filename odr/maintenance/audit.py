"""Tamper evidence: check every case's keyed timeline, its sealed facts, the chain of all
cases and every stored file.

`verify_all()` walks the event log once, in case and id order (streamed, so its memory does
not grow with the portal), recomputes each event's HMAC, follows the links between events
and compares the last one with the chain head kept on the case. It walks the chain of all
cases (odr/disputes/seals.py) for gaps (a deleted case) and, case by case in batches,
compares every fact (the case's parties and body, messages, offers, agreements, signatures,
evidence and record rows) with its seal. It then reads every issued record's PDF and every
evidence file and compares their SHA-256 and size with what was recorded when they were
stored. Anything that does not match is named in the report.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from odr.disputes import seals
from odr.disputes.events import _FIELDS as _EVENT_FIELDS
from odr.disputes.events import _canonical, event_hash
from odr.disputes.models import AuditSeal, CaseEvent, Complaint, Evidence, Record
from odr.extensions import db

CHUNK = 1024 * 1024
STREAM_ROWS = 1000
SEAL_BATCH = 2000  # cases whose facts are compared with their seals at once


@dataclass
class AuditReport:
    cases: int = 0
    events: int = 0
    records: int = 0
    evidence: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = list(self.problems)
        out.append(
            f"checked {self.cases} cases, {self.events} events, {self.records} records, "
            f"{self.evidence} evidence files: "
            + ("all intact" if self.ok else f"{len(self.problems)} problem(s)")
        )
        return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _case_label(reference: str | None, complaint_id: int) -> str:
    return f"case {reference or '?'} (id {complaint_id})"


def verify_chains(report: AuditReport) -> None:
    cases = {
        row.id: row
        for row in db.session.execute(
            db.select(Complaint.id, Complaint.reference, Complaint.chain_head, Complaint.state)
        )
    }
    report.cases = len(cases)
    seen: set[int] = set()
    current: int | None = None
    prev: str | None = None
    last_state: str | None = None

    def close(complaint_id: int | None) -> None:
        if complaint_id is None:
            return
        case = cases.get(complaint_id)
        if case is None:
            report.problems.append(f"events of a case that does not exist (id {complaint_id})")
            return
        label = _case_label(case.reference, complaint_id)
        if case.chain_head != prev:
            report.problems.append(f"{label}: chain head does not match the last event")
        if last_state is not None and str(case.state) != last_state:
            report.problems.append(
                f"{label}: state {case.state} differs from the timeline ({last_state})"
            )

    query = (
        db.select(CaseEvent)
        .order_by(CaseEvent.complaint_id, CaseEvent.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for event in db.session.scalars(query):
        if event.complaint_id != current:
            close(current)
            current, prev, last_state = event.complaint_id, None, None
            seen.add(event.complaint_id)
        case = cases.get(event.complaint_id)
        label = _case_label(case.reference if case else None, event.complaint_id)
        report.events += 1
        if event.prev_hash != prev:
            report.problems.append(f"{label}: event {event.id}: link to the previous event broken")
        if event_hash(event) != event.hash:
            report.problems.append(f"{label}: event {event.id} ({event.action}): content altered")
        prev, last_state = event.hash, event.to_state
    close(current)
    for complaint_id, case in cases.items():
        if complaint_id not in seen:
            report.problems.append(f"{_case_label(case.reference, complaint_id)}: no timeline")


def _check_file(report: AuditReport, what: str, path: Path, sha256: str, size: int) -> None:
    if not path.is_file():
        report.problems.append(f"{what}: file missing ({path})")
        return
    if path.stat().st_size != size:
        report.problems.append(f"{what}: file altered (size {path.stat().st_size}, issued {size})")
        return
    actual = file_sha256(path)
    if actual != sha256:
        report.problems.append(f"{what}: file altered (sha256 {actual}, issued {sha256})")


def verify_files(report: AuditReport) -> None:
    record_dir = Path(current_app.config["RECORD_DIR"])
    rows = db.session.execute(
        db.select(Record.code, Record.path, Record.sha256, Record.size, Complaint.reference)
        .join(Complaint, Complaint.id == Record.complaint_id)
        .order_by(Record.id)
    )
    for row in rows:
        report.records += 1
        if row.path is None:
            continue  # issued moments ago, rendered by the worker: no file to check yet
        _check_file(
            report,
            f"record {row.code} of case {row.reference}",
            record_dir / row.path,
            row.sha256,
            row.size,
        )
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    rows = db.session.execute(
        db.select(Evidence.id, Evidence.stored_name, Evidence.sha256, Evidence.size).order_by(
            Evidence.id
        )
    )
    for row in rows:
        report.evidence += 1
        _check_file(
            report,
            f"evidence {row.id} ({row.stored_name})",
            upload_dir / row.stored_name,
            row.sha256,
            row.size,
        )


def verify_registry(report: AuditReport) -> None:
    """The chain of all cases: consecutive serials, each linked to the one before under the
    key; a seal whose case is gone, or a gap in the serials, is a deleted case."""
    references = dict(db.session.execute(db.select(Complaint.id, Complaint.reference)).all())
    expected, prev = 1, None
    query = (
        db.select(
            AuditSeal.serial,
            AuditSeal.complaint_id,
            AuditSeal.reference,
            AuditSeal.prev_link,
            AuditSeal.link,
        )
        .order_by(AuditSeal.serial)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for row in db.session.execute(query):
        if row.serial != expected:
            report.problems.append(
                f"chain of cases: {_serials(expected, row.serial - 1)} missing: "
                "a case was deleted with its seal"
            )
        elif row.prev_link != prev:
            report.problems.append(
                f"chain of cases: link {row.serial} does not follow the one before"
            )
        if seals.link_mac(row.serial, row.complaint_id, row.reference, row.prev_link) != row.link:
            report.problems.append(f"chain of cases: link {row.serial} ({row.reference}) altered")
        if row.complaint_id not in references:
            report.problems.append(
                f"{_case_label(row.reference, row.complaint_id)}: deleted (its seal remains)"
            )
        elif references[row.complaint_id] != row.reference:
            report.problems.append(
                f"{_case_label(references[row.complaint_id], row.complaint_id)}: reference "
                f"changed (sealed as {row.reference})"
            )
        expected, prev = row.serial + 1, row.link


def _serials(first: int, last: int) -> str:
    return f"link {first}" if first == last else f"links {first} to {last}"


def verify_seals(report: AuditReport) -> None:
    """Every case's facts against its seal, SEAL_BATCH cases at a time."""
    ids = list(db.session.scalars(db.select(Complaint.id).order_by(Complaint.id)))
    connection = db.session.connection()
    for start in range(0, len(ids), SEAL_BATCH):
        batch = ids[start : start + SEAL_BATCH]
        held = {
            row.complaint_id: row
            for row in db.session.execute(
                db.select(AuditSeal).where(AuditSeal.complaint_id.in_(batch))
            ).scalars()
        }
        references = dict(
            db.session.execute(
                db.select(Complaint.id, Complaint.reference).where(Complaint.id.in_(batch))
            ).all()
        )
        actual = seals.current_facts(connection, batch)
        for case_id in batch:
            label = _case_label(references.get(case_id), case_id)
            seal = held.get(case_id)
            if seal is None:
                report.problems.append(f"{label}: not sealed (its seal was removed)")
                continue
            if seals.seal_mac(case_id, seal.version, seal.link, seal.facts) != seal.mac:
                report.problems.append(f"{label}: seal altered")
                continue
            _compare(report, label, json.loads(seal.facts), actual.get(case_id, {}))


def _compare(report: AuditReport, label: str, sealed: dict, actual: dict) -> None:
    if "!" in sealed:
        report.problems.append(f"{label}: a broken seal was found at version {sealed['!']}")
    for kind, spec in seals.KINDS.items():
        expected, present = sealed.get(kind, {}), actual.get(kind, {})
        for row_id in sorted(set(expected) | set(present), key=int):
            what = spec.label if kind == "case" else f"{spec.label} {row_id}"
            if row_id not in present:
                report.problems.append(f"{label}: {what} deleted")
            elif row_id not in expected:
                report.problems.append(
                    f"{label}: {what} not in the seal (added outside the portal)"
                )
            elif expected[row_id] != present[row_id]:
                report.problems.append(f"{label}: {what} altered")


def verify_all() -> AuditReport:
    report = AuditReport()
    verify_chains(report)
    verify_registry(report)
    verify_seals(report)
    verify_files(report)
    return report


class AdoptionRefused(Exception):
    pass


def _legacy_hash(event: CaseEvent) -> str:
    """The timeline's link before it was keyed: plain SHA-256 (anyone could compute it)."""
    fields = {name: getattr(event, name) for name in (*_EVENT_FIELDS, "details")}
    return hashlib.sha256((event.prev_hash or "").encode() + _canonical(fields)).hexdigest()


def _rechain(case: Complaint, events: list[CaseEvent]) -> None:
    prev = None
    for event in events:
        event.prev_hash = prev
        event.hash = event_hash(event)
        prev = event.hash
    case.chain_head = prev


def adopt_existing(batch: int = 500) -> AuditReport:
    """Once, after upgrading to keyed seals: check every case's timeline under the old
    (unkeyed) hashes, then re-link it under ODR_AUDIT_KEY and seal the case's facts as they
    are. A case whose old timeline does not verify is named and left unsealed (so it stays
    reported). Refused when any case is sealed already: it is not a way to re-seal."""
    if db.session.scalar(db.select(db.func.count()).select_from(AuditSeal)):
        raise AdoptionRefused("cases are sealed already: adoption runs once, on an unsealed portal")
    report = AuditReport()
    ids = list(db.session.scalars(db.select(Complaint.id).order_by(Complaint.id)))
    report.cases = len(ids)
    for start in range(0, len(ids), batch):
        chosen = []
        for case_id in ids[start : start + batch]:
            events = db.session.scalars(
                db.select(CaseEvent).where(CaseEvent.complaint_id == case_id).order_by(CaseEvent.id)
            ).all()
            case = db.session.get(Complaint, case_id)
            prev, intact = None, True
            for event in events:
                report.events += 1
                if event.prev_hash != prev or _legacy_hash(event) != event.hash:
                    intact = False
                prev = event.hash
            if not intact or case.chain_head != prev:
                report.problems.append(
                    f"{_case_label(case.reference, case_id)}: timeline altered before adoption; "
                    "left unsealed"
                )
                continue
            chosen.append((case, events))

        found = {case.id: (case, events) for case, events in chosen}
        seals.adopt(
            db.session(), list(found), lambda case_id, found=found: _rechain(*found[case_id])
        )
        db.session.commit()
    return report
