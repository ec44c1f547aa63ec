"""Admin-loaded calendar days that override the official schedule."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr.extensions import db


class CalendarOverride(db.Model):
    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.String(100))
