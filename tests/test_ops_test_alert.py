"""`./ops test-alert ENV` (tools/ops/cli.py) against botocore's Stubber: one alarm of the
environment, chosen through ``Names``, set to ALARM and then back to OK (so the OK leaves ALARM,
which is what routes it to `notices`), and on screen what each subscriber of the config should
have received; an alarm that is really in ALARM, or not deployed, is left alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modules.config import load_config
from modules.naming import Names
from tests.support.ops_cli import invoke, scenario_test_alert, using_ops_config
from tests.support.ops_stubs import OPS_CONFIG, FakeClock, StubbedAws, install
from tools.ops.cli import TEST_ALERT_PAUSE_SECONDS, alarm_for_alert_test

# tests/fixtures/ops.yaml's environment with a `page` and a `notices` e-mail subscriber.
ENVIRONMENT = "prod"


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


def _alarm() -> str:
    config = load_config(OPS_CONFIG)
    env = config.environments[ENVIRONMENT]
    return alarm_for_alert_test(Names(config.project, ENVIRONMENT), env.pipelines[0])


def test_test_alert_sets_one_alarm_to_alarm_then_ok_and_says_who_gets_which() -> None:
    aws, clock = StubbedAws(ENVIRONMENT), FakeClock()
    install(aws, clock)
    alarm = _alarm()
    scenario_test_alert(aws, alarm)
    code, text = invoke(f"./ops test-alert {ENVIRONMENT}")
    aws.assert_done()
    assert code == 0, text
    sets = [c.params for c in aws.calls if c.operation == "SetAlarmState"]
    assert [(s["AlarmName"], s["StateValue"]) for s in sets] == [(alarm, "ALARM"), (alarm, "OK")]
    assert all("test" in s["StateReason"] and "not an incident" in s["StateReason"] for s in sets)
    assert clock.sleeps == [TEST_ALERT_PAUSE_SECONDS]
    flat = " ".join(text.split())
    subscriptions = load_config(OPS_CONFIG).environments[ENVIRONMENT].alerting.subscriptions
    expected = {"page": "the ALARM notification", "notices": "the OK notification"}
    for subscription in subscriptions:
        line = f"{subscription.protocol} {subscription.endpoint} ({subscription.receives})"
        assert f"{line}: {expected[subscription.receives]}" in flat
    assert "docs/operations.md" in flat


@pytest.mark.parametrize(
    ("found", "refusal"),
    [("ALARM", "is in ALARM: a real alarm"), (None, "is the environment deployed?")],
    ids=["really in alarm", "not deployed"],
)
def test_test_alert_leaves_a_real_or_missing_alarm_alone(found: str | None, refusal: str) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    alarm = _alarm()
    if found is None:
        aws.expect("cloudwatch", "describe_alarms", {"MetricAlarms": []}, AlarmNames=[alarm])
    else:
        scenario_test_alert(aws, alarm, state=found)
    code, text = invoke(f"./ops test-alert {ENVIRONMENT}")
    aws.assert_done()
    assert code == 2 and refusal in " ".join(text.split())
    assert not [c for c in aws.calls if c.operation == "SetAlarmState"]
