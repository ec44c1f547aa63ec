"""The regulator's console: every page answers for the regulator, in both languages, and
for nobody else; the dashboard and the scoreboard show exactly the seeded numbers."""

import csv
import io
import re

import pytest

from tests.factories import PASSWORD
from tests.test_stats_numbers import EXPECTED, seed_known_outcomes

CONSOLE_PAGES = [
    "/admin/",
    "/admin/?region=410000",
    "/admin/?region=410100",
    "/admin/performance",
    "/admin/performance?status=approved",
    "/admin/bodies",
    "/admin/calendar",
    "/admin/calendar?year=2026&day=2026-10-10",
    "/admin/calendar?year=2027",
    "/admin/warnings",
    "/admin/warnings/new",
    "/admin/requests",
    "/admin/requests?kind=report&state=closed",
    "/admin/alerts",
    "/admin/alerts?kind=enterprise",
]


def login(client, user):
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return client


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_console_page_answers_for_the_regulator(world, client, lang):
    login(client, world.admin)
    client.get(f"/lang/{lang}")
    for path in [*CONSOLE_PAGES, f"/admin/bodies/{world.jinshui.id}"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html, path


@pytest.mark.parametrize("who", ["consumer", "owner", "mediator"])
def test_the_console_is_closed_to_everybody_else(world, client, who):
    login(client, getattr(world, who))
    for path in CONSOLE_PAGES:
        assert client.get(path).status_code == 403, path


def test_the_console_sends_strangers_to_sign_in(world, client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_unknown_region_or_status_is_404(world, client):
    login(client, world.admin)
    assert client.get("/admin/?region=999999").status_code == 404
    assert client.get("/admin/performance?status=nope").status_code == 404
    assert client.get("/admin/analytics/nope.csv").status_code == 404


def cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}" data-value="([^"]*)"', html)
    assert match, element_id
    return match.group(1)


def row_value(html: str, row_id: str, field: str) -> str:
    row = re.search(rf'<tr id="{row_id}".*?</tr>', html, re.S)
    assert row, row_id
    match = re.search(rf'data-field="{field}"(?: data-value="([^"]*)")?>([^<]*)', row.group(0))
    assert match, field
    return match.group(1) if match.group(1) is not None else match.group(2)


def test_dashboard_shows_exactly_the_seeded_numbers(world, client):
    seed_known_outcomes(world)
    login(client, world.admin)
    html = client.get("/admin/?lang=en").get_data(as_text=True)
    assert cell(html, "kpi-total") == "7"
    assert cell(html, "kpi-settlement-rate") == str(EXPECTED["settlement_rate"])
    assert cell(html, "kpi-average-days-agreed") == "7.5"
    # The answer clock: 4 of 5 on time.
    answer = re.search(r'<tr id="clock-answer">.*?</tr>', html, re.S).group(0)
    assert re.findall(r">(\d+)</td>", answer)[:2] == ["4", "5"]
    assert 'data-value="0.8"' in answer and "80.0%" in answer
    assert "66.7%" in html
    # The enterprise performance page.
    page = client.get("/admin/performance").get_data(as_text=True)
    row_id = f"enterprise-{world.enterprise.id}"
    assert row_value(page, row_id, "cases") == "7"
    assert row_value(page, row_id, "settled") == "4"
    assert row_value(page, row_id, "settlement_rate") == str(EXPECTED["settlement_rate"])
    assert row_value(page, row_id, "on_time_rate") == "0.8"
    assert row_value(page, row_id, "average_days") == "7.5"
    assert row_value(page, row_id, "satisfaction") == "4.5"


def test_scoreboard_shows_exactly_the_seeded_numbers_and_no_personal_data(world, client):
    seed_known_outcomes(world)
    html = client.get("/enterprises").get_data(as_text=True)
    row_id = f"enterprise-{world.enterprise.id}"
    assert row_value(html, row_id, "cases") == "7"
    assert row_value(html, row_id, "settled") == "4"
    assert row_value(html, row_id, "settlement_rate") == str(EXPECTED["settlement_rate"])
    assert row_value(html, row_id, "on_time_rate") == "0.8"
    assert row_value(html, row_id, "average_days") == "7.5"
    assert "66.7%" in html and "80.0%" in html and "7.5" in html
    for personal in (
        world.consumer.name,
        world.consumer.email,
        "13800000000",
        "郑州市金水区测试路",
    ):
        assert personal not in html
    # Only approved ODR enterprises are listed.
    assert world.pending_enterprise.name not in html


def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_every_chart_downloads_as_csv(world, client):
    seed_known_outcomes(world)
    login(client, world.admin)
    from odr.admin.dashboard import CSV_NAMES

    for name in CSV_NAMES:
        rows = read_csv(client.get(f"/admin/analytics/{name}.csv"))
        assert rows and rows[0], name
    states = {r[0]: r[2] for r in read_csv(client.get("/admin/analytics/states.csv"))[1:]}
    assert states["settled"] == "3" and states["mediated"] == "1" and states["negotiating"] == "1"
    regions = read_csv(client.get("/admin/analytics/regions.csv?region=410100"))
    assert ["410105", "金水区", "7"] in regions
    perf = read_csv(client.get("/admin/analytics/performance.csv"))
    header, rows = perf[0], perf[1:]
    mine = dict(zip(header, next(r for r in rows if r[0] == str(world.enterprise.id)), strict=True))
    assert mine["settlement_rate"] == "0.6667" and mine["on_time_rate"] == "0.8000"
    assert mine["average_days"] == "7.5"


def test_charts_carry_their_data_for_chart_js(world, client):
    seed_known_outcomes(world)
    login(client, world.admin)
    html = client.get("/admin/?lang=en").get_data(as_text=True)
    for chart in ("states", "categories", "regions", "enterprises", "weekly"):
        assert f'id="{chart}-chart"' in html
        assert f'id="{chart}-table"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/admin.js" in html
    # The regional chart drills down: province -> city -> county.
    assert "/admin/?region=410000" in html
    city = client.get("/admin/?region=410000&lang=en").get_data(as_text=True)
    assert "/admin/?region=410100" in city
    county = client.get("/admin/?region=410100&lang=en").get_data(as_text=True)
    assert "Jinshui" in county


def test_scoreboard_search_and_pages(world, client):
    html = client.get("/enterprises?q=洛阳").get_data(as_text=True)
    assert world.other_enterprise.name in html and world.enterprise.name not in html
    html = client.get(f"/enterprises?q={world.enterprise.credit_code.lower()}").get_data(
        as_text=True
    )
    assert world.enterprise.name in html and world.other_enterprise.name not in html
    assert client.get("/enterprises?page=2").status_code == 404
    login(client, world.admin)
    assert client.get("/admin/performance?page=2").status_code == 404


def test_dashboard_shows_the_first_alerts_and_links_to_all(world, client, monkeypatch):
    """A long list of early warnings stays off the dashboard (the first few of each kind)
    and is a page of its own, by kind, with the same CSV."""
    from odr.disputes import stats

    def with_alerts(now=None):
        return [
            {"kind": "category", "key": "quality", "name": None, "current": 40, "baseline": 5.0}
        ] + [
            {
                "kind": "enterprise",
                "key": str(world.enterprise.id),
                "name": f"企业{i}",
                "current": 100 - i,
                "baseline": 1.5,
            }
            for i in range(25)
        ]

    monkeypatch.setattr(stats, "early_warnings", with_alerts)
    login(client, world.admin)
    html = client.get("/admin/?lang=en").get_data(as_text=True)
    assert html.count('data-alert-kind="enterprise"') == 10
    assert html.count('data-alert-kind="category"') == 1
    assert "All 26 early warnings" in html and 'href="/admin/alerts"' in html
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert page.count('data-alert-kind="enterprise"') == 25 and "企业24" in page
    only = client.get("/admin/alerts?kind=category").get_data(as_text=True)
    assert only.count("data-alert-kind=") == 1
    assert client.get("/admin/alerts?kind=nope").status_code == 404
    assert client.get("/admin/alerts?page=2").status_code == 404


def test_dashboard_lists_the_first_late_enterprises_and_links_to_all(world, client, monkeypatch):
    from odr.admin import dashboard
    from odr.disputes import stats

    late = [
        {"enterprise_id": world.enterprise.id, "name": f"迟复企业{i}", "on_time_rate": 0.5}
        | {"on_time": 5, "on_time_counted": 10}
        for i in range(dashboard.ONTIME_SHOWN + 3)
    ]
    monkeypatch.setattr(stats, "ontime_warnings", lambda: late)
    login(client, world.admin)
    html = client.get("/admin/?lang=en").get_data(as_text=True)
    assert html.count('ontime-alert"') == dashboard.ONTIME_SHOWN
    assert f"All {len(late)} enterprises answering late" in html
    assert "/admin/performance?status=approved" in html
