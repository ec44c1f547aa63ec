"""SQLite writers (odr.database): a transaction takes the write lock with BEGIN IMMEDIATE at
its first write, waiting within the busy timeout, and holds it to its commit or rollback;
reads take no lock. So many threads or processes that read and then write all succeed, and
none is refused with "database is locked"; writers wait in line for it (a flock beside the
database) rather than in SQLite's sleep-and-retry. Each test makes its own SQLite file, so
both test runs (SQLite and PostgreSQL) check it."""

import fcntl
import multiprocessing
import os
import sqlite3
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from odr.database import (
    AUTOCHECKPOINT_PAGES,
    BULK_CACHE_KIB,
    DEFAULT_CACHE_KIB,
    bulk_writer,
    configure_engine,
)


def engine_for(path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    configure_engine(engine)
    return engine


def held_elsewhere(path) -> bool:
    """Is SQLite's write lock held by another connection?"""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "writers.sqlite"
    engine = engine_for(path)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, who TEXT, n INTEGER)")
    engine.dispose()
    return path


def test_the_write_lock_spans_the_first_write_to_the_commit(db_file):
    engine = engine_for(db_file)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM item").scalar()
        assert not held_elsewhere(db_file), "a read takes no lock"
        conn.exec_driver_sql("INSERT INTO item (who, n) VALUES ('a', 1)")
        assert held_elsewhere(db_file)
        conn.exec_driver_sql("UPDATE item SET n = 2")
        assert held_elsewhere(db_file)
        conn.commit()
        assert not held_elsewhere(db_file)

        conn.exec_driver_sql("DELETE FROM item")
        assert held_elsewhere(db_file)
        conn.rollback()
        assert not held_elsewhere(db_file)
        assert conn.exec_driver_sql("SELECT n FROM item").scalar() == 2
    engine.dispose()


def test_the_lock_is_dropped_when_the_connection_goes(db_file):
    engine = engine_for(db_file)
    conn = engine.connect()
    conn.exec_driver_sql("INSERT INTO item (who, n) VALUES ('a', 1)")
    assert held_elsewhere(db_file)
    conn.close()  # back to the pool: rolled back
    assert not held_elsewhere(db_file)
    engine.dispose()


def test_a_write_after_reads_sees_and_keeps_every_other_commit(db_file):
    """Two writers that each read and then write, interleaved: both succeed (a deferred
    transaction would have its write refused once the other committed after its read)."""
    engine = engine_for(db_file)
    with engine.connect() as first, engine.connect() as second:
        first.exec_driver_sql("SELECT count(*) FROM item").scalar()
        second.exec_driver_sql("SELECT count(*) FROM item").scalar()
        second.exec_driver_sql("INSERT INTO item (who, n) VALUES ('second', 1)")
        second.commit()
        first.exec_driver_sql("INSERT INTO item (who, n) VALUES ('first', 1)")
        first.commit()
        rows = first.exec_driver_sql("SELECT who FROM item ORDER BY who").scalars().all()
    assert rows == ["first", "second"]
    engine.dispose()


def test_threads_of_one_process_all_write(db_file):
    engine = engine_for(db_file)
    errors = []

    def write(who):
        try:
            for n in range(40):
                with engine.begin() as conn:
                    conn.exec_driver_sql("SELECT max(n) FROM item").scalar()
                    conn.exec_driver_sql("INSERT INTO item (who, n) VALUES (?, ?)", (f"t{who}", n))
                    conn.exec_driver_sql("SELECT count(*) FROM item").scalar()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 240
    engine.dispose()


def _process_writes(path, who, count, queue):
    try:
        engine = engine_for(path)
        for n in range(count):
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT max(n) FROM item").scalar()
                conn.exec_driver_sql("INSERT INTO item (who, n) VALUES (?, ?)", (who, n))
        engine.dispose()
        queue.put(None)
    except Exception as exc:
        queue.put(repr(exc))


def test_processes_all_write_none_is_refused(db_file):
    """Four processes, as four gunicorn workers: every write lands."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [
        context.Process(target=_process_writes, args=(str(db_file), f"p{i}", 60, queue))
        for i in range(4)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == [None] * 4
    engine = engine_for(db_file)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT who, count(*) FROM item GROUP BY who").all()
    assert sorted(rows) == [(f"p{i}", 60) for i in range(4)]
    assert not held_elsewhere(db_file)
    engine.dispose()


def test_a_bulk_writer_gets_a_large_page_cache_and_one_checkpoint(db_file):
    """The sweep's batches find more of a million cases' index pages in a larger cache, and
    its connection does not checkpoint the log at each commit (it does once, at the end);
    every other connection (a portal worker's) keeps SQLite's defaults, and so does the
    sweep's after it."""
    engine = engine_for(db_file)

    def pragma(session, name):
        return session.connection().exec_driver_sql(f"PRAGMA {name}").scalar()

    with Session(engine) as session:
        assert -pragma(session, "cache_size") == DEFAULT_CACHE_KIB
        assert pragma(session, "wal_autocheckpoint") == AUTOCHECKPOINT_PAGES
        with bulk_writer(session):
            assert -pragma(session, "cache_size") == BULK_CACHE_KIB
            assert pragma(session, "wal_autocheckpoint") == 0
            for n in range(3):
                session.execute(sa.text("INSERT INTO item (who, n) VALUES ('sweep', :n)"), {"n": n})
                session.commit()  # the connection goes back to the pool and comes again
            assert -pragma(session, "cache_size") == BULK_CACHE_KIB
        assert -pragma(session, "cache_size") == DEFAULT_CACHE_KIB
        assert pragma(session, "wal_autocheckpoint") == AUTOCHECKPOINT_PAGES
    engine.dispose()


def queued_elsewhere(path) -> bool:
    """Is the writers' line (the flock beside the database) held by another connection?"""
    fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_writers_wait_in_line_from_the_first_write_to_the_commit(db_file):
    """A writer holds the line from its first write to its commit or rollback (readers never
    take it), and a writer waiting in line goes on the moment the holder commits, in the
    kernel's queue rather than in SQLite's sleep-and-retry."""
    engine = engine_for(db_file)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM item").scalar()
        assert not queued_elsewhere(db_file), "a read does not queue"
        conn.exec_driver_sql("INSERT INTO item (who, n) VALUES ('a', 1)")
        assert queued_elsewhere(db_file)
        conn.rollback()
        assert not queued_elsewhere(db_file)

        conn.exec_driver_sql("INSERT INTO item (who, n) VALUES ('a', 1)")
        waited = threading.Event()
        done = threading.Event()

        def second_writer():
            with engine.connect() as other:
                waited.set()
                other.exec_driver_sql("INSERT INTO item (who, n) VALUES ('b', 2)")
                other.commit()
            done.set()

        thread = threading.Thread(target=second_writer)
        thread.start()
        assert waited.wait(5)
        assert not done.wait(0.3), "the second writer waits while the first holds the line"
        conn.commit()
        assert done.wait(5), "and goes on once the first commits"
        thread.join()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT who FROM item ORDER BY id").scalars().all() == [
            "a",
            "b",
        ]
    assert not queued_elsewhere(db_file)
    engine.dispose()
