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
    # Loaded with a year's official schedule (a file), not edited by hand: a year with such
    # a day counts as loaded for the console's warning.
    from_schedule: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
