"""All models of the domain, importable from one place."""

from odr.auth.models import ApiToken, OneTimeLink, User, UserRole  # noqa: F401
from odr.disputes.models.calendar import CalendarOverride  # noqa: F401
from odr.disputes.models.complaint import (  # noqa: F401
    Agreement,
    CaseEvent,
    Complaint,
    Draft,
    Evidence,
    MediationSession,
    Message,
    Offer,
    Record,
    Signature,
)
from odr.disputes.models.integrity import AuditSeal, IdempotentRequest  # noqa: F401
from odr.disputes.models.joint import (  # noqa: F401
    JointComplaint,
    JointMember,
    JointState,
)
from odr.disputes.models.notify import (  # noqa: F401
    DeliveryAttempt,
    Notification,
    Outbox,
    WebhookEndpoint,
)
from odr.disputes.models.organisation import (  # noqa: F401
    BodyKind,
    BodyMembership,
    Enterprise,
    EnterpriseEvent,
    EnterpriseStatus,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.disputes.models.public import (  # noqa: F401
    ConsumerWarning,
    RequestKind,
    ServiceRequest,
    StatsSnapshot,
)
