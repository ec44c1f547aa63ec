"""Plain-dict views of domain objects, shared by the API, webhooks and records."""

from odr.disputes.models import CaseEvent, Complaint


def iso(moment):
    return moment.isoformat() if moment is not None else None


def money_str(value):
    return f"{value:.2f}" if value is not None else None


def complaint_summary(complaint: Complaint) -> dict:
    return {
        "id": complaint.id,
        "reference": complaint.reference,
        "state": str(complaint.state),
        "deadline_at": iso(complaint.deadline_at),
    }


def event_dict(event: CaseEvent) -> dict:
    return {
        "at": iso(event.at),
        "actor": event.actor_role,
        "actor_id": event.actor_id,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "details": event.details or {},
    }
