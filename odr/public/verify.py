"""Public record verification: anyone holding a record checks its code, and may upload the
PDF to learn whether it is byte-identical to the one issued. No personal data is shown."""

from datetime import datetime

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from odr.disputes import records
from odr.disputes.choices import RecordKind
from odr.extensions import db, limiter
from odr.public.views import bp

UPLOAD_LIMIT = "30 per minute"


class CodeForm(FlaskForm):
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Verify"))


class UploadForm(FlaskForm):
    pdf = FileField(_l("The PDF you received"))
    submit = SubmitField(_l("Compare with the issued record"))


def _read_upload(storage) -> bytes | None:
    if storage is None or not getattr(storage, "filename", None):
        return None
    limit = current_app.config.get("MAX_FILE_BYTES", 10 * 1024 * 1024)
    data = storage.stream.read(limit + 1)
    return data if 0 < len(data) <= limit else None


def _result(code: str, upload_form=None, comparison=None, status=200):
    info = records.verification(code)
    db.session.commit()  # a record rendered on demand by verification() is kept
    kind_label = str(RecordKind(info["kind"]).label) if info["valid"] else None
    return (
        render_template(
            "public/verify_result.html",
            code=records.normalise_code(code) or code,
            info=info,
            kind_label=kind_label,
            issued_at=datetime.fromisoformat(info["issued_at"]) if info["valid"] else None,
            upload_form=upload_form or UploadForm(),
            comparison=comparison,
        ),
        status if info["valid"] else 404,
    )


@bp.route("/verify", methods=["GET"])
def verify_form():
    form = CodeForm(request.args, meta={"csrf": False})
    if "code" in request.args and form.validate():
        code = records.normalise_code(form.code.data)
        if code is not None:
            return redirect(url_for("public.verify_code", code=code))
        form.code.errors = [_("A verification code has 16 letters and digits.")]
    return render_template("public/verify.html", form=form, upload_form=UploadForm())


@bp.route("/verify", methods=["POST"])
@limiter.limit(UPLOAD_LIMIT)
def verify_file():
    """Which issued record, if any, has exactly the bytes of the uploaded file."""
    upload_form = UploadForm()
    form = CodeForm(meta={"csrf": False}, formdata=None)
    if not upload_form.validate():
        return render_template("public/verify.html", form=form, upload_form=upload_form), 400
    data = _read_upload(upload_form.pdf.data)
    if data is None:
        upload_form.pdf.errors = [_("Choose the PDF file (at most 10 MB).")]
        return render_template("public/verify.html", form=form, upload_form=upload_form), 422
    record = records.find_by_sha256(records.sha256_of(data))
    comparison = {
        "identical": record is not None,
        "sha256": records.sha256_of(data),
        "size": len(data),
    }
    if record is None:
        return (
            render_template(
                "public/verify.html",
                form=form,
                upload_form=UploadForm(formdata=None),
                comparison=comparison,
            ),
            200,
        )
    return _result(record.code, comparison=comparison)


@bp.route("/verify/<code>", methods=["GET"])
def verify_code(code: str):
    return _result(code)


@bp.route("/verify/<code>", methods=["POST"])
@limiter.limit(UPLOAD_LIMIT)
def verify_upload(code: str):
    form = UploadForm()
    record = records.find_record(code)
    if not form.validate() or record is None:
        return _result(code, upload_form=form, status=400)
    data = _read_upload(form.pdf.data)
    if data is None:
        form.pdf.errors = [_("Choose the PDF file (at most 10 MB).")]
        return _result(code, upload_form=form, status=422)
    comparison = {
        "identical": records.same_bytes(record, data),
        "sha256": records.sha256_of(data),
        "size": len(data),
    }
    return _result(code, upload_form=UploadForm(formdata=None), comparison=comparison)
