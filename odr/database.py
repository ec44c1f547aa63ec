"""Engine settings: SQLite gets WAL and foreign keys, like the constraints it is given, and
a fair queue for its one writer."""

import fcntl
import os
import re
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
BUSY_TIMEOUT_MS = 5000


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    on_disk = engine.url.database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if on_disk:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    if on_disk:
        WriterQueue(engine, f"{engine.url.database}.writer").install()


class WriterQueue:
    """Writers to one SQLite file take turns through a lock file, so none of them sleeps.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    polls by sleeping 1, 2, 5 ... 100 ms. Under load (four app-server processes filing
    complaints) the lock was often free while every waiter slept, and a filing's p95 grew to
    a third of a second. Here each connection takes an exclusive flock(2) on `<db>.writer`
    before its transaction's first write and keeps it until its commit or rollback; a waiter
    retries every 0.1-1 ms, so the lock is taken again within a millisecond of its release.
    Readers never take it (WAL lets them read while one writes). The operating system drops
    the lock of a process that dies, so a crash cannot leave it held.

    A writer that has not had the file lock within the busy timeout goes on without it
    (SQLite's own lock still decides), and a connection whose transaction already holds
    SQLite's write lock (a write that did not come through SQLAlchemy) only tries the file
    lock once, so two connections can never wait for each other's locks. A writer outside
    the portal (a sqlite3 shell) does not queue: it waits in SQLite's busy handler and,
    while queued writers follow one another closely, may wait longer than it did; a tool
    that writes should take `<db>.writer` first (tests/test_trust_crash.py does).
    """

    def __init__(self, engine: Engine, path: str):
        self.engine = engine
        self.path = path
        self.fds: dict[int, int] = {}  # id(DBAPI connection) -> its lock file descriptor
        self.held: set[int] = set()  # the connections (ids) that hold the lock

    def install(self) -> None:
        event.listen(self.engine, "connect", self._open)
        event.listen(self.engine, "close", self._close)
        event.listen(self.engine, "close_detached", self._close_detached)
        event.listen(self.engine, "before_cursor_execute", self._before_execute)
        dialect = self.engine.dialect
        dialect.do_commit = self._releasing(dialect.do_commit)
        dialect.do_rollback = self._releasing(dialect.do_rollback)

    def _releasing(self, finish):
        """The dialect's commit or rollback, then the lock released."""

        def done(dbapi_connection):
            try:
                finish(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        return done

    def _open(self, dbapi_connection, _record) -> None:
        self.fds[id(dbapi_connection)] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def _close(self, dbapi_connection, _record) -> None:
        self._close_detached(dbapi_connection)

    def _close_detached(self, dbapi_connection) -> None:
        self.release(dbapi_connection)
        fd = self.fds.pop(id(dbapi_connection), None)
        if fd is not None:
            os.close(fd)

    def _before_execute(self, conn, _cursor, statement, _params, _context, _many) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        key = id(dbapi_connection)
        if key in self.held or not _WRITE.match(statement):
            return
        fd = self.fds.get(key)
        if fd is None:
            return
        if _lock(fd, wait=not dbapi_connection.in_transaction):
            self.held.add(key)

    def release(self, connection) -> None:
        """After a commit or rollback; `connection` is the DBAPI connection or the pool's
        proxy of it."""
        key = id(getattr(connection, "dbapi_connection", connection))
        if key in self.held:
            self.held.discard(key)
            fcntl.flock(self.fds[key], fcntl.LOCK_UN)


def _lock(fd: int, *, wait: bool) -> bool:
    """Take the file lock: at once, or (`wait`) retrying every 0.1-1 ms within the busy
    timeout. Answers whether it was taken."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.0001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not wait or time.monotonic() > deadline:
                return False
        time.sleep(delay)
        delay = min(delay * 2, 0.001)
