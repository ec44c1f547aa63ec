"""The calendar's one home: which days are working days (工作日), and the working-day
arithmetic every clock is built on.

Three sources, in order:

1. Loaded overrides (CalendarOverride rows): a year's official schedule loaded with
   `flask odr calendar load` or the console's upload, and days the regulator edited.
2. The State Council's official schedules through `chinese-calendar` (2004-2026 in 1.11).
3. For any other year, the law itself: 全国年节及纪念日放假办法 as revised in 2024 (元旦 1,
   春节 4 from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3), a holiday that falls on a weekend
   giving rest on the following working day(s), as the `holidays` package's China calendar
   computes it; weekends are off and there are no make-up working days (only a published
   schedule sets those). A warning is logged the first time a process uses it for a year.

The calendar in force is a snapshot (`current()`): the overrides as read from the database
(read again at most a minute later, at once in the process that changed them) and the two
packages' years, each computed once per process. Its `version` fingerprints all three; a
case stores it with its clock (odr/disputes/clocks.py) so that the sweep acts only on clocks
computed under the calendar it reads. A deadline never fails for lack of calendar data.

"Within N working days of day X": day X is not counted; the deadline is the end
(23:59:59 Asia/Shanghai) of the N-th working day after X.
"""

import bisect
import csv
import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

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

# Bump when the way this module reads its sources changes: every running clock is then
# recomputed by the next sweep, as after a package upgrade.
RULES = "2024-law.1"
SOURCES = (
    f"chinese-calendar {chinese_calendar.__version__}; holidays {holidays.__version__}; {RULES}"
)

OVERRIDE, OFFICIAL, LAW = "override", "official", "law"

_OVERRIDE_TTL = 60.0  # seconds; other processes see an admin's edit within a minute
_cache_lock = threading.Lock()
_current: "Calendar | None" = None
_loaded_at = 0.0
_warned_years: set[int] = set()
_rest_days: dict[int, tuple[str, frozenset[date]]] = {}


def _days_of(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def _year(year: int) -> tuple[str, frozenset[date]]:
    """(source, the year's days off) from the official schedule or, for a year it does not
    cover, the law; computed once per process (a set lookup a day after that)."""
    known = _rest_days.get(year)
    if known is not None:
        return known
    try:
        rest = frozenset(d for d in _days_of(year) if not chinese_calendar.is_workday(d))
        known = (OFFICIAL, rest)
    except NotImplementedError:
        known = (LAW, _law_rest_days(year))
    _rest_days[year] = known
    return known


def _law_rest_days(year: int) -> frozenset[date]:
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "No official holiday schedule for %s: counting the statutory holidays of the law "
            "(全国年节及纪念日放假办法) with their make-up rest. Load the State Council's schedule "
            "with `flask odr calendar load` once it is published.",
            year,
        )
    try:
        law = holidays.China(years=year)
        return frozenset(d for d in _days_of(year) if not law.is_working_day(d))
    except Exception:  # a year beyond the package's lunar tables: weekends alone
        log.exception("The law's holidays of %s could not be computed", year)
        return frozenset(d for d in _days_of(year) if d.weekday() >= 5)


def official_schedule_known(year: int) -> bool:
    """Whether `chinese-calendar` has the State Council's schedule of the year."""
    return _year(year)[0] == OFFICIAL


def schedule_loaded(year: int) -> bool:
    """Whether a schedule file (not a day edited by hand) has been loaded for the year."""
    return bool(
        db.session.scalar(
            db.select(
                db.exists().where(
                    CalendarOverride.from_schedule.is_(True),
                    CalendarOverride.day >= date(year, 1, 1),
                    CalendarOverride.day <= date(year, 12, 31),
                )
            )
        )
    )


def year_source(year: int) -> str:
    """Where a year's days come from: OFFICIAL (chinese-calendar), "loaded" (a schedule
    file), or LAW; days edited by hand come first in any case."""
    if official_schedule_known(year):
        return OFFICIAL
    return "loaded" if schedule_loaded(year) else LAW


def missing_schedule(today: date) -> int | None:
    """From 1 November, next year while its official schedule is neither loaded nor known to
    `chinese-calendar` (the console warns), else None."""
    if today.month < 11:
        return None
    year = today.year + 1
    if official_schedule_known(year) or schedule_loaded(year):
        return None
    return year


