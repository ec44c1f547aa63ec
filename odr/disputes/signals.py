"""What changed, announced by the domain: one signal, `cases_changed`.

Every event written on a case notes the case (events.record_event for one case,
operations._Batch.make for the moves made by statements); the parties whose lists show it
(its consumer, its enterprise, its body and the office it is raised to) are taken as they
were and as they are at the commit.
When the session's transaction commits, `cases_changed` is sent once with everything noted
in it (a `Changes`); a rollback forgets it. Whoever keeps something derived from cases (at
most one cache, in one package of the web layer) subscribes; the domain does not know who
listens.

    from odr.disputes.signals import cases_changed

    @cases_changed.connect
    def forget(changes): ...
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from blinker import Namespace
from sqlalchemy import event
from sqlalchemy.orm import Session

cases_changed = Namespace().signal("cases-changed")


@dataclass
class Changes:
    """The ids of the cases changed and of the parties whose case lists changed."""

    cases: set[int] = field(default_factory=set)
    consumers: set[int] = field(default_factory=set)
    enterprises: set[int] = field(default_factory=set)
    bodies: set[int] = field(default_factory=set)

    def add_parties(self, complaint, *, before: bool = False) -> None:
        """The parties of a case as they are (and, `before`, as they were before the
        changes not yet flushed)."""
        state = sa.inspect(complaint)
        for attr, kind in _PARTIES:
            values = {getattr(complaint, attr)}
            if before:
                values.update(state.attrs[attr].history.deleted)
            getattr(self, kind).update(v for v in values if v is not None)


_PENDING = "odr.cases_changed"
_HOOKED = "odr.cases_changed.hooked"

# A case's columns naming the parties whose lists show it.
_PARTIES = (
    ("consumer_id", "consumers"),
    ("enterprise_id", "enterprises"),
    ("body_id", "bodies"),
    ("raised_to_body_id", "bodies"),
)


def announce_case(session: Session, complaint) -> None:
    """Note a changed case (a Complaint): cases_changed names it, and its parties as they
    were and as they are, once the session's transaction commits."""
    changes, noted = _pending(session)
    changes.cases.add(complaint.id)
    changes.add_parties(complaint, before=True)
    noted.append(complaint)


def announce_rows(session: Session, rows, changes: list[dict]) -> None:
    """Note cases moved by statements rather than through their objects (the batch of
    operations._Batch): `rows` have the case's id and party columns as they were,
    `changes[i]` the values written to row i."""
    noted, _objects = _pending(session)
    for row, written in zip(rows, changes, strict=True):
        noted.cases.add(row.id)
        for attr, kind in _PARTIES:
            values = {getattr(row, attr, None), written.get(attr)}
            getattr(noted, kind).update(v for v in values if v is not None)


def _pending(session: Session) -> tuple[Changes, list]:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = (Changes(), [])
        if not session.info.get(_HOOKED):
            # On this session only, once: complete before its commit, send after it,
            # forget at its end.
            event.listen(session, "before_commit", _complete)
            event.listen(session, "after_commit", _send)
            event.listen(session, "after_transaction_end", _forget)
            session.info[_HOOKED] = True
    return found


def _complete(session: Session) -> None:
    found = session.info.get(_PENDING)
    if found is not None:
        changes, noted = found
        for complaint in noted:
            changes.add_parties(complaint)
        noted.clear()


def _send(session: Session) -> None:
    found = session.info.pop(_PENDING, None)
    if found is not None:
        cases_changed.send(found[0])


def _forget(session: Session, transaction) -> None:
    # A savepoint's end keeps what the outer transaction may still commit.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
