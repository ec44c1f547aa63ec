"""Keyed seals over every fact a record or a decision rests on.

The key (ODR_AUDIT_KEY, read by odr/config.py only) lives outside the database, so someone
with database access alone can neither rebuild a hash chain nor re-seal a changed row.

- Events: each case's timeline is a chain of HMACs (odr/disputes/events.py uses `keyed`).
- Facts: each case has one seal row (AuditSeal) holding the HMAC of every fact of the case,
  per kind and row: the case itself (its consumer, enterprise, body, mediator, state, chain
  head, the complaint's text and amounts), its messages, offers (amount, terms, status),
  agreements, signatures, evidence (name, size, SHA-256) and records (code, SHA-256, size),
  plus a MAC over the whole. Every write through the session updates it at the commit
  (`before_commit`): the facts written in the transaction are sealed anew, the others keep
  the seal they had, so a row changed behind the portal's back stays reported even after
  the case moves on. Statements that change rows without the session note them (`note`).
- Cases: each seal row is registered once, at the case's filing, in one chain over all
  cases (serial, previous link, link): a case deleted with its seal leaves a gap.

`odr audit verify` (odr/maintenance/audit.py) recomputes all of it; the public record check
(odr/disputes/records.py) asks `record_sealed`.
"""

import hmac
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from odr.disputes.models import (
    Agreement,
    AuditSeal,
    Complaint,
    Evidence,
    Message,
    Offer,
    Record,
    Signature,
)

SEAL_CHARS = 32  # 128 bits of each row's HMAC are kept in the seal
_PENDING = "odr.seals.pending"
_LOCK_ID = 0x0D5EA1  # PostgreSQL advisory lock taken while a case is registered


def keyed(data: bytes, key: bytes | None = None) -> str:
    """HMAC-SHA256 of `data` under the audit key (`key`: the audit key as bytes, when the
    caller seals many rows and asked for it once)."""
    return hmac.digest(key or audit_key(), data, "sha256").hex()


def audit_key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def sign_text(text: str, key: bytes | None = None) -> str:
    return keyed(text.encode(), key)


# -- the facts -----------------------------------------------------------------------------


class Kind:
    def __init__(self, name, model, columns, label, case_column=None):
        self.name, self.model, self.label = name, model, label
        self.table = model.__table__
        self.columns = [self.table.c[c] for c in columns]
        self.case_column = case_column if case_column is not None else self.table.c.complaint_id

    def select(self):
        return sa.select(self.table.c.id, self.case_column.label("case_id"), *self.columns)


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "case",
            Complaint,
            (
                "reference",
                "consumer_id",
                "enterprise_id",
                "respondent_name",
                "respondent_credit_code",
                "respondent_region_code",
                "complainant_name",
                "complainant_phone",
                "complainant_address",
                "green_channel",
                "subject_kind",
                "subject",
                "purchase_date",
                "purchase_place",
                "purchase_url",
                "amount",
                "issue",
                "requests",
                "claimed_amount",
                "facts",
                "filed_at",
                "state",
                "body_id",
                "mediator_id",
                "chain_head",
                "settled_amount",
                "performance_due",
                "performance_status",
            ),
            "the case (parties, body, state)",
            case_column=Complaint.__table__.c.id,
        ),
        Kind(
            "message",
            Message,
            ("author_id", "author_role", "body", "internal", "created_at"),
            "message",
        ),
        Kind(
            "offer",
            Offer,
            (
                "made_by_id",
                "remedy",
                "amount",
                "terms",
                "performance_due",
                "status",
                "counter_proposal",
                "counter_remedy",
                "counter_amount",
                "expires_on",
                "created_at",
                "answered_at",
            ),
            "offer",
        ),
        Kind(
            "agreement",
            Agreement,
            ("proposed_by_id", "terms", "amount", "performance_due", "status", "created_at"),
            "agreement",
        ),
        Kind(
            "signature",
            Signature,
            ("agreement_id", "user_id", "party", "signed_at"),
            "signature",
            case_column=Agreement.__table__.c.complaint_id,
        ),
        Kind(
            "evidence",
            Evidence,
            (
                "uploaded_by_id",
                "filename",
                "stored_name",
                "content_type",
                "size",
                "sha256",
                "created_at",
            ),
            "evidence",
        ),
        Kind(
            "record",
            Record,
            ("kind", "code", "issued_at", "sha256", "path", "size", "language"),
            "record",
        ),
    )
}
_KIND_OF_MODEL = {kind.model: kind for kind in KINDS.values()}
_NAMES = {kind.name: [c.name for c in kind.columns] for kind in KINDS.values()}


