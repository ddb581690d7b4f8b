"""Schedules: cron, rate and at() expressions, time zones, windows, dates, retries, payloads,
dated input folders, and the alarm settings that fit each schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from modules.config.schedule import EVENT_AGE, FLEXIBLE_WINDOW, RETRY_ATTEMPTS
from modules.schedule_window import MAX_FRESHNESS_HOURS, interval_hours, shortest_window_hours
from tests.support.config_strategy.facts import (
    DATE_PARTS,
    LOWER_ALNUM,
    TIME_ZONES,
)


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    minute, hour = draw(st.integers(0, 59)), draw(st.integers(0, 23))
    every = draw(st.sampled_from([2, 3, 4, 6, 8, 12]))
    return draw(
        st.sampled_from(
            [
                f"cron({minute} {hour} * * ? *)",  # daily
                f"cron({minute} * * * ? *)",  # hourly
                f"cron({minute} */{every} * * ? *)",
                "cron(0/15 * * * ? *)",
                f"cron({minute} {hour} ? * MON-FRI *)",
                f"cron({minute} {hour} ? * SUN *)",  # weekly
                f"cron({minute} {hour} 1 * ? *)",  # monthly: no derived freshness window
                f"cron({minute} {hour} L * ? *)",
            ]
        )
    )


def _future(draw: st.DrawFn, days: tuple[int, int]) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return now + timedelta(days=draw(st.integers(*days)), seconds=draw(st.integers(0, 86399)))


@st.composite
def schedule_expressions(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["cron", "rate", "at"]))
    if kind == "cron":
        return draw(cron_expressions())
    if kind == "at":
        return f"at({_future(draw, (1, 3000)):%Y-%m-%dT%H:%M:%S})"
    unit = draw(st.sampled_from(["minute", "hour", "day"]))
    count = draw(st.integers(1, {"minute": 120, "hour": 48, "day": 10}[unit]))
    return f"rate({count} {unit}{'s' if count > 1 else ''})"


@st.composite
def folder_pictures(draw: st.DrawFn) -> str:
    year, month, day, hour = (draw(st.sampled_from(DATE_PARTS[p])) for p in DATE_PARTS)
    return draw(
        st.sampled_from(
            [
                f"{year}-{month}-{day}",
                f"{year}-{month}-{day}-{hour}",
                f"dt={year}-{month}-{day}/hour={hour}",
                f"{year}/{month}/{day}/{hour}",
                f"year={year}/month={month}/day={day}",
                f"v1_{year}{month}{day}.d",
                f"{year}-{month}",
            ]
        )
    )


@st.composite
def schedules(
    draw: st.DrawFn, prefix: str, run_seconds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A schedule (with the pipeline's prefix for a payload's input_prefix), and the alarms
    settings that fit it and runs as long as ``run_seconds``."""
    expression = draw(schedule_expressions())
    schedule: dict[str, Any] = {"expression": expression}
    alarms: dict[str, Any] = {}
    if draw(st.booleans()):
        schedule["timezone"] = draw(st.sampled_from(TIME_ZONES))
    if draw(st.booleans()):
        schedule["flexible_window_minutes"] = draw(st.integers(0, FLEXIBLE_WINDOW["max"]))
    dated = draw(st.sampled_from(["none", "start", "end", "both"]))
    if dated in ("start", "both"):
        schedule["start_date"] = _future(draw, (1, 400)).isoformat().replace("+00:00", "Z")
    if dated in ("end", "both"):
        schedule["end_date"] = _future(draw, (401, 4000)).isoformat().replace("+00:00", "Z")
    if draw(st.integers(0, 4)) == 4:
        schedule["enabled"] = False
    if draw(st.booleans()):
        schedule["retry"] = {
            "max_attempts": draw(st.integers(RETRY_ATTEMPTS["min"], RETRY_ATTEMPTS["max"])),
            "max_event_age_seconds": draw(st.integers(EVENT_AGE["min"], EVENT_AGE["max"])),
        }
    payload = draw(st.sampled_from(["none", "prefix", "extra"]))
    if payload == "prefix":
        schedule["payload"] = {"input_prefix": f"{prefix}sub'1/"}
    elif payload == "extra":
        schedule["payload"] = {"note": draw(st.text(LOWER_ALNUM + " '\"{}", max_size=12))}
    if payload != "prefix" and draw(st.booleans()):  # the two would disagree: refused
        schedule["input_folder"] = draw(folder_pictures())
    interval = interval_hours(expression)
    choice = draw(st.sampled_from(["default", "off", "explicit"]))
    if choice == "off":
        alarms["freshness"] = False
    elif choice == "explicit" and interval is not None and dated == "none":
        late = schedule.get("flexible_window_minutes", 0)
        needed = shortest_window_hours(interval, late, run_seconds)
        if needed <= MAX_FRESHNESS_HOURS:
            alarms["freshness_window_hours"] = draw(st.integers(needed, MAX_FRESHNESS_HOURS))
    if draw(st.booleans()):
        alarms["period_seconds"] = draw(st.sampled_from([60, 300, 900, 3600]))
        alarms["dlq_messages_threshold"] = draw(st.integers(1, 100))
    return schedule, alarms
