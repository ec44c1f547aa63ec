"""Tamper evidence: check every case's hash-chained timeline and every stored file.

`verify_all()` walks the event log once, in case and id order (streamed, so its memory does
not grow with the portal), recomputes each event's hash, follows the links between events
and compares the last hash with the chain head kept on the case. It then reads every issued
record's PDF and every evidence file and compares their SHA-256 and size with what was
recorded when they were stored. Anything that does not match is named in the report.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from odr.disputes.events import event_hash
from odr.disputes.models import CaseEvent, Complaint, Evidence, Record
from odr.extensions import db

CHUNK = 1024 * 1024
STREAM_ROWS = 1000


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


def verify_all() -> AuditReport:
    report = AuditReport()
    verify_chains(report)
    verify_files(report)
    return report
