"""Backup and restore: the whole portal in one portable archive.

An archive is a gzip-compressed tar file:

    manifest.json                 format, time, source database, schema revision, tables
                                  (columns, row count, SHA-256 of their dump) and files,
                                  signed with an HMAC under ODR_AUDIT_KEY
    db/NNN_<table>.jsonl          one JSON object per row, tables in dependency order
    files/uploads/<stored name>   evidence files
    files/records/<path>          issued PDF records

Rows are plain JSON (timestamps ISO 8601 in UTC, money as decimal strings), so an archive
taken from SQLite restores into PostgreSQL and back. The dump is read inside one
transaction (REPEATABLE READ on PostgreSQL, a read transaction on SQLite): it is a
consistent snapshot even while the portal runs. Files are written before the rows that
name them are committed, so every file a snapshot row names is on disk.

Restore goes into an empty, migrated database (`flask db upgrade` first). It checks the
archive before touching anything (its signature first: an archive edited with recomputed
checksums is refused), inserts every row in one transaction, puts the files in
place only after their SHA-256 matched the manifest, and resets PostgreSQL's sequences.
"""

import base64
import gzip
import hashlib
import hmac
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from odr.disputes import seals
from odr.disputes.models import Evidence, Record
from odr.extensions import db

FORMAT = "odr-backup"
FORMAT_VERSION = 1
BATCH = 1000
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The archive cannot be made or restored; the message says why."""


@dataclass
class Summary:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def lines(self) -> list[str]:
        out = [f"warning: {w}" for w in self.warnings]
        nonempty = ", ".join(f"{name}={count}" for name, count in self.tables.items() if count)
        out.append(f"tables: {nonempty or 'all empty'}")
        out.append(
            f"{self.rows} rows in {len(self.tables)} tables, "
            f"{self.files.get('uploads', 0)} evidence files, "
            f"{self.files.get('records', 0)} record files"
        )
        return out


# -- values ------------------------------------------------------------------------------


def _kind(column: sa.Column) -> str:
    column_type = column.type
    if isinstance(column_type, sa.types.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.JSON):
        return "json"
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return "other"
    if issubclass(python_type, datetime):
        return "datetime"
    if issubclass(python_type, date):
        return "date"
    if issubclass(python_type, time):
        return "time"
    if issubclass(python_type, Decimal):
        return "decimal"
    if issubclass(python_type, bytes):
        return "bytes"
    return "other"


def encode(value):
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise BackupError(f"cannot store a value of type {type(value).__name__}")


def decode(kind: str, value):
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


# -- reading the database ----------------------------------------------------------------


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)


def _self_references(table: sa.Table) -> list[tuple[str, str]]:
    """(column, referenced column) pairs of foreign keys from a table to itself."""
    return [
        (fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table
    ]


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    """Order the rows of a self-referencing table so that a parent precedes its children."""
    links = _self_references(table)
    pending, done, ordered = list(rows), set(), []
    while pending:
        ready = [
            row
            for row in pending
            if all(row[col] is None or (ref, row[col]) in done for col, ref in links)
        ]
        if not ready:  # a cycle or a dangling reference: keep the rest as they are
            ordered.extend(pending)
            break
        ready_ids = {id(row) for row in ready}
        for row in ready:
            ordered.append(row)
            for _, ref in links:
                done.add((ref, row[ref]))
        pending = [row for row in pending if id(row) not in ready_ids]
    return ordered


def _rows(conn: sa.Connection, table: sa.Table, columns: list[sa.Column]) -> Iterator[dict]:
    order = list(table.primary_key.columns) or columns
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
        sa.select(*columns).order_by(*order)
    )
    if _self_references(table):
        rows = [dict(row._mapping) for row in result]
        yield from _parents_first(table, rows)
        return
    for row in result:
        yield dict(row._mapping)


def _snapshot_connection(engine: sa.Engine) -> sa.Connection:
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        conn.begin()
        return conn
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    return conn


def _end_snapshot(conn: sa.Connection) -> None:
    try:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("COMMIT")
        elif conn.in_transaction():
            conn.rollback()
    finally:
        conn.close()


def schema_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


# -- backup ------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def default_name(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"odr-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def resolve_output(output: str | Path | None) -> Path:
    if output is None:
        return Path(current_app.config["INSTANCE_DIR"]) / "backups" / default_name()
    path = Path(output)
    if path.is_dir() or str(output).endswith(("/", os.sep)):
        return path / default_name()
    return path


def _referenced_files(conn: sa.Connection) -> dict[str, list[str]]:
    uploads = list(
        conn.execute(sa.select(Evidence.__table__.c.stored_name).order_by(Evidence.__table__.c.id))
        .scalars()
        .all()
    )
    # A record issued moments ago has no file yet (the worker renders it from the data kept
    # on its row, which the backup carries): there is nothing to copy.
    records = list(
        conn.execute(
            sa.select(Record.__table__.c.path)
            .where(Record.__table__.c.path.is_not(None))
            .order_by(Record.__table__.c.id)
        )
        .scalars()
        .all()
    )
    return {"uploads": uploads, "records": records}


def _file_dirs() -> dict[str, Path]:
    return {
        "uploads": Path(current_app.config["UPLOAD_DIR"]),
        "records": Path(current_app.config["RECORD_DIR"]),
    }


def backup(output: str | Path | None = None) -> Summary:
    """Write the archive; answer where it is and what it holds."""
    target = resolve_output(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    summary = Summary(path=target)
    engine = db.engine
    manifest: dict = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "source": engine.dialect.name,
        "schema_revision": None,
        "tables": [],
        "files": {"uploads": {}, "records": {}},
    }
    with tempfile.TemporaryDirectory(prefix="odr-backup-") as scratch:
        dump_dir = Path(scratch)
        conn = _snapshot_connection(engine)
        try:
            manifest["schema_revision"] = schema_revision(conn)
            inspector = sa.inspect(conn)
            for number, table in enumerate(_tables(), start=1):
                if not inspector.has_table(table.name):
                    summary.warnings.append(f"table {table.name} is not in the database")
                    continue
                present = {c["name"] for c in inspector.get_columns(table.name)}
                columns = [c for c in table.columns if c.name in present]
                for column in table.columns:
                    if column.name not in present:
                        summary.warnings.append(
                            f"column {table.name}.{column.name} is not in the database "
                            "(run `flask db upgrade`)"
                        )
                name = f"db/{number:03d}_{table.name}.jsonl"
                digest, count = hashlib.sha256(), 0
                with (dump_dir / f"{number:03d}.jsonl").open("wb") as handle:
                    for row in _rows(conn, table, columns):
                        line = (
                            json.dumps(
                                {key: encode(value) for key, value in row.items()},
                                ensure_ascii=False,
                                separators=(",", ":"),
                            )
                            + "\n"
                        ).encode()
                        handle.write(line)
                        digest.update(line)
                        count += 1
                manifest["tables"].append(
                    {
                        "name": table.name,
                        "member": name,
                        "columns": [c.name for c in columns],
                        "rows": count,
                        "sha256": digest.hexdigest(),
                    }
                )
                summary.tables[table.name] = count
            referenced = _referenced_files(conn)
        finally:
            _end_snapshot(conn)

        dirs = _file_dirs()
        for kind, names in referenced.items():
            for relative in names:
                path = dirs[kind] / relative
                if not path.is_file():
                    summary.warnings.append(f"{kind} file {relative} is missing; not in the backup")
                    continue
                manifest["files"][kind][relative] = {
                    "sha256": file_sha256(path),
                    "size": path.stat().st_size,
                }
            summary.files[kind] = len(manifest["files"][kind])

        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            manifest["signature"] = manifest_signature(manifest)
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
            for entry in manifest["tables"]:
                number = entry["member"].split("/")[1][:3]
                tar.add(dump_dir / f"{number}.jsonl", arcname=entry["member"])
            for kind, files in manifest["files"].items():
                for relative in files:
                    tar.add(dirs[kind] / relative, arcname=f"files/{kind}/{relative}")
        os.replace(partial, target)
    return summary


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# -- restore -----------------------------------------------------------------------------


def manifest_signature(manifest: dict) -> str:
    """HMAC under the audit key of the manifest (which holds the SHA-256 of every table dump
    and every file): an archive edited and re-hashed without the key is refused."""
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    return seals.sign_text("backup|" + json.dumps(unsigned, sort_keys=True, ensure_ascii=False))


def _check_manifest(manifest: dict, conn: sa.Connection) -> None:
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise BackupError("not an ODR backup archive (or a newer format)")
    signature = manifest.get("signature")
    if not isinstance(signature, str) or not hmac.compare_digest(
        signature, manifest_signature(manifest)
    ):
        raise BackupError(
            "the archive's signature does not match: it was changed after the backup, or "
            "made under another ODR_AUDIT_KEY"
        )
    known = {t.name: t for t in _tables()}
    for entry in manifest["tables"]:
        table = known.get(entry["name"])
        if table is None:
            raise BackupError(f"table {entry['name']} of the archive is unknown to this version")
        missing = set(entry["columns"]) - {c.name for c in table.columns}
        if missing:
            raise BackupError(f"table {entry['name']}: columns unknown here: {sorted(missing)}")
    ours, theirs = schema_revision(conn), manifest.get("schema_revision")
    if ours and theirs and ours != theirs:
        raise BackupError(
            f"the archive was taken at schema revision {theirs}, this database is at {ours}"
        )
    inspector = sa.inspect(conn)
    absent = [t.name for t in _tables() if not inspector.has_table(t.name)]
    if absent:
        raise BackupError(
            f"the database has no tables {absent[:3]}...: run `flask db upgrade` first"
        )
    busy = [
        t.name
        for t in _tables()
        if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
    ]
    if busy:
        raise BackupError(
            f"the database is not empty ({', '.join(busy[:5])}): restore needs an empty one"
        )


def _safe_relative(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise BackupError(f"refused a file name in the archive: {name!r}")
    return relative


def _hashed_lines(handle, digest) -> Iterator[bytes]:
    for line in handle:
        digest.update(line)
        yield line


def _decode_lines(table: sa.Table, lines: Iterable[bytes]) -> Iterator[dict]:
    kinds = {c.name: _kind(c) for c in table.columns}
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        yield {key: decode(kinds[key], value) for key, value in row.items()}


def _insert_all(conn: sa.Connection, table: sa.Table, rows: Iterator[dict]) -> int:
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _reset_sequences(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        for column in table.primary_key.columns:
            if not (column.autoincrement in (True, "auto") and _kind(column) == "other"):
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": f'"{table.name}"', "column": column.name},
            ).scalar()
            if sequence:
                conn.execute(
                    sa.text(
                        f'SELECT setval(:seq, COALESCE((SELECT MAX("{column.name}") '
                        f'FROM "{table.name}"), 1), '
                        f'(SELECT MAX("{column.name}") FROM "{table.name}") IS NOT NULL)'
                    ),
                    {"seq": sequence},
                )


def restore(archive: str | Path) -> Summary:
    """Restore an archive into this (empty, migrated) database and its file folders."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"no such file: {archive}")
    summary = Summary(path=archive)
    dirs = _file_dirs()
    tables = {t.name: t for t in _tables()}
    staged: dict[str, Path] = {}
    placed: list[Path] = []
    staging = {kind: Path(tempfile.mkdtemp(prefix=".restore-", dir=d)) for kind, d in dirs.items()}
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    engine = db.engine
    db.session.remove()
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                tar = tarfile.open(archive, "r|gz")  # noqa: SIM115 - closed by the with below
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise BackupError(f"cannot read {archive}: {exc}") from None
            with tar:
                manifest = None
                by_member: dict[str, dict] = {}
                try:
                    for member in tar:
                        if member.name == "manifest.json":
                            manifest = json.loads(tar.extractfile(member).read())
                            _check_manifest(manifest, conn)
                            by_member = {t["member"]: t for t in manifest["tables"]}
                            continue
                        if manifest is None:
                            raise BackupError("the archive does not start with its manifest")
                        if not member.isfile():
                            raise BackupError(f"refused a non-file entry: {member.name!r}")
                        if member.name.startswith("db/"):
                            entry = by_member.get(member.name)
                            if entry is None:
                                raise BackupError(f"unexpected dump {member.name}")
                            digest = hashlib.sha256()
                            table = tables[entry["name"]]
                            lines = _hashed_lines(tar.extractfile(member), digest)
                            count = _insert_all(conn, table, _decode_lines(table, lines))
                            if digest.hexdigest() != entry["sha256"]:
                                raise BackupError(f"{member.name} is damaged (SHA-256 differs)")
                            if count != entry["rows"]:
                                raise BackupError(
                                    f"{member.name}: {count} rows, expected {entry['rows']}"
                                )
                            summary.tables[table.name] = count
                        elif member.name.startswith("files/"):
                            _, kind, rest = member.name.split("/", 2)
                            relative = str(_safe_relative(rest))
                            expected = manifest["files"].get(kind, {}).get(relative)
                            if kind not in dirs or expected is None:
                                raise BackupError(f"unexpected file {member.name}")
                            temporary = staging[kind] / f"{len(staged):08d}"
                            source = tar.extractfile(member)
                            with temporary.open("wb") as handle:
                                shutil.copyfileobj(source, handle, CHUNK)
                            if file_sha256(temporary) != expected["sha256"]:
                                raise BackupError(f"{member.name} is damaged (SHA-256 differs)")
                            staged[f"{kind}/{relative}"] = temporary
                        else:
                            raise BackupError(f"unexpected entry {member.name!r}")
                except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as exc:
                    raise BackupError(f"the archive is damaged: {exc}") from None
                except (json.JSONDecodeError, KeyError, ValueError) as exc:
                    raise BackupError(f"the archive is damaged: {exc}") from None
            if manifest is None:
                raise BackupError("the archive has no manifest")
            for entry in manifest["tables"]:
                if entry["name"] not in summary.tables:
                    raise BackupError(f"the archive lacks the rows of {entry['name']}")
            for kind, files in manifest["files"].items():
                for relative in files:
                    if f"{kind}/{relative}" not in staged:
                        raise BackupError(f"the archive lacks {kind} file {relative}")
            _reset_sequences(conn)
            for key, temporary in staged.items():
                kind, relative = key.split("/", 1)
                final = dirs[kind] / relative
                if final.exists():
                    if file_sha256(final) != file_sha256(temporary):
                        raise BackupError(f"{final} exists with other content; not overwritten")
                    continue
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, final)
                placed.append(final)
            for kind in dirs:
                summary.files[kind] = len(manifest["files"].get(kind, {}))
            transaction.commit()
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    finally:
        for directory in staging.values():
            shutil.rmtree(directory, ignore_errors=True)
    return summary
