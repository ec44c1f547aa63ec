"""The shapes of the API: pydantic models for what comes in (validated) and what goes out
(documented, and checked against the answers in tests). The OpenAPI document is built from
these models (odr/api/spec.py)."""

import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from odr.auth.models import TokenScope, UserRole
from odr.disputes.choices import (
    AgreementStatus,
    Channel,
    Issue,
    OfferStatus,
    PerformanceStatus,
    RecordKind,
    Remedy,
    Request,
    SubjectKind,
)
from odr.disputes.models import EnterpriseStatus, JointState
from odr.disputes.states import RefusalReason, State, TerminationReason

MAX_ID = 2_147_483_647
MAX_MONEY = Decimal("999999999999.99")
_MONEY_TEXT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- input types -------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    """Refuse what no database column can hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise PydanticCustomError("text_chars", "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("text_chars", "not valid Unicode text") from None
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_clean_text),
    ]


def _money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("money", "not an amount")
    if isinstance(value, str):
        text = value.strip()
        if not _MONEY_TEXT.match(text):
            raise PydanticCustomError("money", "not an amount")
        return text
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("money", "not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PydanticCustomError("money", "not an amount") from None
    if amount < 0 or amount > MAX_MONEY:
        raise PydanticCustomError("money", "not an amount")
    return f"{amount.quantize(Decimal('0.01'))}"


Money = Annotated[
    str,
    PlainValidator(_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _MONEY_TEXT.pattern},
                {"type": "number", "minimum": 0, "maximum": float(MAX_MONEY)},
            ],
            "description": 'An amount in CNY: a decimal string ("1299.00") or a number.',
        }
    ),
]


def _date_text(value: Any) -> str:
    if not isinstance(value, str) or not _DATE_TEXT.match(value):
        raise PydanticCustomError("date_text", "not a date")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_text", "not a date") from None
    return value


DateText = Annotated[
    str, PlainValidator(_date_text), WithJsonSchema({"type": "string", "format": "date"})
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class In(BaseModel):
    """A request body: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")


# -- requests ----------------------------------------------------------------------------


class TokenRequest(In):
    email: Text(254, 1)
    password: Text(200, 1)


class ConsumerIn(In):
    email: Text(254, 1)
    password: Text(200, 1)
    name: Text(100, 1)
    phone: Text(32) | None = None
    region_code: Text(12) | None = None
    address: Text(300) | None = None
    locale: Literal["zh_CN", "en"] = "zh_CN"
    sms_notices: bool = Field(False, description="Notices by SMS to the phone as well.")


class OwnerIn(In):
    email: Text(254, 1)
    password: Text(200, 1)
    name: Text(100, 1)


class EnterpriseIn(In):
    name: Text(200, 1)
    name_en: Text(200) | None = Field(
        None, description="The enterprise's name in English (optional; searched too)."
    )
    credit_code: Text(18, 1)
    region_code: Text(12, 1)
    address: Text(300, 1)
    contact_phone: Text(32, 1)
    owner: OwnerIn
    commitment: bool = Field(
        True, description="The written commitment to handle complaints promptly."
    )
    locale: Literal["zh_CN", "en"] = "zh_CN"


class DecisionIn(In):
    reason: Text(2000) | None = None


class ComplaintFields(In):
    enterprise_id: Id | None = Field(
        None, description="The listed enterprise; omit it and name the respondent otherwise."
    )
    green_channel: bool = True
    issue: Issue
    subject_kind: SubjectKind = SubjectKind.GOODS
    subject: Text(200, 1)
    purchase_date: DateText
    purchase_place: Text(300) | None = None
    purchase_url: Text(500) | None = None
    amount: Money
    requests: list[Request] = Field(min_length=1, max_length=len(Request))
    claimed_amount: Money
    facts: Text(10_000, 1)
    respondent_name: Text(200) | None = None
    respondent_region_code: Text(12) | None = None
    respondent_credit_code: Text(18) | None = None
    identity_declared: bool = Field(
        True,
        description="The complainant declares that the identity given (name, phone, address) "
        "is their own and true; omitted, the account holder's registered identity is "
        "declared. `false` is refused for complaints received from 2026-04-15 (Order 121): "
        "a false identity, another person's name or a refusal to have the identity verified "
        "is a ground to refuse the complaint.",
    )
    platform_id: Id | None = Field(
        None, description="The platform the seller trades on, when it is a listed enterprise."
    )
    platform_name: Text(200) | None = Field(
        None, description="The platform's name, when it is not listed (with its domicile)."
    )
    platform_region_code: Text(12) | None = Field(
        None, description="The region of the platform operator's domicile (GB/T 2260)."
    )
    seller_address_usable: bool = Field(
        True,
        description="False when the seller publishes no address on the platform or cannot be "
        "reached at it: the office of the platform's domicile then handles the complaint.",
    )


