"""The public enterprise scoreboard and consumer warnings (消费提示). No personal data."""

from flask import abort, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from odr import viewcache
from odr.disputes import enterprises, stats, supervision
from odr.disputes.models import ConsumerWarning, Enterprise
from odr.extensions import db
from odr.public.views import bp

PAGE_SIZE = 50  # as the case lists


@bp.route("/enterprises")
def scoreboard():
    """Without a search, a page is the same for every reader of one language until the
    performance snapshot or an enterprise changes: with snapshots on, it is rendered once
    per version, language and page and kept (odr/viewcache.py; the snapshot's freshness
    check still runs on every request)."""
    q = (request.args.get("q") or "").strip()[:100]
    page = request.args.get("page", 1, type=int)
    if q or not stats.snapshots_enabled():
        content = _content(viewcache.scoreboard(), q, page)
        return render_template("public/scoreboard.html", content=content)
    version = stats.versions()  # one statement
    rows = viewcache.scoreboard(version)  # kept; checks the snapshot's freshness
    key = ("public_scoreboard", str(get_locale()), request.script_root, page)
    made_of = (version.performance, version.enterprises)
    content = viewcache.kept(key, made_of, lambda: _content(rows, q, page), bound=RENDERED_KEPT)
    return render_template("public/scoreboard.html", content=content)


RENDERED_KEPT = 128  # languages × pages: bounded


def _content(rows: list[dict], q: str, page: int) -> Markup:
    if q:
        # The one search of enterprises (name, English name, pinyin, credit code).
        found = set(db.session.scalars(db.select(Enterprise.id).where(enterprises.matching(q))))
        rows = [r for r in rows if r["enterprise_id"] in found]
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    if page < 1 or page > pages:
        abort(404)
    # An autoescaped template's output: its values are escaped already.
    return Markup(  # noqa: S704
        render_template(
            "public/_scoreboard.html",
            rows=[_shown(r) for r in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]],
            q=q,
            page=page,
            pages=pages,
        )
    )


def _value(value) -> str:
    return "" if value is None else str(value)


def _shown(row: dict) -> tuple:
    """A row as the table prints it, worked out here rather than by a macro call per cell:
    (id, name, credit code, exited, cases, agreements, then (data-value, text) for the
    settlement rate, the on-time rate, the average days, the breaches and the satisfaction;
    text None prints a dash)."""
    rate, on_time, days = row["settlement_rate"], row["on_time_rate"], row["average_days"]
    breaches, satisfaction = row.get("breaches") or 0, row.get("satisfaction")
    return (
        row["enterprise_id"],
        row["name"],
        row["credit_code"],
        row.get("status") == "exited",
        row["cases"],
        row["settled"],
        (_value(rate), None if rate is None else f"{rate * 100:.1f}%"),
        (_value(on_time), None if on_time is None else f"{on_time * 100:.1f}%"),
        (_value(days), None if days is None else f"{days:.1f}"),
        (_value(breaches), str(breaches)),
        (_value(satisfaction), None if satisfaction is None else f"{satisfaction:.1f} / 5"),
    )


@bp.route("/warnings")
def warnings():
    return render_template("public/warnings.html", items=supervision.published_warnings())


@bp.route("/warnings/<int:warning_id>")
def warning(warning_id: int):
    item = db.session.get(ConsumerWarning, warning_id)
    if item is None or item.published_at is None:
        abort(404)
    return render_template("public/warning.html", item=item)
