"""How often a schedule fires, and how long the freshness alarm waits for a successful run.

Pure arithmetic on a schedule expression. The freshness alarm (``modules/alerting.py``) fires when
no run succeeded within the window; config validation (``modules/config``) refuses an explicit
window that leaves no margin. Validation runs before cdktf and the AWS provider are loaded, so this
module sits beside the layers but imports neither (only ``re``): both sides use the same numbers.
"""

from __future__ import annotations

import re

# CloudWatch: an alarm of 1-hour periods may evaluate at most 7 days.
MAX_FRESHNESS_HOURS = 168


def interval_hours(expression: str) -> int | None:
    """About how many hours lie between two runs of a schedule; None when it cannot be told
    (one-time ``at()``, monthly or irregular cron)."""
    rate = re.match(r"^rate\((\d+) (minute|hour|day)s?\)$", expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        return max(1, -(-value * {"minute": 1, "hour": 60, "day": 1440}[unit] // 60))
    if not expression.startswith("cron("):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    _, hour, day_of_month, month, day_of_week, _ = fields
    if month != "*" or day_of_month not in ("*", "?"):
        return None  # monthly or rarer
    if day_of_week not in ("*", "?"):
        # One weekday: weekly. Lists and ranges (MON-FRI) leave irregular gaps: no default.
        return 24 * 7 if re.fullmatch(r"[A-Za-z0-9]+", day_of_week) else None
    if hour == "*" or "/" in hour or "," in hour or "-" in hour:
        return 1
    return 24


def margin_hours(interval: int) -> int:
    """Slack a freshness window needs over the schedule's interval: time for a run to finish,
    a late start (flexible window), and a daylight-saving shift."""
    return max(2, interval // 4)


def shortest_window_hours(interval: int) -> int:
    """The shortest freshness window for a schedule of this interval: one missed run + margin."""
    return interval + margin_hours(interval)


def default_window_hours(expression: str) -> int | None:
    """The freshness window derived from a schedule, or None where there is none: its interval
    cannot be told, or the window would exceed what CloudWatch evaluates (weekly schedules)."""
    interval = interval_hours(expression)
    if interval is None:
        return None
    window = shortest_window_hours(interval)
    return window if window <= MAX_FRESHNESS_HOURS else None
