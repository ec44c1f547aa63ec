"""Engine settings: SQLite gets WAL and foreign keys, like the constraints it is given, a busy
timeout, and BEGIN IMMEDIATE for every transaction that writes.

SQLite lets one connection write at a time. A transaction begun with a plain (deferred)
BEGIN that reads and then writes cannot wait for the write lock: if another connection
committed since its first read, SQLite refuses the write at once ("database is locked"),
whatever the busy timeout. A transaction begun with BEGIN IMMEDIATE takes the write lock at
its start, waiting up to the busy timeout for it. Taking it for every transaction would make
readers queue behind writers too, and when SQLAlchemy begins a transaction (at its first
statement, usually a SELECT) it cannot know whether a write will follow.

So this is SQLAlchemy's recipe for pysqlite (the driver's own transaction handling switched
off with `isolation_level = None`, the BEGIN emitted through an engine event) with the BEGIN
emitted lazily: statements before a transaction's first write run on their own, as on
PostgreSQL at READ COMMITTED each sees the latest committed data; the first write (or a
SAVEPOINT) is preceded by BEGIN IMMEDIATE, and everything after it up to the commit or
rollback is one transaction holding the write lock. Readers never take it (WAL lets them
read while one connection writes).

`plain_rows` reads a list's rows as named tuples (see there).
"""

import collections
import functools
import re
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 5000
# SQLite's page cache for a bulk writer (the sweep), at most, taken as pages are read; every
# other connection keeps SQLite's default (2 MB), since each portal worker would otherwise
# carry up to this much of pages the operating system caches anyway.
BULK_CACHE_KIB = 65536
DEFAULT_CACHE_KIB = 2000

_WRITE = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT)\b"
    r"|\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b",
    re.IGNORECASE | re.DOTALL,
)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    on_disk = engine.url.database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # The driver opens no transaction of its own; _begin_before_first_write does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if on_disk:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_first_write(conn, cursor, statement, _params, _context, _many):
        if not conn.in_transaction() or not _WRITE.match(statement):
            return
        if not conn.connection.dbapi_connection.in_transaction:
            cursor.execute("BEGIN IMMEDIATE")


@contextmanager
def bulk_cache(session):
    """A larger SQLite page cache for the session's connection while many rows are written:
    with SQLite's default 2 MB, a million cases' indexes missed it on nearly every page the
    sweep's batches touched (docs/PERFORMANCE.md, "Session 8: the sweep"). Given back after,
    so the process does not keep the pages. Nothing on other databases."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # The driver's connection itself: the session hands it back to the pool at each commit
    # (and takes the same one again in a process writing alone).
    connection = session.connection().connection.dbapi_connection
    connection.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA cache_size=-{DEFAULT_CACHE_KIB}")


def plain_rows(result) -> list:
    """The rows of a statement's result as named tuples of its columns. A list reads each
    row's columns many times (the view, the template, the API's dict), and reading a column
    of SQLAlchemy's Row by name costs about ten times a tuple's attribute; a tuple per row
    is made in C. Same names and values as the Row's (`_fields` too)."""
    make = _row_class(tuple(result.keys()))._make
    return [make(row) for row in result]


@functools.cache
def _row_class(fields: tuple[str, ...]):
    # One class per shape of statement (a handful: the lists' statements are fixed).
    return collections.namedtuple("PlainRow", fields)
