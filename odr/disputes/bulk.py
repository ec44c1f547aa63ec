"""The sweep's escalation of overdue cases, many at once.

`operations.escalate_overdue` moves one case through the session: it loads the case and
its parties, writes the event, lapses the open offers and tells everyone, about 15 ms of
work a case. The sweep may find ten thousand cases due on one morning, so here the same
move is made with a few statements per batch: the due cases are read (and locked) as plain
rows, checked against the same transition table, and updated, their events, notices and
e-mails inserted with one multi-row statement each. What is written is exactly what the
one-case path writes (same event contents and hash chain, same recipients, same e-mails);
tests/test_sweep.py runs both paths over the same cases and compares.

A case whose row changed since it was read (its version moved) makes the batch fail; the
sweep then undoes the batch and moves its cases one at a time through the operation.
"""

import functools
import sys
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from odr import viewcache
from odr.auth.models import User
from odr.disputes import deadlines, routing
from odr.disputes import notifications as notices
from odr.disputes.events import event_row
from odr.disputes.memo import memo, remember, unknown
from odr.disputes.models import CaseEvent, Complaint, Enterprise, Notification, Offer, Outbox
from odr.disputes.states import TARGETS, Move, Role, check_move
from odr.extensions import db


def _locking(query):
    if db.session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Complaint.__table__)
    return query


