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

Writers wait in line. SQLite's own busy handler makes a waiting writer sleep and try again
(1, 2, 5, 10 ... 100 ms), so under steady writes the lock is often free while every waiter
sleeps, and an unlucky one loses every turn: the API filing's p95 was 693 ms against 24 ms
at the median (docs/PERFORMANCE.md). So a connection about to take the write lock first
takes an exclusive `flock` on a file beside the database (`<database>-writers`), which the
kernel hands to the next waiter as soon as the holder commits or rolls back; the processes
of one machine (the portal's workers, the worker, the commands) share it. Readers never
take it. A connection of a thread that already holds it (a second connection opened while
writing) does not queue behind itself: it waits on SQLite's busy timeout, as before.

`plain_rows` reads a list's rows as named tuples (see there).
"""

import collections
import fcntl
import functools
import os
import re
import sqlite3
import threading
from contextlib import contextmanager, suppress

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 5000
# SQLite's page cache for a bulk writer (the sweep), at most, taken as pages are read; every
# other connection keeps SQLite's default (2 MB), since each portal worker would otherwise
# carry up to this much of pages the operating system caches anyway. With the checkpoint
# left to the end (bulk_writer), 16 MiB does as well as 64 MiB did (the sweep at 1,000,000
# cases: 8.3-9.5 s either way) and keeps the sweep's process at 137 MB instead of 187 MB.
BULK_CACHE_KIB = 16384
DEFAULT_CACHE_KIB = 2000
AUTOCHECKPOINT_PAGES = 1000  # SQLite's default

_WRITE = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT)\b"
    r"|\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b",
    re.IGNORECASE | re.DOTALL,
)


# (lock file, thread id) of every write lock this process holds: see _Writer.queue.
_HELD: set[tuple[str, int]] = set()


class _Writer(sqlite3.Connection):
    """A pysqlite connection that waits in line for the write lock (see the module's
    docstring): `queue()` before BEGIN IMMEDIATE; the commit, the rollback or closing the
    connection lets the next writer in."""

    lock_path: str | None = None
    _fd: int | None = None
    _pid: int | None = None
    _held: tuple[str, int] | None = None

    def queue(self) -> None:
        if self.lock_path is None or self._held is not None:
            return
        me = (self.lock_path, threading.get_ident())
        if me in _HELD:
            return  # this thread writes already, on another connection
        if self._fd is None or self._pid != os.getpid():
            # Opened by this process: a descriptor inherited through a fork would share its
            # lock with the parent's, and the two would no longer exclude each other.
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._held = me
        _HELD.add(me)

    def _leave(self) -> None:
        if self._held is not None:
            _HELD.discard(self._held)
            self._held = None
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    on_disk = engine.url.database not in (None, "", ":memory:")
    lock_path = f"{os.path.abspath(engine.url.database)}-writers" if on_disk else None

    @event.listens_for(engine, "do_connect")
    def _queued_writer(_dialect, _record, _cargs, cparams):
        cparams["factory"] = _Writer

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # The driver opens no transaction of its own; _begin_before_first_write does.
        dbapi_connection.isolation_level = None
        if isinstance(dbapi_connection, _Writer):
            dbapi_connection.lock_path = lock_path
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
        dbapi_connection = conn.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            if isinstance(dbapi_connection, _Writer):
                dbapi_connection.queue()
            cursor.execute("BEGIN IMMEDIATE")


@contextmanager
def bulk_writer(session):
    """SQLite's settings for the session's connection while it writes many rows (the
    sweep), given back after; nothing on other databases (docs/PERFORMANCE.md, "Session 8:
    the sweep" and "Session 9"):
    - a larger page cache (16 MiB instead of 2 MB) for the index pages a batch touches;
    - the write-ahead log checkpointed once, at the end, instead of at a commit whenever it
      holds 1,000 pages: a batch touches more than that, so each commit copied its pages
      back into the database and synced it (a third of the commits' time at a million
      cases), although the batches share most of their pages. Another connection that
      commits meanwhile still checkpoints as usual."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # The driver's connection itself: the session hands it back to the pool at each commit
    # (and takes the same one again in a process writing alone).
    connection = session.connection().connection.dbapi_connection
    connection.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        connection.execute(f"PRAGMA cache_size=-{DEFAULT_CACHE_KIB}")
        # Not to hide what ended the run: a checkpoint refused (a transaction left open by
        # an error) is left to the next commit's automatic one.
        with suppress(sqlite3.Error):
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


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