class ComplaintIn(ComplaintFields):
    complainant_name: Text(100) | None = Field(None, description="Default: the profile.")
    complainant_phone: Text(32) | None = Field(None, description="Default: the profile.")
    complainant_address: Text(300) | None = Field(None, description="Default: the profile.")


class CallerIn(In):
    name: Text(100, 1)
    phone: Text(32) | None = Field(
        None, description="Mobile number: the link and the notices go there by SMS."
    )
    address: Text(300) | None = Field(None, description="Required for a complaint.")
    email: Text(254) | None = Field(None, description="Optional: the link goes there too.")
    locale: Literal["zh_CN", "en"] = Field("zh_CN", description="The caller's language.")


IntakeChannel = Literal["phone", "walk_in", "letter"]


class IntakeComplaintIn(ComplaintFields):
    caller: CallerIn
    channel: IntakeChannel
    note: Text(10_000) | None = Field(None, description="The notes of the call or visit.")


class ConsultationIn(In):
    caller: CallerIn
    question: Text(10_000, 1)
    answer: Text(10_000, 1)
    topic: Issue
    channel: IntakeChannel = "phone"
    enterprise_id: Id | None = Field(None, description="The enterprise asked about, if any.")


class IntakeTransferIn(In):
    body_id: Id = Field(description="The office whose hotline seats take the record over.")
    note: Text(10_000) | None = None


class MessageIn(In):
    body: Text(10_000, 1)
    internal: bool = Field(False, description="A mediator's private note.")


class OfferIn(In):
    remedy: Remedy
    amount: Money
    terms: Text(10_000, 1)
    performance_due: DateText | None = None
    expires_on: DateText | None = Field(
        None, description="The last day the offer may be accepted (none: until answered)."
    )


class RejectIn(In):
    counter_proposal: Text(10_000) | None = Field(None, description="A note to the enterprise.")
    counter_remedy: Remedy | None = Field(
        None, description="The counter-offer's remedy (with counter_amount)."
    )
    counter_amount: Money | None = None


class ChangesIn(In):
    reasons: Text(4000, 1) = Field(description="What should change in the proposal, and why.")


class ReasonIn(In):
    reason: Text(10_000) | None = None


class RefuseIn(In):
    reason: RefusalReason
    explanation: Text(10_000) | None = None


class TransferIn(In):
    body_id: Id
    reason: Text(10_000) | None = None


class AgreementIn(In):
    terms: Text(10_000, 1)
    amount: Money
    performance_due: DateText | None = None


class TerminateIn(In):
    reason: TerminationReason
    explanation: Text(10_000) | None = None


class SuspendIn(In):
    reason: Text(1000, 1)


class AssignIn(In):
    mediator_id: Id


class PerformanceIn(In):
    status: Literal["confirmed", "breached", "performed", "breach"] = Field(
        description='"performed" and "breach" are accepted as "confirmed" and "breached".'
    )
    note: Text(10_000) | None = None


class RatingIn(In):
    rating: int = Field(ge=1, le=5)
    comment: Text(2000) | None = None


class WebhookIn(In):
    url: Text(500, 1) = Field(description="An http:// or https:// address.")
    secret: Text(100, 16) | None = Field(
        None, description="The HMAC-SHA256 key; a random one is made when omitted."
    )


class TokenCreateIn(In):
    name: Text(100, 1)
    scopes: list[TokenScope] | None = Field(
        None,
        max_length=4,
        description=(
            "What the token may do; default cases:read and cases:act. At most the "
            "creating token's own scopes."
        ),
    )


