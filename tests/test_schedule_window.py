"""The schedule arithmetic shared by the freshness alarm and config validation."""

from __future__ import annotations

import pytest

from modules.schedule_window import default_window_hours, interval_hours


@pytest.mark.parametrize(
    ("expression", "hours"),
    [
        ("rate(1 hour)", 1),
        ("rate(90 minutes)", 2),  # rounded up: a window is counted in whole hours
        ("rate(5 minutes)", 1),
        ("rate(2 days)", 48),
        ("cron(0 * * * ? *)", 1),
        ("cron(*/15 * * * ? *)", 1),
        ("cron(0 */6 * * ? *)", 6),
        ("cron(0 0,12 * * ? *)", 12),
        ("cron(0 6-18 * * ? *)", 12),  # hourly by day; 18:00 to 06:00 is the longest gap
        ("cron(0 6-16/5 * * ? *)", 14),  # 6, 11, 16, then 06:00 the next day
        ("cron(0 3/8 * * ? *)", 8),  # 3, 11, 19
        ("cron(0,30 6 * * ? *)", 24),  # 06:30 to 06:00 the next day, rounded up
        ("cron(30 2 * * ? *)", 24),
        ("cron(0 6 ? * MON *)", 168),
        ("cron(0 6 ? * 2 *)", 168),
        ("cron(0 6 ? * MON-FRI *)", 72),  # Friday to Monday
        ("cron(0 6 ? * MON,THU *)", 96),  # Thursday to Monday
        ("cron(0 */12 ? * SAT,SUN *)", 132),  # Sunday 12:00 to Saturday 00:00
        ("cron(0 6 ? * 6#3 *)", None),  # third Friday of the month
        ("cron(0 6 ? * 6L *)", None),  # last Friday of the month
        ("cron(0 6 1 * ? *)", None),  # monthly
        ("cron(0 6 * 1-6 ? *)", None),  # some months only
        ("at(2030-01-01T00:00:00)", None),
    ],
)
def test_interval_of_a_schedule(expression: str, hours: int | None) -> None:
    assert interval_hours(expression) == hours


def test_default_window_is_interval_plus_a_quarter_at_least_two_hours() -> None:
    assert default_window_hours("rate(1 hour)") == 3
    assert default_window_hours("cron(30 2 * * ? *)") == 30
    assert default_window_hours("rate(4 days)") == 96 + 24
    # weekly: 168 + 42 is more than CloudWatch evaluates
    assert default_window_hours("cron(0 6 ? * MON *)") is None
    assert default_window_hours("at(2030-01-01T00:00:00)") is None


@pytest.mark.parametrize(
    ("expression", "window"),
    [
        ("cron(0 */6 * * ? *)", 8),  # a missed 6-hourly run, not every cycle
        ("cron(0 0,12 * * ? *)", 15),
        ("cron(0 6-18 * * ? *)", 15),  # not every night
        ("cron(0 6 ? * MON-FRI *)", 90),  # not every weekend
    ],
)
def test_default_window_covers_the_longest_gap_of_a_cron(expression: str, window: int) -> None:
    assert default_window_hours(expression) == window
