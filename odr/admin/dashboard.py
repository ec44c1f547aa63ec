"""The console's home: the analytics dashboard, enterprise performance and CSV downloads."""

import io
import json
from datetime import datetime
from typing import NamedTuple

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from odr import viewcache
from odr.admin.views import bp
from odr.disputes import formats, similar, stats
from odr.disputes.choices import Channel, Issue
from odr.disputes.models import EnterpriseStatus, RequestKind
from odr.disputes.requests import kind_label
from odr.disputes.states import State


@bp.context_processor
def console_helpers():
    return {
        "has_endpoint": lambda name: name in current_app.view_functions,
        "region_name": region_name,
    }


def region_name(row: dict) -> str:
    if str(get_locale()) == "en" and row.get("name_en"):
        return row["name_en"]
    return row.get("name") or row.get("code") or ""


def _region_param(version: stats.Versions | None = None) -> str | None:
    code = (request.args.get("region") or "").strip()
    if not code:
        return None
    if code not in _region_tree(version):
        abort(404)
    return code


def _region_tree(version: stats.Versions | None = None) -> dict:
    """stats.region_tree(), kept until a region is added (computed now with snapshots
    off)."""
    if not stats.snapshots_enabled():
        return stats.region_tree()
    if version is None:
        version = stats.versions()
    return viewcache.kept("region_tree", version.regions, stats.region_tree)


def _region_breakdown(parent: str | None, data: dict, version: stats.Versions | None) -> dict:
    """stats.region_breakdown() of the dashboard figures `data`, kept for each `parent`
    until the snapshot, an enterprise or the regions change; computed now without a
    version (snapshots off)."""
    if version is None or not stats.snapshots_enabled():
        return stats.region_breakdown(parent, data["by_enterprise"], data["unlisted"])
    return viewcache.kept(
        ("region_breakdown", parent),
        (version.dashboard, version.enterprises, version.regions),
        lambda: stats.region_breakdown(
            parent, data["by_enterprise"], data["unlisted"], _region_tree(version)
        ),
    )


def _figures(version: stats.Versions | None = None) -> dict:
    """The dashboard's figures: computed now with snapshots off, else the snapshot's, parsed
    once per moment (`version`: this request's, else the moment is read)."""
    if not stats.snapshots_enabled():
        return stats.dashboard()
    return viewcache.snapshot("dashboard", version)


# The dashboard shows the first few of each list; the rest is a link away (and in the CSV).
# Early warnings: the first stats.ALERTS_FIRST of each kind, chosen with the snapshot.
ONTIME_SHOWN = 10  # enterprises answering late


@bp.route("/")
def dashboard():
    """The dashboard's content is the same for every reader of one language until the
    snapshots, an enterprise or the regions change: with snapshots on, it is rendered once
    per version, language and region shown, and kept (odr/viewcache.py; the freshness checks
    still run on every request)."""
    if not stats.snapshots_enabled():
        content = _dashboard_content(None, stats.dashboard(), _region_param())
        return render_template("admin/dashboard.html", content=content)
    version = stats.versions()
    stats.check_stale(version)
    region = (request.args.get("region") or "").strip()
    key = (str(get_locale()), request.script_root, region)
    made_of = (version, stats.ontime_threshold(), stats.ontime_min_cases())

    data = _figures(version)
    content = viewcache.kept(
        ("admin_dashboard", *key),
        made_of,
        lambda: _dashboard_content(version, data, _region_param(version)),
        bound=RENDERED_KEPT,
    )
    return render_template("admin/dashboard.html", content=content)


RENDERED_KEPT = 64  # languages × regions drilled into: bounded


def _dashboard_content(version: stats.Versions | None, data: dict, region: str | None) -> Markup:
    regions = _region_breakdown(region, data, version)
    if version is None:
        ontime = stats.ontime_warnings()
    else:
        ontime = stats.ontime_warnings(
            rows=viewcache.performance_table(version, approved_only=True)
        )
    # An autoescaped template's output: its values are escaped already.
    return Markup(  # noqa: S704
        render_template(
            "admin/_dashboard.html",
            data=data,
            overview=data["overview"],
            regions=regions,
            charts=_chart_rows(data, regions),
            alerts=_alerts(data["alerts_first"], version),
            alerts_total=data["alerts_total"],
            computed_at=datetime.fromisoformat(data["computed_at"]),
            ontime=ontime[:ONTIME_SHOWN],
            ontime_total=len(ontime),
            threshold=stats.ontime_threshold(),
            min_cases=stats.ontime_min_cases(),
            rule={
                "factor": stats.SPIKE_FACTOR,
                "extra": stats.SPIKE_MIN_EXTRA,
                "weeks": stats.BASELINE_WEEKS,
                "cluster_size": similar.CLUSTER_SIZE,
                "cluster_days": similar.CLUSTER_DAYS,
            },
            request_kinds=list(RequestKind),
            kind_label=kind_label,
        )
    )


