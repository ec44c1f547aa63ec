"""Rendered pages kept per process until what they show changes.

A list page costs a few milliseconds of CPU to build: its queries, fifty rows with their
working-day clocks, the layout. Most requests for it find nothing changed since the last
one. So the busiest pages (the inbox, the consumer's list and case page, the mediator queue,
the API list, the admin dashboard) are kept rendered, keyed by everything they depend on:

- the **revisions** of the scopes they show (`view_revision`, one row a scope): `e:<id>` an
  enterprise's cases, `u:<id>` a consumer's cases (their case pages too) and drafts,
  `b:<id>` a body's cases (those raised to it too); a change to one case (`c:<id>`, its row
  or its children) bumps its consumer's scope and is not stored itself;
- the reader (user id, name, unread count, the session's CSRF secret), the language, the
  URL with its query, the host and script root, and the day in Shanghai (working-day clocks).

Every write bumps the revisions it affects **in its own transaction**: a session hook
collects the scopes of each flushed row (a case: its own, its enterprise's, consumer's and
bodies', old and new; a case's event, message, offer, evidence, agreement, session or
record: the case's; a draft: the consumer's; a user, enterprise, body or membership: the
scopes that show its name) and bumps them, sorted, just before the commit. Statements that
bypass the ORM (the sweep's batch move, remove_agent's UPDATE) name theirs with `touch()`.
A reader takes the revisions first and renders after, so a page is never kept under a
revision newer than its contents. Entries also expire after `VIEW_CACHE_TTL` seconds (60),
which bounds what a change made outside the portal (a restore, a hand-written UPDATE) could
leave stale.

The store is per process (each gunicorn worker its own), bounded by `VIEW_CACHE_MB`; the
revisions are in the database, so every app server sees every change.
"""

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import Response, current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from odr.extensions import db


class ViewRevision(db.Model):
    """How many committed changes a scope has seen (no row: none yet)."""

    __tablename__ = "view_revision"
    scope: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    rev: Mapped[int] = mapped_column(sa.BigInteger, default=0)


def enterprise(ident) -> str:
    return f"e:{ident}"


def consumer(ident) -> str:
    return f"u:{ident}"


def body(ident) -> str:
    return f"b:{ident}"


def case(ident) -> str:
    return f"c:{ident}"


_INFO_KEY = "odr_view_scopes"


def touch(scopes: Iterable[str], session: Session | None = None) -> None:
    """Scopes changed by a statement the ORM does not see; bumped at the commit."""
    session = session if session is not None else db.session()
    session.info.setdefault(_INFO_KEY, set()).update(scopes)


def touch_cases(rows: Iterable) -> None:
    """The scopes of cases changed in bulk: rows with id, consumer_id and, where they have
    them, enterprise_id, body_id and raised_to_body_id."""
    scopes, consumers = set(), {}
    for row in rows:
        scopes.add(case(row.id))
        consumers[row.id] = row.consumer_id
        for attr, scope in _CASE_OWNERS:
            value = getattr(row, attr, None)
            if value is not None:
                scopes.add(scope(value))
    touch(scopes)
    db.session().info.setdefault(_CONSUMERS, {}).update(consumers)


# A case's consumer, where known, so that bumping c:<id> also bumps u:<consumer> (their case
# pages are kept by the revision of their own scope, read with their row).
_CONSUMERS = "odr_view_case_consumers"


_CASE_OWNERS = (
    ("enterprise_id", enterprise),
    ("consumer_id", consumer),
    ("body_id", body),
    ("raised_to_body_id", body),
)


def _scopes_of(obj, out: set, consumers: dict) -> None:
    from odr.auth.models import User
    from odr.disputes.models import Complaint, Draft, Enterprise, MediationBody, Signature
    from odr.disputes.models.organisation import BodyMembership

    if isinstance(obj, Complaint):
        out.add(case(obj.id))
        consumers[obj.id] = obj.consumer_id
        for attr, scope in _CASE_OWNERS:
            out.update(scope(value) for value in _old_and_new(obj, attr))
    elif isinstance(obj, Draft):
        out.add(consumer(obj.consumer_id))
    elif isinstance(obj, User):
        out.add(consumer(obj.id))
        out.update(enterprise(value) for value in _old_and_new(obj, "enterprise_id"))
    elif isinstance(obj, Enterprise):
        out.add(enterprise(obj.id))
    elif isinstance(obj, MediationBody):
        out.add(body(obj.id))
    elif isinstance(obj, BodyMembership):
        out.add(body(obj.body_id))
    elif type(obj).__name__ in _CASE_CHILDREN:
        complaint_id = getattr(obj, "complaint_id", None)
        if complaint_id is not None:
            out.add(case(complaint_id))
    elif isinstance(obj, Signature):
        # Its agreement is loaded where it is signed (a signature also records an event).
        agreement = obj.__dict__.get("agreement")
        if agreement is not None:
            out.add(case(agreement.complaint_id))


