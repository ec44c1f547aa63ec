"""The web layer's one cache: what the statistics pages, the public scoreboard and the
outcome guidance are made from, kept in each worker process for as long as the version of
what it is made from stays the same. The domain only computes (odr/disputes/stats.py,
guidance.py); the views and the API ask here, and nothing is kept anywhere else.

What is kept, and the version it is kept by:
- a statistics snapshot's parsed figures (the dashboard's, the performance figures, the
  guidance groups): the snapshot's moment (`stats.fresh`, which runs the freshness rule
  on every request, kept or not);
- the enterprise performance table and the public scoreboard's rows: the performance
  snapshot's moment and the enterprises' version (`stats.versions()`);
- the dashboard's region tree, region breakdowns and rendered content
  (odr/admin/dashboard.py) and the scoreboard's rendered pages (odr/public/scoreboard.py):
  the versions they name there.
With snapshots off (tests, or a database without them) the figures are computed on every
request and nothing made from them is kept: no version would follow them.

Nothing kept here is derived from cases as they are: the statistics change only when a
snapshot is recomputed, an enterprise is added or changes, or a region is added, and the
versions show each of these. So nothing subscribes to `cases_changed`
(odr/disputes/signals.py); the signal is there for a page cache kept per case or per
party's list, which would live here and subscribe to it.

`VIEW_CACHE` (`ODR_VIEW_CACHE=0`, read in odr/config.py) switches the cache off: every
request computes what it shows, to measure what the cache buys.
"""

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask, current_app

from odr.disputes import stats

T = TypeVar("T")
_STORE = "odr_viewcache"


def kept(key: Hashable, version: Hashable, compute: Callable[[], T], *, bound=None) -> T:
    """The value of `compute()`, kept in this process under `key` for as long as `version`
    (what it is made from) stays the same; read-only for callers. `key`: a name, or a tuple
    whose first item is the name (one namespace per kind of value); with `bound`, the
    name's values are forgotten when it holds that many (keys made from request
    parameters). With the cache off, `compute()` every time."""
    if not current_app.config.get("VIEW_CACHE", True):
        return compute()
    name, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
    values = current_app.extensions.setdefault(_STORE, {}).setdefault(name, {})
    found = values.get(rest)
    if found is not None and found[0] == version:
        return found[1]
    value = compute()
    if bound is not None and len(values) >= bound and rest not in values:
        values.clear()
    values[rest] = (version, value)
    return value


def clear(app: Flask) -> None:
    """Forget everything kept (tests: after a wipe, ids and so versions can repeat)."""
    app.extensions.pop(_STORE, None)


def snapshot(key: str, version: stats.Versions | None = None) -> dict:
    """`stats.snapshot(key)`, its stored figures parsed once per snapshot moment.
    `version`: what `stats.versions()` read for this request ("dashboard" and
    "performance"), else the moment is read here."""
    moment = stats.fresh(key) if version is None else stats.fresh(key, getattr(version, key))
    if moment is None:  # snapshots off, or none stored yet: computed now
        return stats.snapshot(key, None)
    return kept(("snapshot", key), moment, lambda: stats.stored(key))


def performance_table(
    version: stats.Versions | None = None, *, approved_only: bool = False, public: bool = False
) -> list[dict]:
    """`stats.performance_table`, kept until the performance snapshot or an enterprise
    changes. `version`: `stats.versions()` of this request, else read here."""
    if not stats.snapshots_enabled():
        return stats.performance_table(approved_only=approved_only, public=public)
    if version is None:
        version = stats.versions()
    moment = stats.fresh("performance", version.performance)
    return kept(
        ("performance_table", approved_only, public),
        (moment, *version.enterprises),
        lambda: stats.performance_table(
            approved_only=approved_only,
            public=public,
            numbers=snapshot("performance", version)["numbers"],
        ),
    )


def scoreboard(version: stats.Versions | None = None) -> list[dict]:
    """`stats.enterprise_scoreboard`, kept until the performance snapshot or an enterprise
    changes. `version`: `stats.versions()` of this request, else read here."""
    if not stats.snapshots_enabled():
        return stats.enterprise_scoreboard()
    if version is None:
        version = stats.versions()
    moment = stats.fresh("performance", version.performance)
    return kept(
        "scoreboard",
        (moment, *version.enterprises),
        lambda: stats.enterprise_scoreboard(performance_table(version, public=True)),
    )
