"""Cheap per-row values for the case lists and the shared macros (templates/macros.html).

A list row used to cost a gettext per label, a Babel format_date per date and a walk over
the working-day calendar per clock, each again on every row. Here a label is translated
once per language (kept for the life of the process), a date is formatted once per day and
language, and the working days from today are counted once per request for all rows.

The helpers are template globals (registered with the app by odr/web.py, see `register`)
so that the shared macros and the role pages' templates can use them; the consumer pages
and the mediator queue use some of them directly.
"""

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import Flask, g
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from odr.disputes import deadlines, formats, turns
from odr.disputes.choices import Request
from odr.disputes.operations import offer_status
from odr.disputes.states import State
from odr.types import utcnow

STATE_COLOURS = {
    "negotiating": "primary",
    "pending_acceptance": "warning",
    "mediating": "info",
    "suspended": "secondary",
    "settled": "success",
    "mediated": "success",
    "refused": "dark",
    "terminated": "dark",
    "withdrawn": "light",
}

CLOCK_TEXTS = {
    "overdue": _l("overdue by %(n)s working days"),
    "today": _l("due today"),
    "left": _l("%(n)s working days left"),
}

# A deadline further than this from today is counted directly rather than tabled.
_TABLE_DAYS = 800
_per_locale: dict[tuple[str, str], dict] = {}


def locale_key() -> str:
    return str(get_locale())


def per_locale(name: str, build: Callable[[], dict], locale: str | None = None) -> dict:
    """A dict built once per language (translations do not change while the process runs).
    `locale`: the request's locale_key() where the caller has it already (a list asks for
    it once, not on every row: Flask-Babel's lookup costs more than the row's work)."""
    key = (name, locale or locale_key())
    value = _per_locale.get(key)
    if value is None:
        value = _per_locale[key] = build()
    return value


def translated(name: str, table: dict, locale: str | None = None) -> dict[str, Markup]:
    """{key: translated text} of a table of lazy strings, once per language. The texts are
    Markup, as Jinja's gettext returns them: `text % {"n": 3}` escapes the values."""
    # Our own catalog's texts, trusted as Jinja's gettext trusts them.
    return per_locale(
        name,
        lambda: {key: Markup(str(text)) for key, text in table.items()},  # noqa: S704
        locale,
    )


def state_labels() -> dict[str, Markup]:
    # Markup, as a lazy label printed in a template is not escaped either (its __html__).
    return per_locale("state", lambda: {s: Markup(str(s.label)) for s in State})  # noqa: S704


def labels_of(enum_class, locale: str | None = None) -> dict[str, Markup]:
    """{member: label} of a labelled enum (State, Issue, ...), once per language; `locale`
    as for per_locale."""
    return per_locale(
        enum_class.__name__,
        lambda: {m: Markup(str(m.label)) for m in enum_class},  # noqa: S704 (as above)
        locale,
    )


def state_label(state) -> Markup:
    return state_labels()[state]


def state_colour(state) -> str:
    return STATE_COLOURS.get(state, "secondary")


def joint_member_rows(members, url_of: Callable[[int], str]) -> list[tuple[dict, dict]]:
    """The values the group pages of a joint complaint (the enterprise's and the mediator's)
    show for each member with a case: (the member as `joint.view` gives it, its row), the row
    holding what both pages print; each page adds its own values. `url_of(case id)`: the
    member's case page for the reader."""
    labels, requests = state_labels(), labels_of(Request)
    shown = []
    for member in members:
        if not member["complaint_id"]:
            continue
        state = member["state"]
        shown.append(
            (
                member,
                {
                    "complaint_id": member["complaint_id"],
                    "url": url_of(member["complaint_id"]),
                    "reference": member["reference"],
                    "name": member["name"],
                    "active": member["active"],
                    "amount": formats.money(member["amount"]),
                    "claimed": formats.money(member["claimed_amount"]),
                    "request_text": ", ".join(
                        str(requests[Request(r)]) for r in (member["requests"] or [])
                    ),
                    "state_label": labels[state] if state else "",
                    "colour": state_colour(state),
                },
            )
        )
    return shown


@functools.lru_cache(maxsize=4096)
def _format_day(day: date, locale: str, fmt: str) -> str:
    # `locale` is the cache key: format_date reads the same locale from the request.
    return format_date(day, fmt)


