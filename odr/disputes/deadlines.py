"""Working days on the official Chinese calendar, and the case clocks built on them.

Sources, in order: the admin's override table (CalendarOverride), the State Council
schedule through the `chinese-calendar` package (2004-2026), and for a year nobody has
loaded a fallback of weekends plus the fixed-date statutory holidays, with a warning in
the log. A deadline never fails for lack of calendar data.

"Within N working days of day X": day X is not counted; the deadline is the end
(23:59:59 Asia/Shanghai) of the N-th working day after X.
"""

import csv
import functools
import json
import logging
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from odr.disputes.models import CalendarOverride
from odr.extensions import db

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

NEGOTIATION_DAYS = 10
ACCEPTANCE_DAYS = 7
MEDIATION_DAYS = 45
REPORT_DAYS = 15
REMINDER_DAYS_BEFORE = 2
# A running clock with this many working days left or fewer (today counts as 0) is "due
# soon": the inbox's filter and counts, the queue's buckets and every clock's colour.
DUE_SOON_DAYS = 2

# Fixed-date statutory holidays (全体公民放假的节日, State Council, 2025 revision) used when
# a year's official schedule is not known. Lunar holidays cannot be placed without it.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}

_OVERRIDE_TTL = 60.0  # seconds; other processes see an admin's edit within a minute
_cache_lock = threading.Lock()
_override_cache: dict[date, bool] | None = None
_override_loaded_at = 0.0
_warned_years: set[int] = set()


def invalidate_overrides() -> None:
    global _override_cache
    with _cache_lock:
        _override_cache = None


def _overrides() -> dict[date, bool]:
    global _override_cache, _override_loaded_at
    now = time.monotonic()
    with _cache_lock:
        if _override_cache is not None and now - _override_loaded_at < _OVERRIDE_TTL:
            return _override_cache
    try:
        rows = db.session.execute(
            db.select(CalendarOverride.day, CalendarOverride.is_workday)
        ).all()
        loaded = {row[0]: row[1] for row in rows}
    except RuntimeError:  # outside an app context: the official schedule alone
        return {}
    with _cache_lock:
        _override_cache, _override_loaded_at = loaded, now
    return loaded


def _fallback_is_workday(day: date) -> bool:
    if day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning(
            "No official holiday schedule for %s: counting weekends and fixed-date "
            "statutory holidays only. Load the year with `flask odr calendar load`.",
            day.year,
        )
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


@functools.lru_cache(maxsize=8192)
def _official_is_workday(day: date) -> bool | None:
    """The State Council schedule for one day, or None for a year it does not cover.
    Cached: the package validates the date against its whole table on every call, which
    made a list page with a deadline column spend most of its time here."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def is_workday(day: date) -> bool:
    overrides = _overrides()
    if day in overrides:
        return overrides[day]
    official = _official_is_workday(day)
    if official is None:
        return _fallback_is_workday(day)
    return official


def add_working_days(start: date, n: int) -> date:
    """The N-th working day after `start` (start itself not counted)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def subtract_working_days(end: date, n: int) -> date:
    """The working day N working days before `end`."""
    day, counted = end, 0
    while counted < n:
        day -= timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for i in range(1, (end - start).days + 1) if is_workday(start + timedelta(i)))


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def working_day_deadline(start: datetime | date, n: int) -> datetime:
    """End of the N-th working day after the (Shanghai) day of `start`."""
    day = start if not isinstance(start, datetime) else local_date(start)
    return end_of_day(add_working_days(day, n))


def reminder_moment(deadline_at: datetime) -> datetime:
    """When the 'due in 2 working days' reminder is sent for a deadline."""
    return start_of_day(subtract_working_days(local_date(deadline_at), REMINDER_DAYS_BEFORE))


def working_days_left(deadline_at: datetime, now: datetime) -> int:
    """Working days from today to the deadline day (0: due today; negative: overdue)."""
    return working_days_between(local_date(now), local_date(deadline_at))


def due_soon_threshold(now: datetime) -> datetime:
    """The end of the DUE_SOON_DAYS-th working day from today: a deadline up to it is due
    soon (working_days_left(deadline, now) <= DUE_SOON_DAYS)."""
    return working_day_deadline(now, DUE_SOON_DAYS)


def is_due_soon(left: int) -> bool:
    """Whether a clock with `left` working days left (not overdue) is due soon."""
    return 0 <= left <= DUE_SOON_DAYS


# -- loading a year's official schedule ------------------------------------------------------


def parse_schedule(text: str, suffix: str) -> list[tuple[date, bool, str | None]]:
    """The days of an official schedule, as (day, is_workday, note), from a file's text: for
    a .json `suffix` {"holidays": [...], "workdays": [...]} (or a list of {date, workday,
    note}), otherwise CSV with columns date,type[,note] where type is holiday|off or
    workday|on. The admin console's upload and `flask odr calendar load` both read files
    with this. Raises ValueError for text it cannot read."""
    try:
        if suffix.lower() == ".json":
            return _json_schedule(json.loads(text))
        return _csv_schedule(text)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a holiday schedule ({exc!r})") from None


def _json_schedule(data) -> list[tuple[date, bool, str | None]]:
    rows: list[tuple[date, bool, str | None]] = []
    if isinstance(data, dict):
        for key, workday in (("holidays", False), ("days_off", False), ("workdays", True)):
            for item in data.get(key, []):
                if isinstance(item, dict):
                    rows.append((date.fromisoformat(item["date"]), workday, item.get("note")))
                else:
                    rows.append((date.fromisoformat(item), workday, None))
    else:
        for item in data:
            rows.append((date.fromisoformat(item["date"]), bool(item["workday"]), item.get("note")))
    return rows


def _csv_schedule(text: str) -> list[tuple[date, bool, str | None]]:
    rows: list[tuple[date, bool, str | None]] = []
    for row in csv.reader(text.splitlines()):
        if not row or row[0].strip().lower() in ("date", "") or row[0].startswith("#"):
            continue
        kind = row[1].strip().lower() if len(row) > 1 else "holiday"
        if kind not in ("holiday", "off", "workday", "on"):
            raise ValueError(f"unknown day type {kind!r} for {row[0]}")
        rows.append(
            (
                date.fromisoformat(row[0].strip()),
                kind in ("workday", "on"),
                row[2].strip() if len(row) > 2 else None,
            )
        )
    return rows