def _among(column, values) -> sa.ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(<one array>)`: an expanding IN is
    rendered again on every run with one parameter per value (500 in a batch), and psycopg
    parses each new text again."""
    if db.session.get_bind().dialect.name == "postgresql":
        kind = postgresql.ARRAY(column.type)
        return column == sa.any_(sa.bindparam(None, list(values), type_=kind))
    return column.in_(list(values))


def _plain(body) -> tuple[int, str] | None:
    return (body.id, body.name) if body is not None else None


def _region_body(region_code: str | None) -> tuple[int, str] | None:
    """A region's office as (id, name), remembered for the sweep as plain values (the bodies
    routing remembers are expired by every batch's commit and read again)."""
    return memo(
        ("escalation_body_region", region_code),
        lambda: _plain(routing.competent_body_for_region(region_code)),
    )


def _enterprise_body(enterprise: Enterprise) -> tuple[int, str] | None:
    """The office of the enterprise (or of its platform), without the consumer's region."""
    return routing.competent_body(enterprise, for_region=_region_body)


def _competent_body(enterprise_id: int | None, region_code: str | None) -> tuple[int, str] | None:
    """(id, name) of the body a case goes to (routing.competent_body), the enterprise's part
    remembered per enterprise: its office where it has one, else the consumer's region's."""
    if enterprise_id is not None:
        body = memo(
            ("escalation_body", enterprise_id),
            lambda: _enterprise_body(db.session.get(Enterprise, enterprise_id)),
        )
        if body is not None:
            return body
    return _region_body(region_code)


def _prefetch(enterprise_ids: set[int]) -> None:
    """What the batch's enterprises need (their office, staff and webhooks), asked with a
    few queries for all of them rather than a few for each."""
    wanted = [key[1] for key in unknown(("escalation_body", e) for e in enterprise_ids)]
    if wanted:
        for enterprise in db.session.scalars(
            sa.select(Enterprise)
            .where(_among(Enterprise.id, wanted))
            .options(selectinload(Enterprise.platform))
        ):
            remember(("escalation_body", enterprise.id), _enterprise_body(enterprise))
    notices.prefetch(enterprise_ids)


def _prepare(table: sa.Table, rows: list[dict]) -> tuple[str, list[tuple]] | None:
    """Many rows to INSERT (dicts with the same keys) as the driver takes them: (target,
    value tuples), for `_write` (one executemany at the driver; COPY on PostgreSQL).

    SQLAlchemy's executemany binds every value of every row through its column type (a
    UTC datetime conversion, a JSON dump) and was a third of the sweep's time; here each
    distinct value object is bound once by its column's own processor (a batch shares its
    timestamps, a case's recipients share its params), and the column defaults the rows
    leave out are computed once for the batch. Sends nothing to the database."""
    if not rows:
        return None
    dialect = db.session.get_bind().dialect
    names = list(rows[0])
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name in names or default is None or column.primary_key:
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg
        elif default.is_callable:
            defaults[column.name] = default.arg(None)
    columns = [*names, *defaults]
    binders = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    if dialect.name == "postgresql":
        context = db.session.connection().connection.driver_connection
        binders = [
            _as_text(context, b, table.c[n].type) for b, n in zip(binders, columns, strict=True)
        ]
    # The defaults are the same for every row: bound once. Of the rows' own columns, only
    # those with a binder are looked at one by one.
    fixed = tuple(
        binders[i](defaults[name]) if binders[i] and defaults[name] is not None else defaults[name]
        for i, name in enumerate(columns)
        if name in defaults
    )
    bound_at = [i for i in range(len(names)) if binders[i] is not None]
    seen: list[dict[int, object]] = [{} for _ in columns]
    values = []
    for row in rows:
        out = [row[name] for name in names]
        for i in bound_at:
            value = out[i]
            if value is not None:
                bound = seen[i].get(id(value), seen)  # the rows keep every value alive
                if bound is seen:
                    bound = seen[i][id(value)] = binders[i](value)
                out[i] = bound
        values.append((*out, *fixed))
    quote = dialect.identifier_preparer.quote
    return f"{quote(table.name)} ({', '.join(quote(name) for name in columns)})", values


def _write(prepared: tuple[str, list[tuple]] | None) -> None:
    if prepared is None:
        return
    target, values = prepared
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # COPY: one stream instead of a statement per row (the server's share was 45%).
        cursor = connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {target} VALUES ({', '.join([mark] * len(values[0]))})", values
    )


def _as_text(cursor, binder, kind):
    """A JSON column's binder for COPY on psycopg: the JSON text itself. SQLAlchemy's binder
    only wraps the value in psycopg's `Json`, which COPY then serialises for every row, so
    a value that many rows share (a case's notice params, one per recipient) was dumped
    again for each; as text it is dumped once, by the connection's own JSON dumper."""
    if binder is None or not isinstance(kind, sa.JSON):
        return binder
    from psycopg.adapt import PyFormat

    def dump(value):
        wrapped = binder(value)
        dumper = cursor.adapters.get_dumper(type(wrapped), PyFormat.TEXT)(type(wrapped), cursor)
        return bytes(dumper.dump(wrapped)).decode()

    return dump


_COLUMNS = (
    Complaint.id,
    Complaint.reference,
    Complaint.state,
    Complaint.version,
    Complaint.enterprise_id,
    Complaint.respondent_region_code,
    Complaint.consumer_id,
    Complaint.assignee_id,
    Complaint.mediator_id,
    Complaint.body_id,
    Complaint.deadline_at,
    Complaint.chain_head,
    Complaint.overdue_flagged,
    Complaint.raised_to_body_id,
)


def _update(changes: dict, own_names: list[str], updates: list[dict]):
    """Send the UPDATE of each case (guarded by its version) with `changes` and its own
    values; returns a function that waits for it and says how many rows changed (None
    where the driver cannot tell). On PostgreSQL the statement goes out in pipeline mode
    and the server runs it while the batch's notices and e-mails are written here."""
    table = Complaint.__table__
    names = ["chain_head", *own_names]
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        return _update_pg(dialect, changes, names, updates)
    # One executemany at the driver, each value bound by its column's processor (through
    # SQLAlchemy's executemany, building the parameters cost as much as the UPDATE).
    bound = _binding(dialect, table)
    fixed = tuple(bound(name, value) for name, value in changes.items())
    result = db.session.connection().exec_driver_sql(
        _update_sqlite_sql(dialect, tuple(changes), tuple(names)),
        [(*fixed, *(bound(n, u[n]) for n in names), u["id"], u["version"]) for u in updates],
    )
    moved = result.rowcount if dialect.supports_sane_multi_rowcount else None
    return lambda: moved


def _binding(dialect, table: sa.Table):
    """bound(name, value): a value of the named column as the driver takes it, converted
    by the column type's own bind processor."""
    binders = {c.name: c.type._cached_bind_processor(dialect) for c in table.c}

    def bound(name, value):
        binder = binders[name]
        return binder(value) if binder is not None and value is not None else value

    return bound


@functools.cache
def _update_sqlite_sql(dialect, changed: tuple[str, ...], names: tuple[str, ...]) -> str:
    quote = dialect.identifier_preparer.quote
    sets = ["version = version + 1", *(f"{quote(n)} = ?" for n in (*changed, *names))]
    return f"UPDATE complaint SET {', '.join(sets)} WHERE id = ? AND version = ?"


@functools.cache
def _update_pg_sql(dialect, changed: tuple[str, ...], names: tuple[str, ...]) -> str:
    """`UPDATE complaint ... FROM unnest(<one array per column>) AS given(...)`: one
    statement a batch whose text is the same for every batch (psycopg prepares it on the
    server after a few runs). Built from a `VALUES` list, SQLAlchemy compiled a new
    statement of 500 parameters for each batch: 9 ms of client CPU a batch."""
    table = Complaint.__table__
    quote = dialect.identifier_preparer.quote

    def kind(name: str) -> str:
        return table.c[name].type.compile(dialect=dialect)

    given = ("id", "version", *names)
    sets = [f"version = {quote(table.name)}.version + 1"]
    sets += [f"{quote(n)} = %(c_{n})s::{kind(n)}" for n in changed]
    sets += [f"{quote(n)} = given.{quote(n)}" for n in names]
    arrays = ", ".join(f"%(a_{n})s::{kind(n)}[]" for n in given)
    return (
        f"UPDATE {quote(table.name)} SET {', '.join(sets)} "
        f"FROM unnest({arrays}) AS given({', '.join(quote(n) for n in given)}) "
        f"WHERE {quote(table.name)}.id = given.id AND {quote(table.name)}.version = given.version"
    )


def _update_pg(dialect, changes: dict, names: list[str], updates: list[dict]) -> int:
    bound = _binding(dialect, Complaint.__table__)
    params = {f"c_{name}": bound(name, value) for name, value in changes.items()}
    for name in ("id", "version", *names):
        params[f"a_{name}"] = [bound(name, u[name]) for u in updates]
    sql = _update_pg_sql(dialect, tuple(changes), tuple(names))
    connection = db.session.connection().connection.driver_connection
    pipeline = connection.pipeline()
    pipeline.__enter__()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, params)
    except BaseException:
        pipeline.__exit__(*sys.exc_info())
        raise

    def moved() -> int:
        pipeline.__exit__(None, None, None)  # sync: waits for the UPDATE, raises its error
        with cursor:
            return cursor.rowcount

    return moved


class _Batch:
    """The due cases of one batch as plain rows (locked), with their parties as plain
    values, and the statements that move them and tell everyone."""

    def __init__(self, ids: list[int], criteria: list, now: datetime):
        self.now = now
        self.rows = db.session.execute(
            _locking(sa.select(*_COLUMNS).where(_among(Complaint.id, ids), *criteria)).order_by(
                Complaint.id
            )
        ).all()
        # The parties as plain values (a loaded User costs more than the rest of its case).
        self.people, self.regions = {}, {}
        if not self.rows:
            return
        for user_id, email, name, locale, role, active, region_code in db.session.execute(
            sa.select(
                User.id,
                User.email,
                User.name,
                User.locale,
                User.role,
                User.active,
                User.region_code,
            ).where(
                _among(
                    User.id,
                    {r.consumer_id for r in self.rows}
                    | {r.assignee_id for r in self.rows if r.assignee_id}
                    | {r.mediator_id for r in self.rows if r.mediator_id},
                )
            )
        ):
            self.people[user_id] = notices.Recipient(user_id, email, name, locale, role, active)
            self.regions[user_id] = region_code
        _prefetch({r.enterprise_id for r in self.rows if r.enterprise_id is not None})

    def move(self, move: Move, changes: dict, per_row) -> list[dict]:
        """Check each row against the transition table, write `changes` (the same for
        every row) plus the row's own values, and the event of each. `per_row(row)`
        returns (the row's own column values, its event's details)."""
        if TARGETS.get(move):
            changes = {**changes, "state": TARGETS[move]}
        updates, events, own_names = [], [], []
        for row in self.rows:
            check_move(move, row.state, Role.SYSTEM)
            own, details = per_row(row)
            own_names = list(own)
            target = TARGETS.get(move) or row.state
            event = event_row(
                row.id,
                row.chain_head,
                actor_id=None,
                actor_role=str(Role.SYSTEM),
                action=str(move),
                from_state=str(row.state),
                to_state=str(target),
                details=details,
                at=self.now,
            )
            events.append(event)
            updates.append(
                {"id": row.id, "version": row.version, "chain_head": event["hash"], **own}
            )
        self._update = (changes, own_names, updates)
        self._events = events
        return events

    def tell(self, kind: str, events: list[dict], params_of, body_of, then=None) -> None:
        """Write the move (see `move`) and do what operations.notify does for each case:
        the in-app notices, the e-mails in each recipient's language and the webhooks.
        `params_of(row)` are the notice's params besides the reference, `body_of(row)`
        the case's body id after the move; `then()` runs once the cases are moved, before
        the notices are written."""
        audiences = notices.KINDS[kind][1]
        # Whom to tell, first: it may ask the database (a body's mediators), which it
        # cannot do while the UPDATE below is under way.
        told = [
            notices.recipients_of(
                audiences,
                consumer=self.people[row.consumer_id],
                enterprise_id=row.enterprise_id,
                assignee=self.people.get(row.assignee_id),
                mediator=self.people.get(row.mediator_id),
                body_id=body_of(row),
                raised_to_body_id=row.raised_to_body_id if "parent_body" in audiences else None,
            )
            for row in self.rows
        ]
        hooks = notices.webhook_events(kind)
        hooked_ids = {
            row.id
            for row in self.rows
            if hooks and row.enterprise_id and notices.webhook_endpoints(row.enterprise_id)
        }
        changes, own_names, updates = self._update
        # The pages that show these cases are rendered again (odr/viewcache.py).
        viewcache.touch_cases(self.rows)
        viewcache.touch({viewcache.body(b) for r in self.rows if (b := body_of(r)) is not None})
        moved = _update(changes, own_names, updates)
        try:
            notes, mails, hooked = [], [], []
            for row, event, users in zip(self.rows, events, told, strict=True):
                params = {"reference": row.reference, **params_of(row)}
                # Keyed by the event's hash (unique in the case's chain), not its id, which
                # is only known after the insert.
                key = f"{row.id}:{kind}:{event['hash'][:32]}"
                for user in users:
                    notes.append(
                        {"user_id": user.id, "complaint_id": row.id, "kind": kind, "params": params}
                    )
                    mails.append(
                        notices.email_row(user, kind, params, row.id, key=f"mail:{key}:{user.id}")
                    )
                if row.id in hooked_ids:
                    hooked.append((row.id, params, key, hooks))
            written = [
                _prepare(CaseEvent.__table__, self._events),
                _prepare(Notification.__table__, notes),
                _prepare(Outbox.__table__, mails),
            ]
        finally:
            count = moved()
        if count is not None and count != len(updates):
            raise StaleDataError(f"{len(updates) - count} cases changed meanwhile")
        _write(written[0])
        if then is not None:
            then()
        for prepared in written[1:]:
            _write(prepared)
        if hooked:
            # Few enterprises take webhooks; their payload carries the case as the API
            # shows it, so those cases are loaded (after the move).
            loaded = {
                complaint.id: complaint
                for complaint in db.session.scalars(
                    sa.select(Complaint)
                    .where(_among(Complaint.id, [h[0] for h in hooked]))
                    .execution_options(populate_existing=True)
                )
            }
            for complaint_id, params, key, hooks in hooked:
                for hook in hooks:
                    notices.queue_webhooks(loaded[complaint_id], hook, params, key=f"{key}:{hook}")


def escalate_overdue_many(ids: list[int], criteria: list, now: datetime) -> list[tuple[str, int]]:
    """Move the cases among `ids` that still meet `criteria` (negotiating, past their
    deadline) to the competent body, as `operations.escalate_overdue` does for one.
    Returns (reference, body id) of each case moved. Flushes, never commits."""
    batch = _Batch(ids, criteria, now)
    if not batch.rows:
        return []
    deadline_at = deadlines.working_day_deadline(now, deadlines.ACCEPTANCE_DAYS)
    bodies = {
        row.id: _competent_body(
            row.enterprise_id, row.respondent_region_code or batch.regions[row.consumer_id]
        )
        for row in batch.rows
    }
    changes = {
        "escalated_at": now,
        "arrived_at": now,
        "deadline_at": deadline_at,
        "reminder_at": deadlines.reminder_moment(deadline_at),
    }
    # A negotiating case is never flagged nor raised; those columns are set only when one
    # is (SQLite rewrites the index entries of every column named in SET).
    if any(row.overdue_flagged or row.raised_to_body_id is not None for row in batch.rows):
        changes |= {"overdue_flagged": False, "raised_to_body_id": None}

    def body_id(row):
        return bodies[row.id][0] if bodies[row.id] else None

    events = batch.move(
        Move.ESCALATE_OVERDUE,
        changes,
        lambda row: (
            {"body_id": body_id(row)},
            {"deadline_at": row.deadline_at, "body_id": body_id(row)},
        ),
    )
    offer = Offer.__table__.c
    batch.tell(
        "escalated",
        events,
        lambda row: {"body": bodies[row.id][1] if bodies[row.id] else ""},
        body_id,
        then=lambda: db.session.execute(
            sa.update(Offer.__table__)
            .where(
                _among(offer.complaint_id, [row.id for row in batch.rows]),
                offer.status == "open",
            )
            .values(status="lapsed")
        ),
    )
    return [(row.reference, body_id(row)) for row in batch.rows]


def remind_many(ids: list[int], criteria: list, now: datetime) -> list[tuple[str, datetime]]:
    """The "2 working days left" reminder of each case among `ids` still due one, as
    `operations.send_reminder` does for one. Returns (reference, deadline) of each."""
    batch = _Batch(ids, criteria, now)
    if not batch.rows:
        return []
    events = batch.move(
        Move.REMIND, {"reminder_at": None}, lambda row: ({}, {"deadline_at": row.deadline_at})
    )
    batch.tell(
        "reminder",
        events,
        lambda row: {"deadline": deadlines.local_date(row.deadline_at).isoformat()},
        lambda row: row.body_id,
    )
    return [(row.reference, row.deadline_at) for row in batch.rows]