@dataclass(frozen=True)
class Calendar:
    """The calendar in force: the loaded overrides over the packages' years. Each year it
    is asked about becomes a sorted list of its working days once, so that a deadline is
    two binary searches, not a walk of the days."""

    overrides: Mapping[date, bool]
    version: str
    _years: dict = field(default_factory=dict, compare=False, repr=False)

    def is_workday(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        return day not in _year(day.year)[1]

    def source(self, day: date) -> str:
        return OVERRIDE if day in self.overrides else _year(day.year)[0]

    def _workdays(self, year: int) -> list[int]:
        """The year's working days, as ordinals, in order."""
        found = self._years.get(year)
        if found is None:
            found = [d.toordinal() for d in _days_of(year) if self.is_workday(d)]
            self._years[year] = found
        return found

    def add_working_days(self, start: date, n: int) -> date:
        """The N-th working day after `start` (start itself not counted)."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return start
        year = start.year
        days = self._workdays(year)
        index = bisect.bisect_right(days, start.toordinal())
        while n > len(days) - index:
            n -= len(days) - index
            year += 1
            days, index = self._workdays(year), 0
        return date.fromordinal(days[index + n - 1])

    def subtract_working_days(self, end: date, n: int) -> date:
        """The working day N working days before `end`."""
        if n <= 0:
            return end
        year = end.year
        days = self._workdays(year)
        index = bisect.bisect_left(days, end.toordinal())  # working days before `end`
        while n > index:
            n -= index
            year -= 1
            days = self._workdays(year)
            index = len(days)
        return date.fromordinal(days[index - n])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        for year in range(start.year, end.year + 1):
            days = self._workdays(year)
            low = bisect.bisect_right(days, start.toordinal()) if year == start.year else 0
            high = bisect.bisect_right(days, end.toordinal()) if year == end.year else len(days)
            count += high - low
        return count

    def working_day_deadline(self, start: datetime | date, n: int) -> datetime:
        """End of the N-th working day after the (Shanghai) day of `start`."""
        day = start if not isinstance(start, datetime) else local_date(start)
        return end_of_day(self.add_working_days(day, n))

    def reminder_moment(self, deadline_at: datetime) -> datetime:
        """When the 'due in 2 working days' reminder is sent for a deadline."""
        return start_of_day(
            self.subtract_working_days(local_date(deadline_at), REMINDER_DAYS_BEFORE)
        )


def fingerprint(overrides: Mapping[date, bool]) -> str:
    """The version of a calendar: the packages and rules behind it and its overrides."""
    digest = hashlib.sha256(SOURCES.encode())
    for day in sorted(overrides):
        digest.update(f"|{day.isoformat()}={int(overrides[day])}".encode())
    return digest.hexdigest()[:16]


def read() -> Calendar:
    """The calendar as the database holds it now (in this session: its own flushed changes
    included), without touching the process's cached one."""
    rows = db.session.execute(db.select(CalendarOverride.day, CalendarOverride.is_workday)).all()
    overrides = {row[0]: row[1] for row in rows}
    return Calendar(overrides, fingerprint(overrides))


def current() -> Calendar:
    """The calendar in force, cached for up to a minute (see invalidate_overrides)."""
    global _current, _loaded_at
    now = time.monotonic()
    with _cache_lock:
        if _current is not None and now - _loaded_at < _OVERRIDE_TTL:
            return _current
    try:
        calendar = read()
    except RuntimeError:  # outside an app context: the packages alone
        return Calendar({}, fingerprint({}))
    with _cache_lock:
        _current, _loaded_at = calendar, now
    return calendar


def invalidate_overrides() -> None:
    """Forget the cached calendar: the next question reads the overrides again."""
    global _current
    with _cache_lock:
        _current = None


def is_workday(day: date) -> bool:
    return current().is_workday(day)


def add_working_days(start: date, n: int) -> date:
    """The N-th working day after `start` (start itself not counted)."""
    return current().add_working_days(start, n)


def subtract_working_days(end: date, n: int) -> date:
    """The working day N working days before `end`."""
    return current().subtract_working_days(end, n)


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    return current().working_days_between(start, end)


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def working_day_deadline(start: datetime | date, n: int) -> datetime:
    """End of the N-th working day after the (Shanghai) day of `start`."""
    return current().working_day_deadline(start, n)


def reminder_moment(deadline_at: datetime) -> datetime:
    """When the 'due in 2 working days' reminder is sent for a deadline."""
    return current().reminder_moment(deadline_at)


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
