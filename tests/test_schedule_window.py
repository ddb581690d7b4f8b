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
        ("cron(0 6-18 * * ? *)", 1),  # a range of hours: an hour apart within it
        ("cron(30 2 * * ? *)", 24),
        ("cron(0 6 ? * MON *)", 168),
        ("cron(0 6 ? * MON-FRI *)", None),  # irregular gaps
        ("cron(0 6 1 * ? *)", None),  # monthly
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