ALERT_KINDS = ("category", "region", "enterprise", "cluster")


@bp.route("/alerts")
def alerts():
    """Every early warning (the dashboard shows the first few of each kind), a page at a
    time, optionally of one kind."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in ALERT_KINDS:
        abort(404)
    data = _figures()
    rows = [a for a in stats.alerts() if kind is None or a["kind"] == kind]
    rows, page, pages = paginate(rows)
    return render_template(
        "admin/alerts.html",
        alerts=_alerts(rows),
        kind=kind,
        kinds=ALERT_KINDS,
        page=page,
        pages=pages,
        computed_at=datetime.fromisoformat(data["computed_at"]),
    )


def _alerts(alerts: list[dict], version: stats.Versions | None = None) -> list[dict]:
    """Each alert with its label in the reader's language."""
    tree = None
    result = []
    for alert in alerts:
        if alert["kind"] == "category":
            label = str(Issue(alert["key"]).label)
        elif alert["kind"] == "region":
            tree = tree if tree is not None else _region_tree(version)
            _parent, name, name_en, _level = tree.get(alert["key"], (None, alert["name"], None, ""))
            label = region_name({"name": name, "name_en": name_en, "code": alert["key"]})
        elif alert["kind"] == "cluster":
            label = f"{alert['name']} — {alert['subject']}"
        else:
            label = alert["name"]
        result.append({**alert, "label": label})
    return result


def _chart_rows(data: dict, regions: dict) -> dict:
    """Each chart's rows: (label, value) or (label, value, link). Links are built from one
    url_for each (region codes and ids need no quoting), not one a row."""
    overview = data["overview"]
    has_detail = "admin.enterprise" in current_app.view_functions
    drill = url_for("admin.dashboard") + "?region={}#regions-title"
    region_rows = [
        (region_name(r), r["cases"], drill.format(r["code"]) if r["drillable"] else None)
        for r in regions["rows"]
    ]
    if regions["unknown"]:
        region_rows.append((_("Region not known"), regions["unknown"], None))
    if regions["direct"]:
        region_rows.append((_("At this level itself"), regions["direct"], None))
    detail = url_for("admin.enterprise", enterprise_id=0)[:-1] if has_detail else None
    rows = {
        "states": [(str(s.label), overview["by_state"].get(s.value, 0)) for s in State],
        "categories": [(str(i.label), overview["by_issue"].get(i.value, 0)) for i in Issue],
        # Online, or taken by hotline seats and service stations (a snapshot stored before
        # the channel was counted has none).
        "channels": [
            (str(c.label), overview.get("by_channel", {}).get(c.value, 0)) for c in Channel
        ],
        "regions": region_rows,
        "enterprises": [
            (r["name"], r["cases"], f"{detail}{r['enterprise_id']}" if detail else None)
            for r in data["top_enterprises"]
        ],
        "weekly": [(w["week"], w["cases"]) for w in data["weekly"]],
    }
    return {
        name: Chart(chart, _json([str(r[0]) for r in chart]), _json([r[1] for r in chart]))
        for name, chart in rows.items()
    }


class Chart(NamedTuple):
    """A chart's rows (label, value[, link]) for its table, and its labels and values as
    JSON for Chart.js (in a data- attribute)."""

    rows: list
    labels: Markup
    values: Markup


def _json(items: list) -> Markup:
    """Compact JSON, safe in an HTML attribute: no spaces, Chinese as UTF-8 rather than
    \\u escapes (a third of the size), <>&' escaped as in Jinja's tojson."""
    return htmlsafe_json_dumps(items, dumps=json.dumps, ensure_ascii=False, separators=(",", ":"))


@bp.route("/performance")
def performance():
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in EnterpriseStatus}:
        abort(404)
    rows = viewcache.performance_table()
    if status:
        rows = [r for r in rows if r["status"] == status]
    warned = [r for r in rows if r["warning"]]
    rows, page, pages = paginate(rows)
    return render_template(
        "admin/performance.html",
        rows=rows,
        warned=warned,
        page=page,
        pages=pages,
        status=status,
        statuses=list(EnterpriseStatus),
        statuses_labels={s.value: s.label for s in EnterpriseStatus},
        threshold=stats.ontime_threshold(),
        min_cases=stats.ontime_min_cases(),
    )


