"""Closed lists a complaint is made of: issue categories, requests, remedies."""

import enum

from flask_babel import lazy_gettext as _l


class _Labelled(enum.StrEnum):
    @property
    def label(self):
        return self._labels()[self]

    @classmethod
    def choices(cls):
        return [(m.value, m.label) for m in cls]


class Issue(_Labelled):
    QUALITY = "quality"
    AFTER_SALES = "after_sales"
    CONTRACT = "contract"
    FOOD_SAFETY = "food_safety"
    FALSE_ADVERTISING = "false_advertising"
    PRICE = "price"
    COUNTERFEIT = "counterfeit"
    PERSONAL_DATA = "personal_data"
    PREPAID_CARD = "prepaid_card"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            Issue.QUALITY: _l("Quality"),
            Issue.AFTER_SALES: _l("After-sales service"),
            Issue.CONTRACT: _l("Contract"),
            Issue.FOOD_SAFETY: _l("Food safety"),
            Issue.FALSE_ADVERTISING: _l("False advertising"),
            Issue.PRICE: _l("Price"),
            Issue.COUNTERFEIT: _l("Counterfeit"),
            Issue.PERSONAL_DATA: _l("Personal data"),
            Issue.PREPAID_CARD: _l("Prepaid card"),
            Issue.OTHER: _l("Other"),
        }


class Request(_Labelled):
    REPAIR = "repair"
    REDO = "redo"
    REPLACE = "replace"
    RETURN = "return"
    MAKE_UP = "make_up"
    REFUND = "refund"
    COMPENSATION = "compensation"

    @staticmethod
    def _labels():
        return {
            Request.REPAIR: _l("Repair"),
            Request.REDO: _l("Redo"),
            Request.REPLACE: _l("Replace"),
            Request.RETURN: _l("Return"),
            Request.MAKE_UP: _l("Make up quantity"),
            Request.REFUND: _l("Refund"),
            Request.COMPENSATION: _l("Compensation"),
        }


class Remedy(_Labelled):
    REFUND = "refund"
    REPLACE = "replace"
    REPAIR = "repair"
    COMPENSATE = "compensate"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            Remedy.REFUND: _l("Refund"),
            Remedy.REPLACE: _l("Replace"),
            Remedy.REPAIR: _l("Repair"),
            Remedy.COMPENSATE: _l("Compensate"),
            Remedy.OTHER: _l("Other"),
        }


class SubjectKind(_Labelled):
    GOODS = "goods"
    SERVICE = "service"

    @staticmethod
    def _labels():
        return {SubjectKind.GOODS: _l("Goods"), SubjectKind.SERVICE: _l("Service")}


class PerformanceStatus(_Labelled):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    BREACHED = "breached"

    @staticmethod
    def _labels():
        return {
            PerformanceStatus.PENDING: _l("Awaiting performance"),
            PerformanceStatus.CONFIRMED: _l("Performed"),
            PerformanceStatus.BREACHED: _l("Breach reported"),
        }


class RecordKind(_Labelled):
    SETTLEMENT = "settlement"
    MEDIATION_AGREEMENT = "mediation_agreement"
    REFUSAL = "refusal"
    TERMINATION = "termination"
    CASE_FILE = "case_file"

    @staticmethod
    def _labels():
        return {
            RecordKind.SETTLEMENT: _l("Settlement agreement"),
            RecordKind.MEDIATION_AGREEMENT: _l("Mediation agreement"),
            RecordKind.REFUSAL: _l("Refusal decision"),
            RecordKind.TERMINATION: _l("Termination decision"),
            RecordKind.CASE_FILE: _l("Case file"),
        }


class OfferStatus(_Labelled):
    """Where an enterprise's offer stands."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer offer replaced it
    LAPSED = "lapsed"  # the case went to mediation while it was open
    # Never stored: an open offer past its last day, as operations.offer_status shows it.
    EXPIRED = "expired"

    @staticmethod
    def _labels():
        return {
            OfferStatus.OPEN: _l("Awaiting answer"),
            OfferStatus.ACCEPTED: _l("Accepted"),
            OfferStatus.REJECTED: _l("Rejected"),
            OfferStatus.SUPERSEDED: _l("Replaced by a newer offer"),
            OfferStatus.LAPSED: _l("Lapsed (the case went to mediation)"),
            OfferStatus.EXPIRED: _l("Expired"),
        }


class AgreementStatus(_Labelled):
    """Where a mediator's proposed agreement stands."""

    PROPOSED = "proposed"
    SIGNED = "signed"  # by both parties
    SUPERSEDED = "superseded"  # a newer proposal replaced it

    @staticmethod
    def _labels():
        return {
            AgreementStatus.PROPOSED: _l("Awaiting signatures"),
            AgreementStatus.SIGNED: _l("Signed by both parties"),
            AgreementStatus.SUPERSEDED: _l("Replaced by a newer proposal"),
        }


class Channel(_Labelled):
    """How a complaint reached the portal: filed online by the consumer, or taken by a
    hotline seat or a service station from a call, a visit or a letter."""

    ONLINE = "online"
    PHONE = "phone"
    WALK_IN = "walk_in"
    LETTER = "letter"

    @staticmethod
    def _labels():
        return {
            Channel.ONLINE: _l("Online"),
            Channel.PHONE: _l("Phone call"),
            Channel.WALK_IN: _l("Walk-in visit"),
            Channel.LETTER: _l("Letter"),
        }


# The channels staff take a complaint or a consultation by (ONLINE is the consumer's own).
INTAKE_CHANNELS = (Channel.PHONE, Channel.WALK_IN, Channel.LETTER)
