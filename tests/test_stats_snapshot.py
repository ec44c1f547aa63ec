"""The pages read a stored snapshot of the figures: computed when missing, served as they
are while fresh, recomputed in the background when stale, and by `flask admin
refresh-stats` from cron or the worker."""

import threading

from odr import viewcache
from odr.disputes import stats
from odr.disputes.models import StatsSnapshot
from odr.extensions import db
from tests.factories import PASSWORD, file_case


def file_one(w):
    file_case(w.consumer, w.enterprise, purchase_date="2026-10-01")


def wait_for_refreshes():
    for thread in threading.enumerate():
        if thread.name.startswith("stats-"):
            thread.join(timeout=30)


def test_a_missing_snapshot_is_computed_and_stored(world, snapshots):
    file_one(world)
    assert stats.dashboard()["overview"]["total"] == 1
    row = db.session.get(StatsSnapshot, "dashboard")
    assert row is not None and row.data["overview"]["total"] == 1


def test_a_fresh_snapshot_is_served_as_it_is(world, snapshots):
    file_one(world)
    stats.dashboard()
    file_one(world)
    assert stats.dashboard()["overview"]["total"] == 1  # still the stored figures


def test_the_command_recomputes_every_snapshot(world, snapshots):
    file_one(world)
    stats.dashboard()
    stats.performance_table()
    file_one(world)
    result = snapshots.test_cli_runner().invoke(args=["odr", "refresh-stats"])
    assert result.exit_code == 0, result.output
    assert "dashboard:" in result.output and "performance:" in result.output
    db.session.expire_all()
    assert stats.dashboard()["overview"]["total"] == 2
    row = next(r for r in stats.performance_table() if r["enterprise_id"] == world.enterprise.id)
    assert row["cases"] == 2


def test_a_stale_snapshot_is_served_and_recomputed_in_the_background(world, snapshots):
    file_one(world)
    stats.dashboard()
    file_one(world)
    snapshots.config["ODR_STATS_TTL"] = 0
    assert stats.dashboard()["overview"]["total"] == 1  # at once, the previous figures
    wait_for_refreshes()
    db.session.expire_all()
    assert db.session.get(StatsSnapshot, "dashboard").data["overview"]["total"] == 2


def test_the_scoreboard_lists_enterprises_as_they_are_now(world, snapshots):
    stats.enterprise_scoreboard()
    from odr.disputes.models import EnterpriseStatus

    world.pending_enterprise.status = EnterpriseStatus.APPROVED
    db.session.commit()
    names = [r["name"] for r in stats.enterprise_scoreboard()]
    assert world.pending_enterprise.name in names  # numbers from the snapshot, zero here


def test_the_dashboard_page_reads_the_snapshot(world, snapshots, client):
    file_one(world)
    client.post("/auth/login", data={"email": world.admin.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200
    assert db.session.get(StatsSnapshot, "dashboard") is not None
    stats.clear_cache()
    assert db.session.scalar(db.select(db.func.count()).select_from(StatsSnapshot)) == 0


def test_the_kept_scoreboard_follows_an_enterprise_decision_at_once(world, snapshots):
    """The combined table is kept (odr/viewcache.py) while nothing changes, but a regulator's
    decision (an enterprise event) shows on the next page, without waiting for a refresh."""
    from odr.disputes import enterprises

    file_one(world)
    listed = {row["enterprise_id"] for row in viewcache.scoreboard()}
    assert world.enterprise.id in listed
    assert viewcache.scoreboard() is viewcache.scoreboard()  # kept
    enterprises.decide(world.admin, world.enterprise, "suspend", "Late answers")
    db.session.commit()
    listed = {row["enterprise_id"] for row in viewcache.scoreboard()}
    assert world.enterprise.id not in listed


def test_every_early_warning_is_stored_apart_from_the_dashboard(
    world, snapshots, client, monkeypatch
):
    """The dashboard's snapshot carries the first warnings of each kind and their count;
    all of them are a row of their own, which only the warnings page and its CSV read (at
    1,000,000 cases they were most of the dashboard's row, parsed on each of its reads)."""
    warnings = [
        {
            "kind": "cluster",
            "key": f"{world.enterprise.id}-{i}",
            "name": f"企业{i}",
            "subject": "奶粉",
            "current": 5,
            "consumers": 5,
            "baseline": None,
            "enterprise_id": world.enterprise.id,
        }
        for i in range(stats.ALERTS_FIRST + 5)
    ]
    monkeypatch.setattr(stats, "early_warnings", lambda now=None: warnings)
    stats.dashboard()
    kept = db.session.get(StatsSnapshot, "dashboard").data
    assert "alerts" not in kept
    assert kept["alerts_first"] == warnings[: stats.ALERTS_FIRST]
    assert kept["alerts_total"] == len(warnings)
    assert db.session.get(StatsSnapshot, "alerts").data["alerts"] == warnings

    monkeypatch.setattr(stats, "early_warnings", lambda now=None: [])  # stored, not computed
    client.post("/auth/login", data={"email": world.admin.email, "password": PASSWORD})
    home = client.get("/admin/?lang=en").get_data(as_text=True)
    assert home.count('data-alert-kind="cluster"') == stats.ALERTS_FIRST
    assert f"All {len(warnings)} early warnings" in home
    page = client.get("/admin/alerts?lang=en").get_data(as_text=True)
    assert page.count('data-alert-kind="cluster"') == len(warnings)
    csv = client.get("/admin/analytics/alerts.csv").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == len(warnings) + 1