class JointIn(In):
    enterprise_id: Id = Field(description="An approved ODR enterprise.")
    issue: Issue
    subject_kind: SubjectKind = SubjectKind.SERVICE
    subject: Text(200, 1)
    facts: Text(10_000, 1) = Field(description="The story the members share.")
    green_channel: bool = True
    # The creator's own claim, optional here (else given with POST .../members).
    purchase_date: DateText | None = None
    purchase_place: Text(300) | None = None
    amount: Money | None = None
    claimed_amount: Money | None = None
    requests: list[Request] | None = Field(None, max_length=len(Request))
    complainant_address: Text(300) | None = None


class MemberIn(In):
    purchase_date: DateText
    purchase_place: Text(300) | None = None
    amount: Money
    claimed_amount: Money
    requests: list[Request] = Field(min_length=1, max_length=len(Request))
    complainant_address: Text(300) | None = Field(None, description="Default: the profile.")
    complainant_name: Text(100) | None = Field(None, description="Default: the profile.")
    complainant_phone: Text(32) | None = Field(None, description="Default: the profile.")
    facts: Text(10_000, 1) = Field(description="The member's own story.")


class RepresentativesIn(In):
    member_ids: list[Id] = Field(min_length=1, max_length=50)


class MemberAmount(In):
    complaint_id: Id
    amount: Money


def _percent_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("money", "not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("money", "not a number") from None
    if not number.is_finite() or number <= 0 or number > 100:
        raise PydanticCustomError("share", "not a share")
    return str(number)


Percent = Annotated[
    str,
    PlainValidator(_percent_text),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": "A share of each member's claimed amount, above 0 and at most 100.",
        }
    ),
]


class JointOfferIn(In):
    remedy: Remedy
    terms: Text(10_000, 1)
    performance_due: DateText | None = None
    share_percent: Percent | None = None
    amounts: list[MemberAmount] | None = Field(None, min_length=1, max_length=100_000)


class JointAgreementIn(In):
    terms: Text(10_000, 1)
    performance_due: DateText | None = None
    amounts: list[MemberAmount] = Field(min_length=1, max_length=100_000)


# -- query strings -----------------------------------------------------------------------


class PageQuery(In):
    cursor: Text(200) | None = Field(None, description="next_cursor of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="1 to 200 (more is refused with 422).")


class CaseListQuery(PageQuery):
    state: State | None = None
    your_turn: bool = Field(
        False, description="Only the cases waiting on the caller (see `your_turn`)."
    )


class JointListQuery(PageQuery):
    enterprise_id: Id | None = None


class EnterpriseQuery(PageQuery):
    q: Text(200) | None = Field(None, description="Part of the name, or the full credit code.")


class VerifyQuery(In):
    sha256: Text(128) | None = Field(None, description="The SHA-256 of the PDF held.")


# -- responses ---------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


MoneyText = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["1299.00"])]


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, str] | None = None


class Error(Out):
    error: ErrorDetail


class VerifyNotFound(Out):
    valid: Literal[False]
    error: ErrorDetail


class Ref(Out):
    id: int
    name: str


class UserOut(Out):
    id: int
    email: str
    name: str
    phone: str | None
    region_code: str | None
    role: UserRole


class TokenOut(Out):
    id: int
    token: str
    expires_at: datetime | None
    role: UserRole


class EnterprisePublic(Out):
    id: int
    name: str
    name_en: str | None
    credit_code: str
    region_code: str
    status: EnterpriseStatus


class EnterpriseOut(EnterprisePublic):
    address: str
    contact_phone: str
    created_at: datetime
    approved_at: datetime | None


class EnterprisePage(Out):
    items: list[EnterprisePublic]
    next_cursor: str | None


class CaseSummary(Out):
    id: int
    reference: str
    state: State
    deadline_at: datetime | None


class CaseOut(CaseSummary):
    filed_at: datetime
    closed_at: datetime | None
    enterprise: Ref | None
    respondent_name: str
    body: Ref | None
    mediator_id: int | None
    green_channel: bool
    subject_kind: SubjectKind
    subject: str
    purchase_date: date
    purchase_place: str | None
    purchase_url: str | None
    amount: MoneyText
    issue: Issue
    requests: list[Request]
    claimed_amount: MoneyText
    facts: str
    refusal_reason: RefusalReason | None
    termination_reason: TerminationReason | None
    settled_amount: MoneyText | None
    performance_status: PerformanceStatus | None
    performance_due: date | None
    rating: int | None
    complainant_name: str
    channel: Channel = Field(
        description="How the complaint came in (online unless taken by staff)."
    )
    taken_by: int | None = Field(
        description="The hotline seat or station staff who took it (user id), if any."
    )
    complainant_phone: str | None = Field(
        None, description="Only for the consumer, the respondent's staff and the mediator."
    )
    complainant_address: str | None = Field(
        None, description="Only for the consumer, the respondent's staff and the mediator."
    )


