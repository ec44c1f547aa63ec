"""The sweep and drafts: a sweep run ahead of time (`--as-of` in the future, as operators do
to run deadlines early) must not delete a draft the consumer started today, nor its files.
Only drafts untouched for DRAFT_DAYS by the real clock go."""

import io
from datetime import timedelta

from odr.disputes import drafts
from odr.disputes.evidence import evidence_path, store_evidence
from odr.disputes.models import Draft, Evidence
from odr.types import utcnow
from tests.access_world import PNG


def draft_with_file(consumer, db, *, touched=None):
    draft = drafts.new_draft(consumer)
    item = store_evidence(consumer, io.BytesIO(PNG), "receipt.png", draft=draft)
    if touched is not None:
        db.session.execute(db.update(Draft).where(Draft.id == draft.id).values(updated_at=touched))
    db.session.commit()
    return draft.id, item.id, evidence_path(item)


def test_sweep_as_of_the_future_deletes_a_draft_started_today(app, world, db):
    today = draft_with_file(world.consumer, db)
    old = draft_with_file(world.other_consumer, db, touched=utcnow() - timedelta(days=31))

    result = app.test_cli_runner().invoke(
        args=["odr", "sweep", "--as-of", (utcnow() + timedelta(days=90)).isoformat()]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()

    draft_id, evidence_id, path = today
    assert db.session.get(Draft, draft_id) is not None
    assert db.session.get(Evidence, evidence_id) is not None and path.exists()

    draft_id, evidence_id, path = old
    assert db.session.get(Draft, draft_id) is None
    assert db.session.get(Evidence, evidence_id) is None and not path.exists()
    assert "1 drafts older than 30 days" in result.output


def test_upload_to_an_old_draft_renews_its_retention(app, world, db):
    draft = drafts.new_draft(world.consumer)
    db.session.execute(
        db.update(Draft)
        .where(Draft.id == draft.id)
        .values(updated_at=utcnow() - timedelta(days=drafts.DRAFT_DAYS, hours=1))
    )
    db.session.commit()
    store_evidence(world.consumer, io.BytesIO(PNG), "late.png", draft=draft)
    db.session.commit()
    assert drafts.purge_old_drafts() == 0
    db.session.commit()
    assert db.session.get(Draft, draft.id) is not None
