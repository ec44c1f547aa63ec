"""The shared macros (templates/macros.html) print the same as before they took their
labels, dates and working days from odr/display.py: the earlier macros, kept here,
and the current ones are rendered for every state, both languages and a range of deadlines
(whitespace aside), and the per-request working-day counter agrees with the calendar."""

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale

from odr import display as rows
from odr.disputes import deadlines
from odr.disputes.states import State
from odr.types import utcnow

# The earlier macros, verbatim.
EARLIER = """
{% macro state_badge(state) %}
  {% set colours = {'negotiating': 'primary', 'pending_acceptance': 'warning', 'mediating': 'info', 'suspended': 'secondary', 'settled': 'success', 'mediated': 'success', 'refused': 'dark', 'terminated': 'dark', 'withdrawn': 'light'} %}
  <span class="badge text-bg-{{ colours.get(state|string, 'secondary') }} state-badge" data-state="{{ state }}">{{ state.label }}</span>
{% endmacro %}

{% macro clock(deadline_at) %}
  {% if deadline_at %}
    {% set left = working_days_left(deadline_at) %}
    <span class="deadline-clock {% if left < 0 %}text-danger fw-bold{% elif left <= 2 %}text-warning-emphasis fw-bold{% endif %}">
      {{ deadline_at|localdate }} ·
      {% if left < 0 %}{{ _('overdue by %(n)s working days', n=-left) }}
      {% elif left == 0 %}{{ _('due today') }}
      {% else %}{{ _('%(n)s working days left', n=left) }}{% endif %}
    </span>
  {% endif %}
{% endmacro %}
"""  # noqa: E501


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", str(html)).strip()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_state_badge_and_clock_print_what_they_printed_before(app, lang):
    earlier = app.jinja_env.from_string(EARLIER).module
    current = app.jinja_env.get_template("macros.html").module
    now = utcnow()
    with app.test_request_context(), force_locale(lang):
        for state in State:
            assert squeeze(current.state_badge(state)) == squeeze(earlier.state_badge(state))
        for days in [*range(-40, 70), 400, -400, 2000]:
            deadline = now + timedelta(days=days)
            assert squeeze(current.clock(deadline)) == squeeze(earlier.clock(deadline))
        assert squeeze(current.clock(None)) == squeeze(earlier.clock(None)) == ""


def test_days_from_counts_like_the_calendar():
    today = deadlines.local_date(utcnow())
    count = rows.DaysFrom(today)
    for days in [*range(-90, 120), 900, -900]:
        day = today + timedelta(days=days)
        assert count(day) == deadlines.working_days_between(today, day), day