class EventOut(Out):
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    from_state: str | None
    to_state: str
    details: dict[str, Any]


class WarningOut(Out):
    code: str
    message: str


class OfferOut(Out):
    id: int
    remedy: Remedy
    amount: MoneyText
    terms: str
    performance_due: date | None
    status: OfferStatus = Field(description='"expired": open, but past `expires_on`.')
    expires_on: date | None
    counter_proposal: str | None
    counter_remedy: Remedy | None
    counter_amount: MoneyText | None
    created_at: datetime
    answered_at: datetime | None
    warnings: list[WarningOut] = Field(
        description="What the enterprise may not have meant: `zero_amount` for a ¥0 refund "
        "or compensation (made all the same; the consumer is shown it too)."
    )


class MessageOut(Out):
    id: int
    author_role: str
    author_name: str
    body: str
    internal: bool
    created_at: datetime


class MessagePage(Out):
    items: list[MessageOut]
    next_cursor: str | None


class EvidenceOut(Out):
    id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime


class SignatureOut(Out):
    party: str
    signed_at: datetime


class AgreementOut(Out):
    id: int
    terms: str
    amount: MoneyText
    performance_due: date | None
    status: AgreementStatus
    created_at: datetime
    signatures: list[SignatureOut]


class AgreementCreated(AgreementOut):
    complaint: CaseSummary


class SessionOut(Out):
    id: int
    starts_at: datetime
    ends_at: datetime
    mode: Literal["online", "in_person", "phone"]
    place: str | None = Field(description="The address of an in-person session.")
    link: str | None = Field(description="The link of an online session.")
    note: str | None


class TurnOut(Out):
    step: Literal[
        "answer_complaint",
        "answer_rejection",
        "answer_offer",
        "decide_acceptance",
        "mediate",
        "resume",
        "sign_agreement",
        "perform",
        "confirm_performance",
    ]
    label: str
    due: str | None = Field(description="The deadline (date-time) or the day (date), if any.")


class CaseDetail(CaseOut):
    events: list[EventOut] = Field(description="The timeline, oldest first.")
    offers: list[OfferOut]
    messages: list[MessageOut]
    evidence: list[EvidenceOut]
    agreement: AgreementOut | None
    sessions: list[SessionOut] | None = Field(
        None, description="Mediation sessions, earliest first (parties and mediator only)."
    )
    your_turn: TurnOut | None = Field(
        None, description="What the case waits for from the caller, and by when; null if nothing."
    )


class NotificationOut(Out):
    id: int
    at: datetime
    kind: str
    complaint_id: int | None
    text: str = Field(description="In the caller's language.")
    read: bool


class NotificationPage(Out):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationQuery(PageQuery):
    unread: bool = Field(False, description="1: only the unread ones.")


class ReadAllOut(Out):
    marked: int


class CaseListItem(CaseOut):
    your_turn: TurnOut | None = Field(
        None, description="What the case waits for from the caller, and by when; null if nothing."
    )


class CasePage(Out):
    items: list[CaseListItem]
    next_cursor: str | None


class CallerOut(Out):
    name: str
    phone: str | None
    address: str | None


class IntakeTransferOut(Out):
    from_body: Ref
    to_body: Ref
    by: int
    note: str | None
    at: datetime


class ConsultationOut(Out):
    id: int
    caller: CallerOut
    channel: Channel
    topic: Issue
    enterprise: Ref | None
    question: str
    answer: str
    taken_by: int
    office: Ref = Field(description="The office whose seats hold the record now.")
    station: Ref | None
    created_at: datetime
    transfers: list[IntakeTransferOut]


class ConsultationPage(Out):
    items: list[ConsultationOut]
    next_cursor: str | None