def _old_and_new(obj, attr: str) -> list:
    """The attribute's value and the ones this flush replaced, without None."""
    history = sa.inspect(obj).attrs[attr].history
    return [v for v in (getattr(obj, attr), *history.deleted) if v is not None]


# Rows shown on a case page; notifications and mail are not (the unread count is in the key).
_CASE_CHILDREN = frozenset(
    {"CaseEvent", "Message", "Offer", "Evidence", "Agreement", "MediationSession", "Record"}
)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    found: set = set()
    consumers = session.info.setdefault(_CONSUMERS, {})
    for collection in (session.new, session.dirty, session.deleted):
        for obj in collection:
            _scopes_of(obj, found, consumers)
    if found:
        touch(found, session)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    session.flush()  # the last changes' scopes, collected by _collect
    scopes = session.info.pop(_INFO_KEY, None)
    consumers = session.info.pop(_CONSUMERS, None) or {}
    if scopes:
        # A case's scope stands for its consumer's (their case pages are kept by it); no
        # page is kept by the case's own, so it is not stored (a row for every case).
        stored = {s for s in scopes if not s.startswith("c:")}
        bump(session, stored | _consumers_of_cases(session, scopes, consumers))


def _consumers_of_cases(session: Session, scopes: set, known: dict) -> set:
    """u:<consumer> of every case among `scopes` (c:<id>): from the rows seen, the session's
    loaded cases, or else one query."""
    from odr.disputes.models import Complaint

    ids = {int(s[2:]) for s in scopes if s.startswith("c:")}
    missing = []
    for ident in ids - known.keys():
        loaded = session.identity_map.get(identity_key(Complaint, ident))
        if loaded is not None and "consumer_id" in loaded.__dict__:
            known[ident] = loaded.consumer_id
        else:
            missing.append(ident)
    if missing:
        known.update(
            session.execute(
                sa.select(Complaint.id, Complaint.consumer_id).where(Complaint.id.in_(missing))
            ).all()
        )
    return {consumer(known[i]) for i in ids if known.get(i) is not None}


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # A savepoint's rollback keeps the scopes (the outer changes may still commit; an extra
    # bump costs a render); the outermost transaction's end forgets them.
    if transaction.parent is None:
        session.info.pop(_INFO_KEY, None)
        session.info.pop(_CONSUMERS, None)


_BUMP = {
    "sqlite": sa.text(
        "INSERT INTO view_revision (scope, rev) SELECT value, 1 FROM json_each(:scopes) "
        "WHERE true ON CONFLICT (scope) DO UPDATE SET rev = view_revision.rev + 1"
    ),
    "postgresql": sa.text(
        "INSERT INTO view_revision (scope, rev) SELECT unnest(CAST(:scopes AS text[])), 1 "
        "ON CONFLICT (scope) DO UPDATE SET rev = view_revision.rev + 1"
    ),
}


def bump(session: Session, scopes: Iterable[str]) -> None:
    """One statement; sorted, so two transactions take the rows' locks in the same order."""
    ordered = sorted(set(scopes))
    if not ordered:
        return
    dialect = session.get_bind().dialect.name
    value = json.dumps(ordered) if dialect == "sqlite" else ordered
    session.execute(_BUMP[dialect], {"scopes": value})


_READ_ONE = sa.select(ViewRevision.rev).where(ViewRevision.scope == sa.bindparam("scope"))
_READ = sa.select(ViewRevision.scope, ViewRevision.rev).where(
    ViewRevision.scope.in_(sa.bindparam("scopes", expanding=True))
)