PAGE_SIZE = 100


def paginate(rows: list, size: int = PAGE_SIZE) -> tuple[list, int, int]:
    """One page of a computed list: (items, page, pages); ?page= beyond the end is 404."""
    pages = max((len(rows) + size - 1) // size, 1)
    page = request.args.get("page", 1, type=int)
    if page < 1 or page > pages:
        abort(404)
    return rows[(page - 1) * size : page * size], page, pages


# -- CSV: every chart's numbers ----------------------------------------------------------


def _percent(value) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv_rows(name: str) -> tuple[list[str], list[list]]:
    if name == "performance":
        rows = viewcache.performance_table()
        return (
            [
                "enterprise_id",
                "name",
                "credit_code",
                "status",
                "cases",
                "closed",
                "settled",
                "settlement_rate",
                "on_time",
                "on_time_counted",
                "on_time_rate",
                "average_days",
                "ratings",
                "satisfaction",
                "warning",
            ],
            [
                [
                    r["enterprise_id"],
                    r["name"],
                    r["credit_code"],
                    r["status"],
                    r["cases"],
                    r["closed"],
                    r["settled"],
                    _percent(r["settlement_rate"]),
                    r["on_time"],
                    r["on_time_counted"],
                    _percent(r["on_time_rate"]),
                    "" if r["average_days"] is None else r["average_days"],
                    r["ratings"],
                    "" if r["satisfaction"] is None else r["satisfaction"],
                    int(r["warning"]),
                ]
                for r in rows
            ],
        )
    version = stats.versions() if stats.snapshots_enabled() else None
    data = _figures(version)
    overview = data["overview"]
    if name == "states":
        return (
            ["state", "label", "cases"],
            [[s.value, str(s.label), overview["by_state"].get(s.value, 0)] for s in State],
        )
    if name == "categories":
        return (
            ["category", "label", "cases"],
            [[i.value, str(i.label), overview["by_issue"].get(i.value, 0)] for i in Issue],
        )
    if name == "channels":
        return (
            ["channel", "label", "cases"],
            [
                [c.value, str(c.label), overview.get("by_channel", {}).get(c.value, 0)]
                for c in Channel
            ],
        )
    if name == "regions":
        breakdown = _region_breakdown(_region_param(version), data, version)
        return (
            ["region_code", "name", "cases"],
            [[r["code"], region_name(r), r["cases"]] for r in breakdown["rows"]],
        )
    if name == "enterprises":
        return (
            ["enterprise_id", "name", "cases"],
            [[r["enterprise_id"], r["name"], r["cases"]] for r in data["top_enterprises"]],
        )
    if name == "weekly":
        return (
            ["week_starting", "cases"],
            [[w["week"], w["cases"]] for w in data["weekly"]],
        )
    if name == "clocks":
        return (
            ["clock", "on_time", "counted", "rate"],
            [
                [clock, on_time, counted, _percent(rate)]
                for clock, (on_time, counted, rate) in overview["clocks"].items()
            ],
        )
    if name == "rates":
        keys = (
            "settlement_rate",
            "direct_settlement_rate",
            "mediation_success_rate",
            "average_days_closed",
            "average_days_agreed",
        )
        return (
            ["measure", "value"],
            [[k, overview[k] if overview[k] is not None else ""] for k in keys],
        )
    if name == "requests":
        return (
            ["kind", "total", "open", "overdue", "on_time_rate"],
            [
                [k.value, v["total"], v["open"], v["overdue"], _percent(v["on_time_rate"])]
                for k, v in ((k, data["requests"][k.value]) for k in RequestKind)
            ],
        )
    if name == "alerts":
        return (
            ["kind", "key", "label", "last_7_days", "baseline_mean"],
            [
                [a["kind"], a["key"], a["label"], a["current"], a["baseline"]]
                for a in _alerts(stats.alerts())
            ],
        )
    abort(404)


CSV_NAMES = (
    "states",
    "categories",
    "channels",
    "regions",
    "enterprises",
    "weekly",
    "clocks",
    "rates",
    "requests",
    "alerts",
    "performance",
)


@bp.route("/analytics/<name>.csv")
def analytics_csv(name: str):
    if name not in CSV_NAMES:
        abort(404)
    header, rows = _csv_rows(name)
    buffer = io.StringIO()
    writer = formats.csv_writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    # A BOM so that spreadsheet programs read the Chinese names as UTF-8.
    body = "\ufeff" + buffer.getvalue()
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="odr-{name}.csv"',
            "Cache-Control": "no-store",
        },
    )