def local_day(value, fmt: str = formats.DATE_FORMAT, locale: str | None = None) -> str:
    """The `localdate` filter (odr/web.py), with each day formatted once per language;
    `locale` as for per_locale."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = deadlines.local_date(value)
    return _format_day(value, locale or locale_key(), fmt)


class DaysFrom:
    """Working days from `today` to any day, each calendar day looked up once: the same
    numbers as deadlines.working_days_between(today, day)."""

    def __init__(self, today: date):
        self.today = today
        self._ahead = [0]  # [k]: working days in (today, today + k]
        self._behind = [0]  # [k]: working days in (today - k, today]

    def __call__(self, day: date) -> int:
        delta = (day - self.today).days
        if abs(delta) > _TABLE_DAYS:
            return deadlines.working_days_between(self.today, day)
        if delta >= 0:
            table = self._ahead
            while len(table) <= delta:
                step = self.today + timedelta(days=len(table))
                table.append(table[-1] + deadlines.is_workday(step))
            return table[delta]
        table = self._behind
        while len(table) <= -delta:
            step = self.today - timedelta(days=len(table) - 1)
            table.append(table[-1] + deadlines.is_workday(step))
        return -table[-delta]


def days_counter() -> DaysFrom:
    """The request's DaysFrom for today (one per request, the calendar walked once)."""
    today = deadlines.local_date(utcnow())
    counter = g.get("_odr_days_from")
    if counter is None or counter.today != today:
        counter = g._odr_days_from = DaysFrom(today)
    return counter


def days_left(deadline_at: datetime | None) -> int | None:
    """The `working_days_left` template global (odr/web.py), counted once per request."""
    if deadline_at is None:
        return None
    return days_counter()(deadlines.local_date(deadline_at))


def clock_class(left: int) -> str:
    if left < 0:
        return "text-danger fw-bold"
    if deadlines.is_due_soon(left):
        return "text-warning-emphasis fw-bold"
    return ""


def clock_text(left: int, locale: str | None = None) -> Markup:
    # The catalog's texts as str, formatted with an int (nothing to escape), then Markup
    # as translated() gives them: Markup's own % wraps and escapes each argument.
    texts = per_locale("clock_str", lambda: {k: str(v) for k, v in CLOCK_TEXTS.items()}, locale)
    if left < 0:
        text = texts["overdue"] % {"n": -left}
    elif left == 0:
        text = texts["today"] % {}
    else:
        text = texts["left"] % {"n": left}
    return Markup(text)  # noqa: S704 (our catalog's text and a number)


class Clock(NamedTuple):
    """What macros.clock prints for a deadline: its class, its day and its text."""

    css: str
    day: str
    text: Markup


def clock_parts(deadline_at: datetime, left: int | None = None, locale: str | None = None) -> Clock:
    """The clock of a deadline in one call (a template global call costs more than the
    work: the shared macro used to make four per row); `left`, its working days left,
    and `locale` (as for per_locale) where the caller has them already."""
    if left is None:
        left = days_left(deadline_at)
    locale = locale or locale_key()
    return Clock(clock_class(left), local_day(deadline_at, locale=locale), clock_text(left, locale))


def offer_status_of(offer):
    """Where an offer stands as its parties see it today (an open one past its day is
    expired: operations.offer_status)."""

    return offer_status(offer, deadlines.local_date(utcnow()))


class TurnCell(NamedTuple):
    """A list row's "your turn" marker: what the case waits for from the reader, by when
    (a deadline's clock, or a day)."""

    step: str
    text: Markup
    clock: Clock | None
    day: str | None


def turn_cell(step: str | None, deadline_at, performance_due, locale: str | None = None):
    """The marker of a row that carries turns.step_column (None: not the reader's turn)."""
    found = turns.turn(step, deadline_at, performance_due)
    if found is None:
        return None
    locale = locale or locale_key()
    label = labels_of(turns.Step, locale)[found.step]
    if isinstance(found.due, datetime):
        return TurnCell(found.step.value, label, clock_parts(found.due, locale=locale), None)
    day = local_day(found.due, locale=locale) if found.due is not None else None
    return TurnCell(found.step.value, label, None, day)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        offer_status_of=offer_status_of,
        clock_parts=clock_parts,
        days_left=days_left,
        local_day=local_day,
        state_label=state_label,
        state_colour=state_colour,
        clock_class=clock_class,
        clock_text=clock_text,
    )