def home_scope(user) -> str:
    """The scope of a reader's own cases: their enterprise's for staff, else their own."""
    return enterprise(user.enterprise_id) if user.enterprise_id else consumer(user.id)


def home_revision():
    """The revision of home_scope(user), as a column of a SELECT of User (the user loader
    reads it with the user's row: one statement fewer for a kept page of one's own cases)."""
    from odr.auth.models import User

    def scope_of(prefix: str, column):
        return sa.literal(prefix) + sa.cast(column, sa.String)

    scope = sa.case(
        (User.enterprise_id.is_not(None), scope_of("e:", User.enterprise_id)),
        else_=scope_of("u:", User.id),
    )
    return (
        sa.select(sa.func.coalesce(sa.func.max(ViewRevision.rev), 0))
        .where(ViewRevision.scope == scope)
        .scalar_subquery()
    )


_HOME = "odr.view_home_revision"


def remember_home_revision(user, rev: int) -> None:
    """Kept with this request (not in g, which outlives a request where an app context was
    pushed around several, as in tests)."""
    request.environ[_HOME] = (home_scope(user), rev)


def _home_revision(scopes: list[str]) -> tuple | None:
    found = request.environ.get(_HOME)
    if found is None or len(scopes) != 1 or found[0] != scopes[0]:
        return None
    return (found[1],)


def revisions(scopes: list[str]) -> tuple:
    """The scopes' revisions, in the session's transaction. Through its connection, not the
    ORM's execute, which adds 0.03 ms to a kept page's 0.65 ms (SQLite, in process)."""
    connection = db.session.connection()
    if len(scopes) == 1:
        return (connection.execute(_READ_ONE, {"scope": scopes[0]}).scalar() or 0,)
    found = dict(connection.execute(_READ, {"scopes": scopes}).all())
    return tuple(found.get(s, 0) for s in scopes)


class Store:
    """Least recently used first out, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int, ttl: float):
        self.max_bytes, self.ttl = max_bytes, ttl
        self.entries: OrderedDict = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key, value: bytes) -> None:
        size = len(value)
        if size > self.max_bytes // 8:
            return
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = (time.monotonic() + self.ttl, value)
            self.size += size
            while self.size > self.max_bytes:
                self._drop(next(iter(self.entries)))

    def _drop(self, key) -> None:
        _expires, value = self.entries.pop(key)
        self.size -= len(value)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


def store() -> Store | None:
    app = current_app
    found = app.extensions.get("odr_view_cache")
    if found is None:
        if not app.config["VIEW_CACHE"]:
            return None
        found = app.extensions["odr_view_cache"] = Store(
            int(app.config["VIEW_CACHE_MB"] * 1024 * 1024), app.config["VIEW_CACHE_TTL"]
        )
    return found


def page(
    scopes: list[str],
    render: Callable[[], object],
    *,
    mimetype: str = "text/html",
    reader: tuple = (),
    known: tuple | None = None,
):
    """The response of a GET view, kept rendered while the scopes' revisions, the reader and
    the URL stay the same. `render()` returns what the view would (a str, a Response or a
    (body, status) pair); only a 200 is kept. Pages that carry a flashed message are never
    kept or served from the store. `known`: the scopes' revisions, where the view has read
    them already (with other values, in one statement)."""
    kept = store()
    if kept is None or not scopes or request.method != "GET" or session.get("_flashes"):
        return render()
    from odr.disputes.deadlines import local_date
    from odr.types import utcnow
    from odr.web import unread_count

    user = current_user
    if mimetype == "text/html":
        # The page's forms carry a token of the session's CSRF secret: made first, so the
        # key holds the secret the page will be rendered with.
        generate_csrf()
        reader = (*reader, user.id, user.name, unread_count())
        reader = (*reader, session.get("csrf_token"))
    key = (
        request.full_path,
        request.host,
        request.script_root,
        str(get_locale()),
        local_date(utcnow()),
        reader,
        tuple(scopes),
        known or _home_revision(scopes) or revisions(scopes),
    )
    body = kept.get(key)
    if body is not None:
        return Response(body, mimetype=mimetype)
    result = render()
    response = current_app.make_response(result)
    if response.status_code == 200 and not response.is_streamed:
        kept.put(key, response.get_data())
    return response
