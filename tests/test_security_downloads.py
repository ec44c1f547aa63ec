"""One download helper (odr/downloads.py): evidence and records leave every channel as an
attachment under a cleaned name, with their own type, nosniff and a private no-store cache."""

import io

from odr.disputes import operations as ops
from odr.disputes import records
from tests.access_runner import stand_in_records  # noqa: F401 - fixture
from tests.access_world import PNG
from tests.factories import PASSWORD, file_case


def login(client, email):
    assert (
        client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 302
    )


def _same_headers(response, mimetype: str, where: str) -> None:
    assert response.status_code == 200, where
    assert response.mimetype == mimetype, where
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;"), where
    assert "<" not in disposition and '"/' not in disposition, where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Cache-Control"] == "private, no-store", where
    response.close()  # the file sent


def test_every_channel_sends_files_with_the_same_headers(
    world,
    db,
    client,
    api,
    stand_in_records,  # noqa: F811
):
    case = file_case(world.consumer, world.enterprise)
    item = ops.add_evidence(world.consumer, case, io.BytesIO(PNG), '<b>"收据".png')
    ops.escalate(world.consumer, case)
    ops.accept_case(world.mediator, case)
    record = records.issue_case_file(world.mediator, case)
    db.session.commit()
    pages = {
        "consumer@test.example": "/consumer/cases/{c}/{what}",
        "agent@test.example": "/merchant/cases/{c}/{what}",
        "mediator@test.example": "/mediation/cases/{c}/{what}",
    }
    for email, pattern in pages.items():
        login(client, email)
        evidence = client.get(pattern.format(c=case.id, what=f"evidence/{item.id}"))
        _same_headers(evidence, "image/png", f"{email} evidence")
        pdf = client.get(pattern.format(c=case.id, what=f"records/{record.code}.pdf"))
        _same_headers(pdf, "application/pdf", f"{email} record")
        assert pdf.headers["X-Record-SHA256"] == record.sha256
        client.post("/auth/logout")
    for user in (world.consumer, world.agent, world.mediator):
        pdf = api.get(user, f"/records/{record.code}.pdf")
        _same_headers(pdf, "application/pdf", f"API {user.email}")
        assert pdf.headers["X-Record-SHA256"] == record.sha256