class WorkloadOut(Out):
    filed: int = Field(description="Complaints the caller took.")
    filed_open: int = Field(description="Of those, still open.")
    awaiting_claim: int = Field(description="Of those, not yet taken over online by the caller.")
    held_open: int = Field(description="Open complaints their office (or station) holds.")
    consultations: int = Field(description="Consultations they logged.")
    consultations_today: int


class GuidanceQuery(In):
    enterprise_id: Id | None = None
    issue: Issue
    amount: Money | None = Field(None, description="The amount in dispute (CNY).")


class GuidanceOut(Out):
    similar_cases: int = Field(description="Closed cases in the group used (see basis).")
    settled_directly: float | None = Field(description="Share settled with the enterprise.")
    mediated: float | None = Field(description="Share closed with a mediation agreement.")
    terminated: float | None = Field(description="Share whose mediation was terminated.")
    median_refund_share: float | None = Field(
        description="Median of the agreed amount over the amount claimed, in agreed cases."
    )
    median_working_days: float | None = Field(
        description="Median working days from filing to closing."
    )
    basis: Literal["enterprise_issue_band", "enterprise_issue", "issue_band", "issue"] | None = (
        Field(
            description="The grouping used: the finest with at least 10 closed cases; null "
            "(and every figure null) when even the issue alone has fewer."
        )
    )


class RecordOut(Out):
    code: str
    kind: RecordKind
    issued_at: datetime
    sha256: str
    url: str


class RecordList(Out):
    items: list[RecordOut]


class VerifyOut(Out):
    valid: bool
    kind: RecordKind
    reference: str
    issued_at: datetime
    sha256: str


class ScoreRow(Out):
    enterprise_id: int
    name: str
    credit_code: str
    status: Literal["approved", "exited"] = Field(
        description='"exited": left the ODR programme; its record stays public.'
    )
    cases: int
    settled: int
    settlement_rate: float | None
    on_time_rate: float | None
    average_days: float | None
    breaches: int = Field(description="Agreements the consumer reported were not carried out.")
    satisfaction: float | None = Field(description="Average rating, 1 to 5, of rated cases.")


class Scoreboard(Out):
    items: list[ScoreRow]


class WebhookOut(Out):
    id: int
    url: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once.")


class WebhookList(Out):
    items: list[WebhookOut]


class IntegrationTokenOut(Out):
    id: int
    name: str | None
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: list[TokenScope]
    parent_id: int | None = Field(description="The token that created this one, if any.")


class IntegrationTokenCreated(IntegrationTokenOut):
    token: str = Field(description="Shown once; only its hash is kept.")


class IntegrationTokenList(Out):
    items: list[IntegrationTokenOut]


class JointMemberOut(Out):
    id: int
    complaint_id: int | None
    reference: str | None
    state: State | None
    representative: bool
    active: bool
    you: bool
    name: str = Field(description="Masked for fellow members.")
    joined_at: datetime
    left_at: datetime | None
    claimed_amount: MoneyText | None = Field(
        None, description="For the member, the enterprise's staff, the mediator, the regulator."
    )
    settled_amount: MoneyText | None
    termination_reason: TerminationReason | None


class JointSummary(Out):
    id: int
    reference: str
    enterprise: Ref
    issue: Issue
    subject: str
    state: JointState
    member_count: int
    created_at: datetime


class JointPage(Out):
    items: list[JointSummary]
    next_cursor: str | None


class JointOut(JointSummary):
    subject_kind: SubjectKind
    facts: str
    green_channel: bool
    submitted_at: datetime | None
    deadline_at: datetime | None
    mediator_id: int | None
    members: list[JointMemberOut] = Field(
        description="Empty for a consumer who is not a member (the group as listed)."
    )


class MemberCreated(Out):
    id: int = Field(description="The membership's id (for electing representatives).")
    joint_complaint_id: int
    complaint_id: int
    reference: str
    state: State
    deadline_at: datetime | None
    representative: bool


class JointOfferItem(Out):
    complaint_id: int
    offer_id: int
    amount: MoneyText


class JointOffersOut(Out):
    joint_complaint_id: int
    offers: list[JointOfferItem]


class JointAgreementItem(Out):
    complaint_id: int
    agreement_id: int
    amount: MoneyText


class JointAgreementsOut(Out):
    joint_complaint_id: int
    agreements: list[JointAgreementItem]
