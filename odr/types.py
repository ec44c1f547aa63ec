"""Column types shared by all models."""

import enum
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

# The largest id a row can have (the columns are 32-bit integers on PostgreSQL): a larger
# number in a URL, a form or a query names nothing (404), never a database error.
MAX_ID = 2_147_483_647


def as_id(value) -> int | None:
    """`value` as a row id (1..MAX_ID), or None when it cannot be one: text that is not a
    whole number, zero, negative or too large."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 10:
            return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != number:
        return None
    return number if 0 < number <= MAX_ID else None


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC, so SQLite and PostgreSQL behave alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class EnumString(TypeDecorator):
    """A string column read as a StrEnum's member (its labels come with it); stored as the
    plain string it always was, so the schema does not change."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_cls: type[enum.StrEnum], length: int):
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value, dialect):
        return None if value is None else str(self.enum_cls(value))

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_cls(value)


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint of the allowed values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


Money = sa.Numeric(14, 2)


def utcnow() -> datetime:
    return datetime.now(UTC)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
