"""One way to hand a stored file to a browser or an API client: evidence and records are
always sent as attachments under a cleaned name, with their own type, never sniffed, never
kept by a shared cache. The consumer's, the enterprise's and the mediator's pages and the
API all send them here."""

from io import BytesIO
from pathlib import Path

from flask import Response, abort, send_file

from odr.disputes.evidence import ALLOWED, clean_filename, evidence_path
from odr.disputes.models import Evidence, Record
from odr.disputes.records import record_bytes
from odr.extensions import db


def send_download(
    source: Path | bytes, *, filename: str, mimetype: str, etag: str | None = None
) -> Response:
    """`source` (a file, or its bytes) as an attachment named `filename` (cleaned);
    404 when the file is missing."""
    if isinstance(source, Path) and not source.is_file():
        abort(404)
    response = send_file(
        BytesIO(source) if isinstance(source, bytes) else source,
        mimetype=mimetype,
        as_attachment=True,
        download_name=clean_filename(filename),
        etag=etag if etag is not None else False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def download_name(filename: str | None, mimetype: str) -> str:
    """The uploader's name, cleaned, with the extension of the type sniffed from the
    content: a GIF/HTML polyglot uploaded as page.html downloads as page.gif, so no
    program opens it as a web page."""
    extension = ALLOWED.get(mimetype, ".bin")
    stem = clean_filename(filename)
    if stem.lower().endswith(extension) or (extension == ".jpg" and stem.lower().endswith(".jpeg")):
        return stem
    stem = stem.rsplit(".", 1)[0] if "." in stem.strip(".") else stem
    return (stem.strip(". ") or "evidence")[:190] + extension


def send_evidence(item: Evidence) -> Response:
    return send_download(
        evidence_path(item),
        filename=download_name(item.filename, item.content_type),
        mimetype=item.content_type,
    )


def send_record(record: Record, reference: str | None = None) -> Response:
    """An issued record's PDF (named by the case's reference when given); its SHA-256 goes
    with it, so the reader can compare it with the public verification page."""
    rendered_now = not record.ready
    try:
        data = record_bytes(record)  # renders a record the worker has not rendered yet
    except OSError:
        abort(404)
    if rendered_now:
        db.session.commit()
    name = f"{reference}-{record.kind}-{record.code}.pdf" if reference else f"{record.code}.pdf"
    response = send_download(data, filename=name, mimetype="application/pdf", etag=record.sha256)
    response.headers["X-Record-SHA256"] = record.sha256
    return response


def send_calendar(data: bytes, *, filename: str) -> Response:
    """An iCalendar file (a mediation session) as an attachment: small, sent from memory
    with the same headers as every download."""
    response = Response(data, mimetype="text/calendar")
    response.headers.set("Content-Disposition", "attachment", filename=clean_filename(filename))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
