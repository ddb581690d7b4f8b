"""How often a schedule fires, and how long the freshness alarm waits for a successful run.

Pure arithmetic on a schedule expression. The freshness alarm
(``modules/alerting/pipeline_alarms.py``) fires when no run succeeded within the window; config
validation (``modules/config``) refuses an explicit window that leaves no margin. Validation
runs before cdktf and the AWS provider are loaded, so this module sits beside the layers but
imports neither (only the standard library): both sides use the same numbers.
"""

from __future__ import annotations

import itertools
import re

# CloudWatch: an alarm of 1-hour periods may evaluate at most 7 days.
MAX_FRESHNESS_HOURS = 168

_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY
# AWS cron day-of-week: 1-7 or SUN-SAT, Sunday first.
_WEEKDAYS = {
    day: number for number, day in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}


def _expand(
    field: str, low: int, high: int, names: dict[str, int] | None = None
) -> set[int] | None:
    """The values a cron field selects ("*", "n", "a-b", each with an optional "/step", and comma
    lists of those), or None for what this module does not expand (L, W, #, wrapping ranges)."""

    def number(text: str) -> int | None:
        value = (names or {}).get(text.upper(), int(text) if text.isdigit() else None)
        return value if value is not None and low <= value <= high else None

    values: set[int] = set()
    for item in field.split(","):
        base, slash, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else 0
        if slash and step < 1:
            return None
        start, dash, end = base.partition("-")
        if base in ("*", "?"):
            first, last = low, high
        else:
            first_or_none = number(start)
            last_or_none = number(end) if dash else (high if slash else first_or_none)
            if first_or_none is None or last_or_none is None or first_or_none > last_or_none:
                return None
            first, last = first_or_none, last_or_none
        values.update(range(first, last + 1, step or 1))
    return values


def _largest_gap(times: set[int], period: int) -> int:
    """The longest stretch between consecutive fire times (minutes), wrapping past the period."""
    ordered = sorted(times)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    return max([*gaps, ordered[0] + period - ordered[-1]])


def interval_hours(expression: str) -> int | None:
    """The longest time between two runs of a schedule, in whole hours rounded up; None when it
    cannot be told (one-time ``at()``, monthly or day-of-month cron, L / W / # fields)."""
    rate = re.match(r"^rate\((\d+) (minute|hour|day)s?\)$", expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        return max(1, -(-value * {"minute": 1, "hour": 60, "day": 1440}[unit] // 60))
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    minute, hour, day_of_month, month, day_of_week, _ = fields
    if month != "*" or day_of_month not in ("*", "?"):
        return None  # monthly or rarer, or tied to days of the month
    minutes, hours = _expand(minute, 0, 59), _expand(hour, 0, 23)
    if not minutes or not hours:
        return None
    in_day = {h * 60 + m for h in hours for m in minutes}
    if day_of_week in ("*", "?"):
        gap = _largest_gap(in_day, _MINUTES_PER_DAY)
    else:
        days = _expand(day_of_week, 1, 7, _WEEKDAYS)
        if not days:
            return None
        gap = _largest_gap(
            {(d - 1) * _MINUTES_PER_DAY + t for d in days for t in in_day}, _MINUTES_PER_WEEK
        )
    return max(1, -(-gap // 60))


def margin_hours(interval: int) -> int:
    """Slack a freshness window needs beyond a missed run, a late start and the longest run: a
    daylight-saving shift, Scheduler's retries to start a run, and the alarm's whole-hour
    periods (a quarter of the interval, at least 2 h)."""
    return max(2, interval // 4)


def shortest_window_hours(interval: int, late_minutes: int = 0, run_seconds: int = 0) -> int:
    """The shortest freshness window for a schedule of this interval whose runs may start up to
    ``late_minutes`` late (the flexible window) and take up to ``run_seconds`` (the run's
    timeout): two completions can be that much further apart than two scheduled times (an early,
    fast run then a late, slow one), so the window is one missed run + both + the margin."""
    late_and_run_hours = -(-(late_minutes * 60 + run_seconds) // 3600)
    return interval + late_and_run_hours + margin_hours(interval)


def default_window_hours(
    expression: str, late_minutes: int = 0, run_seconds: int = 0
) -> int | None:
    """The freshness window derived from a schedule and how late and long its runs may be, or
    None where there is none: its interval cannot be told, or the window would exceed what
    CloudWatch evaluates (weekly schedules)."""
    interval = interval_hours(expression)
    if interval is None:
        return None
    window = shortest_window_hours(interval, late_minutes, run_seconds)
    return window if window <= MAX_FRESHNESS_HOURS else None
