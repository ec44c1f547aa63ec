"""With snapshots on, the dashboard's content and the scoreboard's pages are rendered once
per version of the figures (the snapshots, the enterprises, the regions), language and
region or page, and kept in the process (odr/viewcache.py). They must read exactly as
pages rendered afresh, follow a new snapshot or an enterprise decision at once, and keep
the freshness rules."""

import re
import threading

import pytest

from odr import viewcache
from odr.disputes import enterprises, stats
from odr.disputes.models import StatsSnapshot
from odr.extensions import db
from tests.factories import PASSWORD, file_case, stats_snapshots_on
from tests.test_stats_numbers import seed_known_outcomes

DASHBOARD_PAGES = [
    "/admin/",
    "/admin/?region=410000",
    "/admin/?region=410100",
    "/admin/?region=410105",
]
SCOREBOARD_PAGES = ["/enterprises", "/enterprises?q=zz-none", "/enterprises?page=1"]


def login(client, user):
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return client


def same_page(html: str) -> str:
    """The page without what differs between two readings anyway: the CSRF token and the
    moment the figures were computed."""
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    return re.sub(r'<p class="small text-muted">[^<]*\d{4}-\d\d-\d\d \d\d:\d\d[^<]*</p>', "", html)


def read(client, paths, lang):
    client.get(f"/lang/{lang}")
    out = {}
    for path in paths:
        response = client.get(path)
        out[path] = (response.status_code, same_page(response.get_data(as_text=True)))
    return out


def wait_for_refreshes():
    for thread in threading.enumerate():
        if thread.name.startswith("stats-"):
            thread.join(timeout=30)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_kept_pages_read_as_pages_rendered_afresh(world, app, client, lang):
    seed_known_outcomes(world)
    login(client, world.admin)
    fresh = read(client, DASHBOARD_PAGES + SCOREBOARD_PAGES, lang)
    with stats_snapshots_on(app):
        first = read(client, DASHBOARD_PAGES + SCOREBOARD_PAGES, lang)
        kept = read(client, DASHBOARD_PAGES + SCOREBOARD_PAGES, lang)
    for path in fresh:
        assert fresh[path][0] == 200, path
        assert first[path] == fresh[path], path
        assert kept[path] == fresh[path], path


def test_each_language_has_its_own_kept_dashboard(world, snapshots, client):
    login(client, world.admin)
    for lang, shown in (("en", True), ("zh_CN", False), ("en", True)):
        client.get(f"/lang/{lang}")
        with snapshots.app_context():  # as in production: the language of this request
            html = client.get("/admin/").get_data(as_text=True)
        assert ('<h1 class="h3">Regulator console</h1>' in html) is shown, lang


def test_the_kept_dashboard_follows_a_new_snapshot(world, snapshots, client):
    login(client, world.admin)
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    assert 'id="kpi-total" data-value="1"' in client.get("/admin/").get_data(as_text=True)
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    # A fresh snapshot is served as it is...
    assert 'id="kpi-total" data-value="1"' in client.get("/admin/").get_data(as_text=True)
    # ...until it is recomputed.
    stats.refresh("dashboard")
    assert 'id="kpi-total" data-value="2"' in client.get("/admin/").get_data(as_text=True)


def test_an_unknown_region_is_404_with_snapshots_too(world, snapshots, client):
    login(client, world.admin)
    assert client.get("/admin/?region=410000").status_code == 200
    assert client.get("/admin/?region=999999").status_code == 404
    assert client.get("/admin/analytics/regions.csv?region=999999").status_code == 404


def test_the_kept_scoreboard_page_follows_an_enterprise_decision(world, snapshots, client):
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    row = f'id="enterprise-{world.enterprise.id}"'
    assert row in client.get("/enterprises").get_data(as_text=True)
    assert row in client.get("/enterprises").get_data(as_text=True)
    enterprises.decide(world.admin, world.enterprise, "suspend", "Late answers")
    db.session.commit()
    assert row not in client.get("/enterprises").get_data(as_text=True)


def test_a_stale_performance_snapshot_is_recomputed_while_the_table_is_kept(world, snapshots):
    viewcache.performance_table()
    kept = viewcache.performance_table()
    assert viewcache.performance_table() is kept
    before = db.session.get(StatsSnapshot, "performance").computed_at
    snapshots.config["ODR_STATS_TTL"] = 0
    viewcache.performance_table()  # served at once, recomputed in the background
    wait_for_refreshes()
    db.session.expire_all()
    assert db.session.get(StatsSnapshot, "performance").computed_at > before
