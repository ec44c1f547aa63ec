"""Evidence uploads: images and PDFs, type checked from the content (not the name), at most
10 MB a file and 50 MB a case, stored outside static/ under a random name."""

import hashlib
import os
import secrets
from pathlib import Path

import filetype
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from odr.auth.models import User
from odr.disputes.models import Complaint, Draft, Evidence
from odr.disputes.states import DomainError, InvalidTransition
from odr.extensions import db
from odr.types import utcnow

ALLOWED = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
}


class TooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_media_type"


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED:
        return None
    return kind.mime


def clean_filename(name: str | None) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/\\|?*')
    return (name or "evidence")[:200]


def _claim_room(*, complaint_id=None, draft_id=None) -> int:
    """Take the case's (or the draft's) row for this transaction, then answer the bytes its
    evidence already holds. The row is taken by a write, so parallel uploads to one case
    queue here on both databases (PostgreSQL's row lock; SQLite's write lock, which its
    first write takes) and each one counts the files the previous ones kept: eight
    uploads at once can no longer all see room for themselves. A draft's upload also
    counts as touching the draft (its retention starts again)."""
    if complaint_id is not None:
        table, owner, column = Complaint.__table__, complaint_id, Evidence.complaint_id
        values = {"version": table.c.version}  # no change: only the lock
    else:
        table, owner, column = Draft.__table__, draft_id, Evidence.draft_id
        values = {"updated_at": utcnow()}
    db.session.execute(sa.update(table).where(table.c.id == owner).values(**values))
    if complaint_id is not None:
        # Read again now that it is held: an upload that waited for the lock continues
        # from the case as the previous one left it (its version, its chain head).
        db.session.scalars(
            db.select(Complaint)
            .where(Complaint.id == complaint_id)
            .execution_options(populate_existing=True)
        ).one()
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Evidence.size), 0)).where(column == owner)
    )


def store_evidence(
    actor: User,
    stream,
    filename: str | None,
    *,
    complaint: Complaint | None = None,
    draft: Draft | None = None,
) -> Evidence:
    """Read an upload (a file-like object), check it and keep it. The caller has checked
    that the actor may add evidence to this case or draft."""
    if (
        complaint is not None
        and not complaint.state.is_open
        and complaint.state
        not in (
            "settled",
            "mediated",
        )
    ):
        raise InvalidTransition(_l("The case is closed."))
    limit = current_app.config["MAX_FILE_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(_l("A file may be at most %(mb)s MB.", mb=limit // (1024 * 1024)))
    if not data:
        raise UnsupportedType(_l("The file is empty."))
    mime = sniff(data[:8192])
    if mime is None:
        raise UnsupportedType(
            _l("Only images (JPEG, PNG, GIF, WebP, HEIC) and PDF files are accepted.")
        )
    case_limit = current_app.config["MAX_CASE_BYTES"]
    used = (
        _claim_room(complaint_id=complaint.id)
        if complaint is not None
        else (_claim_room(draft_id=draft.id) if draft is not None else 0)
    )
    if used + len(data) > case_limit:
        raise TooLarge(
            _l("A case may hold at most %(mb)s MB of evidence.", mb=case_limit // (1024 * 1024))
        )
    stored_name = secrets.token_hex(16) + ALLOWED[mime]
    directory = Path(current_app.config["UPLOAD_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / stored_name).write_bytes(data)
    item = Evidence(
        complaint_id=complaint.id if complaint is not None else None,
        draft_id=draft.id if draft is not None else None,
        uploaded_by_id=actor.id,
        filename=clean_filename(filename),
        stored_name=stored_name,
        content_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(item)
    db.session.flush()
    return item


def evidence_path(item: Evidence) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / item.stored_name
