"""PDF records (WeasyPrint): issued once, stored, never changed.

Templates receive plain dicts, rendered in the case's language; WeasyPrint may fetch only
the app's own static files.
"""

import base64
import hashlib
import io
import os
import secrets
from datetime import datetime
from pathlib import Path

import qrcode
import qrcode.image.svg
from flask import current_app, render_template
from flask_babel import force_locale

from odr.disputes.choices import RecordKind
from odr.disputes.models import Complaint, Record
from odr.extensions import db
from odr.types import utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))


def verify_url(code: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{code}"


def qr_svg_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=1)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _url_fetcher():
    """Only data: URIs and the app's own static files; nothing from the network."""
    from weasyprint.urls import URLFetcher

    static = Path(current_app.static_folder).resolve()

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = Path(url[len("file://") :].split("?")[0]).resolve()
                if static not in path.parents:
                    raise ValueError(f"refused to fetch {url!r} while rendering a record")
            return super().fetch(url, headers)

    return StaticOnlyFetcher(allowed_protocols={"data", "file"})


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_template(template, **context)
    return HTML(
        string=html,
        base_url=Path(current_app.static_folder).as_uri() + "/",
        url_fetcher=_url_fetcher(),
    ).write_pdf()


def record_context(complaint: Complaint, kind: RecordKind, code: str, issued_at: datetime) -> dict:
    from odr.disputes.record_data import build_context

    return build_context(complaint, kind, code, issued_at)


def issue_record(complaint: Complaint, kind: RecordKind, *, now: datetime | None = None) -> Record:
    """Render, store and register one record. The bytes are never rendered again."""
    issued_at = now or utcnow()
    code = new_code()
    with force_locale(complaint.language or "zh_CN"):
        context = record_context(complaint, kind, code, issued_at)
        context["qr"] = qr_svg_data_uri(verify_url(code))
        context["verify_url"] = verify_url(code)
        pdf = render_pdf("pdf/record.html", context)
    digest = hashlib.sha256(pdf).hexdigest()
    directory = Path(current_app.config["RECORD_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    relative = f"{code}.pdf"
    target = directory / relative
    temporary = target.with_suffix(".tmp")
    temporary.write_bytes(pdf)
    os.replace(temporary, target)
    record = Record(
        complaint_id=complaint.id,
        kind=kind,
        code=code,
        issued_at=issued_at,
        sha256=digest,
        path=relative,
        size=len(pdf),
        language=complaint.language or "zh_CN",
    )
    db.session.add(record)
    db.session.flush()
    return record


def record_bytes(record: Record) -> bytes:
    return (Path(current_app.config["RECORD_DIR"]) / record.path).read_bytes()
