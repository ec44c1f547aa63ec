"""Outcome guidance for anyone: how closed cases like a given one ended."""

from odr import viewcache
from odr.api import bp, schemas
from odr.api.core import query
from odr.api.spec import endpoint
from odr.disputes import guidance


@endpoint(
    bp,
    "GET",
    "/guidance",
    summary="How similar closed cases ended (anyone)",
    tags=("public",),
    query=schemas.GuidanceQuery,
    responses={200: schemas.GuidanceOut},
    auth=False,
)
def outcome_guidance():
    """For an enterprise, an issue and an amount in dispute: how many similar closed cases
    there are, the shares settled directly, mediated and terminated, the median agreed
    amount as a share of the claim and the median working days from filing to closing.
    The finest group with at least 10 closed cases answers (enterprise + issue + amount
    band, then enterprise + issue, issue + band, issue), named by `basis`; with fewer
    everywhere the figures are null. No personal data. Computed with the statistics
    snapshots, so the figures may be a few minutes old."""
    args = query(schemas.GuidanceQuery)
    return (
        guidance.for_filing(
            enterprise_id=args.enterprise_id,
            issue=str(args.issue),
            amount=args.amount,
            figures=viewcache.snapshot("guidance"),
        ),
        200,
    )
