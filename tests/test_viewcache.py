"""The web layer's one cache (odr/viewcache.py): with it on, a page made from the statistics
snapshots is served from what was kept while their version stays the same; with it off
(`ODR_VIEW_CACHE=0`, config `VIEW_CACHE`), every request computes it, so a snapshot changed
in place shows at once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from odr.disputes import stats
from odr.disputes.models import StatsSnapshot
from odr.extensions import db
from tests.factories import PASSWORD, file_case

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=[True, False], ids=["cache-on", "cache-off"])
def cache(request, snapshots):
    """Snapshots on, as in production, and the view cache on or off."""
    before = snapshots.config["VIEW_CACHE"]
    snapshots.config["VIEW_CACHE"] = request.param
    yield request.param
    snapshots.config["VIEW_CACHE"] = before


def rewrite(key: str, change) -> None:
    """Change the stored figures of `key` but not their moment: the version stays the
    same, so only a reader that parses them again sees the change."""
    data = db.session.get(StatsSnapshot, key).data
    change(data)
    table = StatsSnapshot.__table__
    db.session.execute(sa.update(table).where(table.c.key == key).values(data=data))
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("value, on", [("0", False), ("off", False), ("1", True), (None, True)])
def test_the_switch_is_read_by_the_config_class(value, on):
    env = {k: v for k, v in os.environ.items() if k != "ODR_VIEW_CACHE"}
    if value is not None:
        env["ODR_VIEW_CACHE"] = value
    shown = subprocess.run(
        [sys.executable, "-c", "from odr.config import Config; print(Config.VIEW_CACHE)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == str(on)


def test_the_dashboard_is_kept_only_with_the_cache_on(world, cache, client):
    client.post("/auth/login", data={"email": world.admin.email, "password": PASSWORD})
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    client.get("/admin/")  # the snapshot is computed and stored
    assert 'id="kpi-total" data-value="1"' in client.get("/admin/").get_data(as_text=True)
    rewrite("dashboard", lambda data: data["overview"].update(total=7))
    html = client.get("/admin/").get_data(as_text=True)
    assert ('id="kpi-total" data-value="1"' in html) is cache  # the same version: kept
    assert ('id="kpi-total" data-value="7"' in html) is not cache  # off: parsed again


def test_the_scoreboard_is_kept_only_with_the_cache_on(world, cache, client):
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    cell = '<td class="text-end num" data-label="Cases" data-field="cases">{}</td>'
    row = f'id="enterprise-{world.enterprise.id}"'
    client.get("/lang/en")
    client.get("/enterprises")  # the snapshot is computed and stored
    html = client.get("/enterprises").get_data(as_text=True)
    assert row in html and cell.format(1) in html
    eid = str(world.enterprise.id)
    rewrite("performance", lambda data: data["numbers"][eid].update(cases=7))
    html = client.get("/enterprises").get_data(as_text=True)
    assert (cell.format(1) in html) is cache
    assert (cell.format(7) in html) is not cache
    shown = client.get("/api/v1/stats/enterprises").get_json()
    [cases] = [r["cases"] for r in shown["items"] if r["enterprise_id"] == world.enterprise.id]
    assert cases == (1 if cache else 7)  # the API's scoreboard is the same kept table


def test_the_guidance_figures_are_parsed_once_per_snapshot_with_the_cache_on(
    world, cache, client, monkeypatch
):
    stats.refresh("guidance")
    reads = []
    real = stats.stored
    monkeypatch.setattr(stats, "stored", lambda key: reads.append(key) or real(key))
    for _ in range(3):
        assert client.get("/api/v1/guidance?issue=quality").status_code == 200
    assert reads == (["guidance"] if cache else ["guidance"] * 3)
    stats.refresh("guidance")  # a new moment: read again
    assert client.get("/api/v1/guidance?issue=quality").status_code == 200
    assert len(reads) == (2 if cache else 4)