_AS_IS = frozenset({str, int, bool, type(None)})
# json.dumps with these options makes an encoder a call; one made once writes the same text.
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _plain(value):
    """A column's value as the same text on both databases and after a backup."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


# Column types whose values come back from either driver as str, int, bool, None or decoded
# JSON, which _plain leaves as they are: in a row read from the database only the other
# columns (enums, dates, datetimes, amounts) go through _plain (the sweep seals tens of
# thousands of rows a batch of cases, most of their values text and numbers).
_AS_STORED = frozenset({sa.String, sa.Text, sa.Integer, sa.Boolean, sa.JSON})
# Per kind: the positions in a row of KINDS[kind].select() (id, case id, then the columns)
# whose values are converted, and the position of each column by name.
_CONVERTED = {
    kind.name: [n + 2 for n, c in enumerate(kind.columns) if type(c.type) not in _AS_STORED]
    for kind in KINDS.values()
}
_POSITION = {
    kind.name: {c.name: n + 2 for n, c in enumerate(kind.columns)} for kind in KINDS.values()
}


def _row_values(kind: str, row) -> list:
    """[id, case id, *plain values of the kind's columns] of a row (see row_seal)."""
    if isinstance(row, sa.Row):  # as read: by position, converting only what needs it
        values = list(row)
        for n in _CONVERTED[kind]:
            if values[n] is not None:  # many are empty (no settlement, no answer yet)
                values[n] = _plain(values[n])
        return values
    mapping = row._mapping
    return [row.id, row.case_id, *(_plain(mapping[name]) for name in _NAMES[kind])]


def _sealed(kind: str, values: list, key: bytes | None) -> str:
    """The seal of a row's [id, case id, *plain values] (see _row_values)."""
    return keyed(_encode([kind, *values]).encode(), key)[:SEAL_CHARS]


def row_seal(kind: str, row, key: bytes | None = None) -> str:
    """The seal of one row: a result row of KINDS[kind].select(), or an object with `id`,
    `case_id` and `_mapping` (_Loaded). `key`: as for `keyed`."""
    return _sealed(kind, _row_values(kind, row), key)


def _query(kind: str, case_ids, row_ids=None):
    spec = KINDS[kind]
    query = spec.select()
    if kind == "signature":
        query = query.join(
            Agreement.__table__, Agreement.__table__.c.id == spec.table.c.agreement_id
        )
    query = query.where(spec.case_column.in_(sorted(case_ids)))
    if row_ids is not None:
        query = query.where(spec.table.c.id.in_(sorted(row_ids)))
    return query


def current_facts(connection, case_ids, kinds=None) -> dict[int, dict[str, dict[str, str]]]:
    """{case id: {kind: {row id: seal}}} as the database holds them now."""
    facts: dict = defaultdict(lambda: defaultdict(dict))
    key = audit_key()  # asked once for all the rows
    for kind in kinds or KINDS:
        for row in connection.execute(_query(kind, case_ids)):
            facts[row.case_id][kind][str(row.id)] = row_seal(kind, row, key)
    return facts


def facts_text(facts: dict) -> str:
    return json.dumps(facts, sort_keys=True, separators=(",", ":"))


def seal_mac(
    complaint_id: int, version: int, link: str, text: str, key: bytes | None = None
) -> str:
    return sign_text(f"seal|{complaint_id}|{version}|{link}|{text}", key)


def link_mac(serial: int, complaint_id: int, reference: str, prev_link: str | None) -> str:
    return sign_text(f"case|{serial}|{complaint_id}|{reference}|{prev_link or ''}")


# -- noting what a transaction changed ---------------------------------------------------


def _pending(session: Session) -> dict:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = {
            "rows": defaultdict(set),
            "all": set(),
            "new": set(),
            "signatures": defaultdict(set),
            # (case id, kind, row id) -> the seal of the row as it was before this
            # transaction changed it: a row changed behind the portal's back before a
            # legitimate change keeps its old seal (it is not laundered by the change).
            "before": {},
            # (case id, kind) -> {row id: the seal of the row as a statement wrote it}
            # (remember_before with `writes`): not read back at the commit.
            "known": defaultdict(dict),
        }
    return found


def remember_before(session: Session, kind: str, case_ids, writes=None) -> set[int]:
    """Before a statement changes rows of `kind` in these cases: note how they are now.
    `writes(row)` (the values the statement will write to a row read now, or None for a row
    it leaves alone): the rows written are then sealed from that one reading, as they will
    be, and the commit does not read them back (the sweep's batches: ten thousand cases
    read once instead of twice); they need no `note`. A later change through the session,
    or a `note`, has them read again. Answers the ids of the rows `writes` wrote to."""
    pending = _pending(session)
    before, known = pending["before"], pending["known"]
    written = set()
    key, position = audit_key(), _POSITION[kind]  # the key asked once for all the rows
    for row in session.connection().execute(_query(kind, case_ids)):
        values = writes(row) if writes is not None else None
        if writes is not None and values is None:
            continue  # not changed by the statement: its seal stays as it is
        plain = _row_values(kind, row)
        if (row.case_id, kind, row.id) not in before:
            before[(row.case_id, kind, row.id)] = _sealed(kind, plain, key)
        if values is not None:
            note(session, kind, [row.case_id], [row.id])
            # The row as the statement leaves it: the values it writes over the ones read.
            for name, value in values.items():
                if name in position:
                    plain[position[name]] = _plain(value)
            known[(row.case_id, kind)][row.id] = _sealed(kind, plain, key)
            written.add(row.id)
    return written


class _Loaded:
    """A row as it was loaded, rebuilt from an object and its attribute history."""

    def __init__(self, obj, kind):
        state = sa.inspect(obj)
        values = {}
        for column in kind.columns:
            history = state.attrs[column.key].history
            values[column.name] = (
                history.deleted[0]
                if history.deleted
                else history.unchanged[0]
                if history.unchanged
                else getattr(obj, column.key)
            )
        self.id = obj.id
        self._mapping = values
        if kind.name == "case":
            self.case_id = obj.id
        else:
            history = state.attrs.complaint_id.history
            self.case_id = history.deleted[0] if history.deleted else obj.complaint_id


def note(session: Session, kind: str, case_ids, row_ids=None) -> None:
    """Rows of `kind` in these cases were changed by a statement (not through the session):
    seal them anew at the commit. `row_ids` None: every row of the kind in those cases."""
    pending = _pending(session)
    known = pending["known"]
    for case_id in case_ids:
        if row_ids is None:
            pending["all"].add((case_id, kind))
            known.pop((case_id, kind), None)
        else:
            pending["rows"][(case_id, kind)].update(row_ids)
            written = known.get((case_id, kind))
            for row_id in row_ids if written else ():
                written.pop(row_id, None)


def _sealed_change(obj, kind) -> bool:
    if kind.name != "case":
        return True
    state = sa.inspect(obj)
    return any(state.attrs[c.key].history.has_changes() for c in kind.columns)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    signatures: dict[int, set[int]] = defaultdict(set)
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            kind = _KIND_OF_MODEL.get(type(obj))
            if kind is None or (group is session.dirty and not _sealed_change(obj, kind)):
                continue
            if kind.name == "signature":
                signatures[obj.agreement_id].add(obj.id)
                continue
            if kind.name == "case":
                cases = {obj.id}
            else:
                history = sa.inspect(obj).attrs.complaint_id.history
                cases = {obj.complaint_id, *history.deleted} - {None}
            if group is not session.new:
                loaded = _Loaded(obj, kind)
                if loaded.case_id is not None:
                    _pending(session)["before"].setdefault(
                        (loaded.case_id, kind.name, obj.id), row_seal(kind.name, loaded)
                    )
            for case_id in cases:
                note(session, kind.name, [case_id], [obj.id])
            if kind.name == "case" and obj in session.new:
                _pending(session)["new"].add(obj.id)
    for agreement_id, ids in signatures.items():
        _pending(session)["signatures"][agreement_id].update(ids)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    if not session.info.get(_PENDING):
        return
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    connection = session.connection()
    rows: dict = pending["rows"]
    everything: set = pending["all"]
    by_agreement = pending["signatures"]
    if by_agreement:
        for agreement_id, case_id in connection.execute(
            sa.select(Agreement.__table__.c.id, Agreement.__table__.c.complaint_id).where(
                Agreement.__table__.c.id.in_(sorted(by_agreement))
            )
        ):
            rows.setdefault((case_id, "signature"), set()).update(by_agreement[agreement_id])
    cases = sorted({case_id for case_id, _kind in [*rows, *everything]})
    if not cases:
        return
    _write_seals(
        connection, cases, rows, everything, pending["new"], pending["before"], pending["known"]
    )


def seal_now(session: Session) -> None:
    """Seal at once what this transaction has changed so far, rather than at its commit:
    a record rendered on demand is checked against its seal in the same request."""
    _seal(session)


def _write_seals(connection, cases, rows, everything, new_cases, before, known) -> None:
    table = AuditSeal.__table__
    old = [c for c in cases if c not in new_cases]
    held = {}
    if old:  # a new case has no seal yet: nothing to read or lock
        held = {
            row.complaint_id: row
            for row in connection.execute(
                sa.select(table).where(table.c.complaint_id.in_(old)).with_for_update()
            )
        }
    # What the database holds now for the rows written in this transaction: as a statement
    # wrote them where remember_before learnt that, else read back.
    wanted: dict[str, set[int]] = defaultdict(set)
    now: dict = defaultdict(lambda: defaultdict(dict))
    for case_id, kind in everything:
        wanted[kind].add(case_id)
    for (case_id, kind), ids in rows.items():
        if (case_id, kind) in everything:
            continue
        written = known.get((case_id, kind))
        if case_id not in new_cases and written and ids <= written.keys():
            now[case_id][kind].update((str(i), written[i]) for i in ids)
        else:
            wanted[kind].add(case_id)
    references: dict[int, str] = {}
    key = audit_key()  # asked once for all the rows and seals
    for kind, case_ids in wanted.items():
        ids = None
        if not any((c, kind) in everything for c in case_ids):
            ids = set().union(*(rows.get((c, kind), set()) for c in case_ids))
        for row in connection.execute(_query(kind, case_ids, ids)):
            now[row.case_id][kind][str(row.id)] = row_seal(kind, row, key)
            if kind == "case":
                references[row.id] = row.reference
    updates = []
    for case_id in cases:
        seal = held.get(case_id)
        if seal is None and case_id not in new_cases:
            continue  # a case sealed before seals existed, or whose seal is gone: reported
        if seal is None:
            if case_id not in references:
                continue  # filed and deleted in one transaction
            facts, version = {}, 0
        else:
            facts = json.loads(seal.facts)
            version = seal.version
            if seal_mac(case_id, version, seal.link, seal.facts, key) != seal.mac:
                facts["!"] = {"broken": str(version)}
        _merge(facts, case_id, rows, everything, now, before)
        text = facts_text(facts)
        version += 1
        if seal is None:
            _register(connection, case_id, references[case_id], text)
            continue
        updates.append(
            {
                "sealed_case": case_id,
                "new_version": version,
                "new_facts": text,
                "new_mac": seal_mac(case_id, version, seal.link, text, key),
            }
        )
    if updates:  # one statement for the batch (the sweep's hundreds of cases)
        connection.execute(
            sa.update(table)
            .where(table.c.complaint_id == sa.bindparam("sealed_case"))
            .values(
                version=sa.bindparam("new_version"),
                facts=sa.bindparam("new_facts"),
                mac=sa.bindparam("new_mac"),
            ),
            updates,
        )


def _merge(facts, case_id, rows, everything, now, before) -> None:
    """Take the new seals of the rows this transaction wrote into the case's facts."""
    for kind in KINDS:
        touched = (case_id, kind) in everything
        ids = rows.get((case_id, kind))
        if not touched and not ids:
            continue
        current = now[case_id].get(kind, {})
        kept = facts.setdefault(kind, {})
        changed = set(kept) | set(current) if touched else set(map(str, ids))
        for row_id in changed:
            was = before.get((case_id, kind, int(row_id)))
            if row_id in kept and was is not None and was != kept[row_id]:
                continue  # changed behind the portal's back first: stays reported
            if row_id in current:
                kept[row_id] = current[row_id]
            else:
                kept.pop(row_id, None)
        if not kept:
            facts.pop(kind)


def _register(connection, case_id: int, reference: str, text: str) -> None:
    """Seal a new case and add it to the chain of all cases: the next serial, linked to the
    one before. On PostgreSQL an advisory lock makes filings take their serials in turn
    (SQLite's write lock already does)."""
    table = AuditSeal.__table__
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    last = connection.execute(
        sa.select(table.c.serial, table.c.link).order_by(table.c.serial.desc()).limit(1)
    ).first()
    serial = (last.serial if last else 0) + 1
    prev_link = last.link if last else None
    link = link_mac(serial, case_id, reference, prev_link)
    connection.execute(
        sa.insert(table).values(
            complaint_id=case_id,
            reference=reference,
            serial=serial,
            prev_link=prev_link,
            link=link,
            version=1,
            facts=text,
            mac=seal_mac(case_id, 1, link, text),
        )
    )


# -- checking one record (the public verification page) ----------------------------------


def seal_of(complaint_id: int):
    table = AuditSeal.__table__
    return sa.select(table).where(table.c.complaint_id == complaint_id)


def record_sealed(session, record) -> bool:
    """Whether the record's row (its SHA-256, size, code) is the one sealed when it was
    issued, under an intact seal."""
    seal = session.execute(seal_of(record.complaint_id)).first()
    if seal is None or seal_mac(seal.complaint_id, seal.version, seal.link, seal.facts) != seal.mac:
        return False
    row = session.execute(_query("record", [record.complaint_id], [record.id])).first()
    if row is None:
        return False
    expected = json.loads(seal.facts).get("record", {}).get(str(record.id))
    return expected is not None and hmac.compare_digest(expected, row_seal("record", row))


# -- adopting cases filed before the seals -----------------------------------------------


def adopt(session: Session, case_ids, rechain) -> None:
    """Seal cases that have no seal yet (filed before this version): every fact of theirs
    is sealed as it is now, and each is registered in the chain of cases. `rechain(case_id)`
    first re-links the case's timeline under the key. Sealed at the session's commit."""
    pending = _pending(session)
    for case_id in case_ids:
        rechain(case_id)
        pending["new"].add(case_id)
        for kind in KINDS:
            pending["all"].add((case_id, kind))
