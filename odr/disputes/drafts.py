"""Complaint drafts: the filing wizard keeps what the consumer typed in a Draft row so they
can leave and come back; a draft untouched for 30 days is deleted with its files."""

import logging
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from odr.auth.models import User
from odr.disputes.evidence import evidence_path
from odr.disputes.models import Draft, Evidence
from odr.disputes.states import NotFound
from odr.extensions import db
from odr.types import utcnow

log = logging.getLogger(__name__)

DRAFT_DAYS = 30

STEPS = ("respondent", "purchase", "claim", "facts", "evidence", "review")

# Which wizard step asks for which field of the complaint.
STEP_FIELDS = {
    "respondent": (
        "enterprise_id",
        "respondent_name",
        "respondent_credit_code",
        "respondent_region_code",
        "green_channel",
        "platform_name",
        "platform_region_code",
        "seller_address_usable",
    ),
    "purchase": (
        "subject_kind",
        "subject",
        "purchase_date",
        "purchase_place",
        "purchase_url",
        "amount",
    ),
    "claim": ("issue", "requests", "claimed_amount"),
    "facts": ("facts", "complainant_name", "complainant_phone", "complainant_address"),
}


def step_of_field(field: str) -> str:
    for step, fields in STEP_FIELDS.items():
        if field in fields:
            return step
    return "review"


def step_index(step: str) -> int:
    return STEPS.index(step) if step in STEPS else 0


def load_draft(consumer: User, draft_id: int) -> Draft:
    """The consumer's own draft; another's does not exist for them."""
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.consumer_id != consumer.id:
        raise NotFound(_l("No such draft."))
    return draft


def new_draft(consumer: User, now: datetime | None = None) -> Draft:
    draft = Draft(consumer_id=consumer.id, data={}, step=STEPS[0], updated_at=now or utcnow())
    db.session.add(draft)
    db.session.flush()
    return draft


def save_step(draft: Draft, step: str, values: dict, *, advance: bool = True, now=None) -> None:
    """Keep the values typed in one step; move the draft on to the next step."""
    data = dict(draft.data or {})
    data.update(values)
    draft.data = data
    if advance and step in STEPS:
        following = STEPS[min(step_index(step) + 1, len(STEPS) - 1)]
        if step_index(following) > step_index(draft.step):
            draft.step = following
    draft.updated_at = now or utcnow()


def draft_evidence(draft: Draft) -> list[Evidence]:
    return list(
        db.session.scalars(
            db.select(Evidence).where(Evidence.draft_id == draft.id).order_by(Evidence.id)
        )
    )


def _delete_evidence(item: Evidence) -> None:
    path = evidence_path(item)
    db.session.delete(item)
    try:
        path.unlink(missing_ok=True)
    except OSError:  # the row is gone; a stray file harms nobody
        log.warning("could not remove evidence file %s", path)


def remove_draft_evidence(draft: Draft, evidence_id: int) -> None:
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.draft_id != draft.id:
        raise NotFound(_l("No such file."))
    _delete_evidence(item)
    draft.updated_at = utcnow()
    db.session.flush()


def delete_draft(draft: Draft) -> None:
    for item in draft_evidence(draft):
        _delete_evidence(item)
    db.session.delete(draft)
    db.session.flush()


def purge_old_drafts(now: datetime | None = None) -> int:
    """Delete every draft not touched for DRAFT_DAYS days, with its uploaded files; answer
    how many. Flushes, never commits (the sweep commits).

    The retention is counted on the real clock: `now` (the sweep's --as-of, which may be
    set in the future to run the deadlines ahead) can only bring the cut-off earlier, never
    later, so no run of the sweep deletes a draft the consumer touched within DRAFT_DAYS."""
    real_now = utcnow()
    moment = min(now, real_now) if now is not None else real_now
    cutoff = moment - timedelta(days=DRAFT_DAYS)
    old = db.session.scalars(db.select(Draft).where(Draft.updated_at < cutoff)).all()
    for draft in old:
        delete_draft(draft)
    return len(old)
