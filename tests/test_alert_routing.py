"""Alert routing by severity (``alerting.subscriptions[].receives``), proved on LocalStack's SNS
subscription filter evaluator: each subscription's synthesized filter policy against each kind of
message the topic really gets.

The messages: the state machine's notifications from executions on the Step Functions engine
(failure, success, skipped, no input), CloudWatch's alarm notification (the JSON AWS documents)
for ALARM and OK of every alarm the stack creates (an OK after ALARM, and the OK of an alarm just
created, after INSUFFICIENT_DATA), and the transform-job event rule's output from a SageMaker
"Transform Job State Change" event (Failed, and Stopped without a FailureReason), produced both by
LocalStack's EventBridge input transformer and by the substitution EventBridge documents
(``eventbridge_input``: LocalStack fills a missing path with "", EventBridge leaves it out).
What subscriptions a phone may have, and that no two have one protocol and endpoint, is checked
here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from modules.alert_routing import NOTICE, SEVERITY_KEY
from modules.config import ConfigError, ProjectConfig, parse_config
from modules.naming import Names
from modules.workflow.state_names import (
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NOTIFY_FAILURE,
    NOTIFY_NO_INPUT,
    NOTIFY_SKIPPED,
    NOTIFY_SUCCESS,
)
from tests.conftest import CONFIGS
from tests.support.executions import named_scenarios
from tests.support.machines import Machine, load_machines
from tests.support.mocked_answers import CAPACITY_ERROR, happy_mocks, ok, transform_failure
from tests.support.sfn_engine import Engine

ENV = "stage"


@pytest.fixture(scope="module")
def routed_config() -> ProjectConfig:
    """The all-features fixture with one subscription per kind of routing."""
    raw = yaml.safe_load(CONFIGS["all-features"].read_text())
    raw["environments"][ENV]["alerting"]["subscriptions"] = [
        {"protocol": "email", "endpoint": "oncall@example.com", "receives": "page"},
        {"protocol": "email", "endpoint": "team@example.com", "receives": "notices"},
        {"protocol": "https", "endpoint": "https://hooks.example.com/alerts"},  # all (default)
    ]
    return parse_config(raw, "routed.yaml")


@pytest.fixture(scope="module")
def synthesized(
    routed_config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]
) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(synth_env(routed_config, ENV))
    return document


def _resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(document["resource"].get(kind, {}).values())


@pytest.fixture(scope="module")
def machines(routed_config: ProjectConfig, synthesized: dict[str, Any]) -> list[Machine]:
    return load_machines(routed_config, {f"{routed_config.project}-{ENV}": synthesized})


def _published(engine: Engine, machine: Machine, scenario_name: str, state: str) -> str:
    """What ``state`` published in a run of the named scenario, under a name of this module's own
    (the engine is shared by the session: execution names are unique per state machine)."""
    [scenario] = [s for s in named_scenarios(engine, machine) if s.name == scenario_name]
    name = f"routing-{scenario_name}"
    mocks = happy_mocks(machine, name)
    if scenario_name == "transform-fails":
        mocks = transform_failure(mocks)
    elif scenario_name == "empty-input":
        mocks[LIST_INPUT] = ok({"IsTruncated": False, "KeyCount": 0, "MaxKeys": 1})
    elif scenario_name == "overlap":  # an earlier run is still going
        running = mocks[LIST_RUNNING_EXECUTIONS]["0"]["Return"]["Executions"]
        previous = {**running[0], "Name": "previous-run", "StartDate": "2026-01-01T00:00:00Z"}
        mocks[LIST_RUNNING_EXECUTIONS] = ok({"Executions": [previous, *running]})
    run = engine.run(machine.name, machine.definition, name, scenario.input, mocks)
    [request] = run.requests_of(state)
    message: str = request["Message"]
    return message


def _alarm_notification(alarm: dict[str, Any], old: str, new: str) -> str:
    """CloudWatch's SNS notification of an alarm state change, in the shape AWS documents (the
    sample notification of aws-lambda-go's CloudWatch alarm SNS payload, fields of this alarm)."""
    return json.dumps(
        {
            "AlarmName": alarm["alarm_name"],
            "AlarmDescription": alarm["alarm_description"],
            "AWSAccountId": "444455556666",
            "NewStateValue": new,
            "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [1.0 "
            "(26/11/26 01:00:00)] was greater than or equal to the threshold (1.0).",
            "StateChangeTime": "2026-11-26T01:05:00.000+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:444455556666:alarm:{alarm['alarm_name']}",
            "OldStateValue": old,
            "Trigger": {
                "MetricName": alarm["metric_name"],
                "Namespace": alarm["namespace"],
                "StatisticType": "Statistic",
                "Statistic": alarm["statistic"].upper(),
                "Unit": None,
                "Dimensions": [
                    {"value": value, "name": name}
                    for name, value in alarm.get("dimensions", {}).items()
                ],
                "Period": alarm["period"],
                "EvaluationPeriods": alarm["evaluation_periods"],
                "ComparisonOperator": alarm["comparison_operator"],
                "Threshold": float(alarm["threshold"]),
                "TreatMissingData": alarm["treat_missing_data"],
                "EvaluateLowSampleCountPercentile": "",
            },
        }
    )


def _transform_job_event(job: str, status: str, reason: str | None) -> dict[str, Any]:
    """A SageMaker "Transform Job State Change" event (EventBridge envelope; the detail is the
    job's description, as SageMaker documents for its events)."""
    detail: dict[str, Any] = {
        "TransformJobName": job,
        "TransformJobArn": f"arn:aws:sagemaker:us-east-1:444455556666:transform-job/{job}",
        "TransformJobStatus": status,
        "ModelName": job,
        "CreationTime": 1764118810000,
        "TransformEndTime": 1764120000000,
    }
    if reason is not None:
        detail["FailureReason"] = reason
    return {
        "version": "0",
        "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": "SageMaker Transform Job State Change",
        "source": "aws.sagemaker",
        "account": "444455556666",
        "time": "2026-11-26T01:20:00Z",
        "region": "us-east-1",
        "resources": [detail["TransformJobArn"]],
        "detail": detail,
    }


def eventbridge_input(paths: dict[str, str], template: str, event: dict[str, Any]) -> str:
    """An input transformer's output as EventBridge documents it (eb-transform-target-input,
    "Input transform examples" and "Common issues"): a variable whose JSON path does not exist in
    the event is not created and does not appear in the output; a value is inserted as it is
    inside a quoted string (not escaped), and as JSON outside one."""
    values: dict[str, Any] = {}
    for variable, path in paths.items():
        node: Any = event
        for part in path.removeprefix("$.").split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            values[variable] = node
    out: list[str] = []
    in_string, index = False, 0
    while index < len(template):
        char = template[index]
        if in_string and char == "\\":
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        end = template.find(">", index)
        if char == "<" and end > 0 and template[index + 1 : end] in paths:
            variable = template[index + 1 : end]
            if variable in values:
                value = values[variable]
                quoted = in_string and isinstance(value, str)
                out.append(value if quoted else json.dumps(value))
            index = end + 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


JOB_EVENTS = (("Failed", 'ClientError: "features" missing in record 12'), ("Stopped", None))


def _job_targets(synthesized: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each transform-job rule with its target (the one publishing to the topic)."""
    targets = [
        t for t in _resources(synthesized, "aws_cloudwatch_event_target") if "sns" in t["arn"]
    ]
    rules = synthesized["resource"]["aws_cloudwatch_event_rule"]
    # target["rule"] is ${aws_cloudwatch_event_rule.<id>.name}
    return [(rules[t["rule"].split(".")[1]], t) for t in targets]


def _job_name(rule: dict[str, Any]) -> str:
    return f"{rule['name'].removesuffix('transform-job-failed')}0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def produced(
    engine: Engine,
    machines: list[Machine],
    routed_config: ProjectConfig,
    synthesized: dict[str, Any],
) -> dict[str, tuple[str, str | None]]:
    """Every kind of message the topic gets, by what it is, as really produced, with the pipeline
    that produced it (None: CloudWatch's)."""
    by_name = {m.pipeline.name: m for m in machines}
    scores, latest = by_name["scores"], by_name["latest"]  # notify on success / overlap skip
    found: dict[str, tuple[str, str | None]] = {
        "run failed": (_published(engine, latest, "transform-fails", NOTIFY_FAILURE), "latest"),
        "run succeeded": (_published(engine, scores, "scheduled", NOTIFY_SUCCESS), "scores"),
        "run skipped": (_published(engine, latest, "overlap", NOTIFY_SKIPPED), "latest"),
        "no input": (_published(engine, scores, "empty-input", NOTIFY_NO_INPUT), "scores"),
    }
    for alarm in _resources(synthesized, "aws_cloudwatch_metric_alarm"):
        if not alarm.get("alarm_actions"):
            continue  # tells no one (the alert delivery alarm: the dashboard shows it)
        name = alarm["alarm_name"]
        found[f"ALARM {name}"] = (_alarm_notification(alarm, "OK", "ALARM"), None)
        found[f"OK {name}"] = (_alarm_notification(alarm, "ALARM", "OK"), None)
    jobs = _job_targets(synthesized)
    assert len(jobs) == len(machines)  # one transform-job rule per pipeline
    names = Names(routed_config.project, ENV)
    for rule, target in jobs:
        [pipeline] = [m.pipeline.name for m in machines if m.names.job_failed_rule == rule["name"]]
        for status, reason in JOB_EVENTS:
            answer = engine.call(
                "event",
                pattern=json.loads(rule["event_pattern"]),
                event=_transform_job_event(_job_name(rule), status, reason),
                transformer={
                    "InputPathsMap": target["input_transformer"]["input_paths"],
                    "InputTemplate": target["input_transformer"]["input_template"],
                },
                target_arn="arn:aws:states:us-east-1:444455556666:stateMachine:unused",
            )
            assert answer["matches"], (rule["name"], status)
            assert names.of_pipeline(pipeline).job_failed_rule == rule["name"]
            found[f"job {status} {rule['name']}"] = (answer["input"], pipeline)
    return found


@pytest.fixture(scope="module")
def messages(produced: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """Every kind of message the topic gets, by what it is."""
    return {kind: text for kind, (text, _) in produced.items()}


def _delivered(engine: Engine, subscription: dict[str, Any], message: str) -> bool:
    if "filter_policy" not in subscription:
        return True  # SNS delivers every message to a subscription without a filter policy
    answer = engine.call(
        "filter",
        policy=json.loads(subscription["filter_policy"]),
        scope=subscription["filter_policy_scope"],
        message=message,
    )
    matches: bool = answer["matches"]
    return matches


def test_each_subscription_receives_what_it_asked_for(
    engine: Engine,
    synthesized: dict[str, Any],
    messages: dict[str, str],
    machines: list[Machine],
) -> None:
    subscriptions = {
        s["endpoint"]: s for s in _resources(synthesized, "aws_sns_topic_subscription")
    }
    received = {
        endpoint: {kind for kind, text in messages.items() if _delivered(engine, sub, text)}
        for endpoint, sub in subscriptions.items()
    }
    # A transform job's event is a page, but a shard's (its run pages for its failed shards).
    jobs = {k for k in messages if k.startswith("job ")}
    shard_jobs = {k for k in jobs if json.loads(messages[k])[SEVERITY_KEY] == NOTICE}
    pages = {k for k in messages if k.startswith(("run failed", "ALARM "))} | (jobs - shard_jobs)
    notices = set(messages) - pages
    assert {k.split(" ")[0] for k in notices} == {"run", "no", "OK", "job"}
    pipelines = len(_resources(synthesized, "aws_sfn_state_machine"))
    sharded = sum(m.sharded for m in machines)
    assert sharded and len(shard_jobs) == 2 * sharded  # Failed, Stopped
    assert len([k for k in pages if k.startswith("ALARM ")]) >= 5 * pipelines  # every alarm
    assert len(jobs - shard_jobs) == 2 * (pipelines - sharded)
    assert received["oncall@example.com"] == pages
    assert received["team@example.com"] == notices
    assert received["https://hooks.example.com/alerts"] == set(messages)


def test_a_capacity_error_pages_only_where_the_run_cannot_fall_back(
    engine: Engine, machines: list[Machine], synthesized: dict[str, Any]
) -> None:
    # With fallback instance types the run starts the job on the next type (and pages itself if
    # none had capacity): the job's own failure is no page. Without them, it is the only one.
    fallback = {
        m.names.job_failed_rule: bool(m.pipeline.transform.fallback_instance_types)
        for m in machines
    }
    assert set(fallback.values()) == {True, False}
    for rule, _ in _job_targets(synthesized):
        for status, reason, pages in (
            ("Failed", CAPACITY_ERROR, not fallback[rule["name"]]),
            ("Failed", f"ClientError: {CAPACITY_ERROR}", True),
            ("Stopped", None, True),
        ):
            event = _transform_job_event(_job_name(rule), status, reason)
            answer = engine.call(
                "event",
                pattern=json.loads(rule["event_pattern"]),
                event=event,
                transformer={"InputPathsMap": {}, "InputTemplate": "{}"},
                target_arn="arn:aws:states:us-east-1:444455556666:stateMachine:unused",
            )
            assert answer["matches"] is pages, (rule["name"], status, reason)


def test_receives_all_keeps_todays_subscription(synthesized: dict[str, Any]) -> None:
    [everything] = [
        s for s in _resources(synthesized, "aws_sns_topic_subscription") if s["protocol"] == "https"
    ]
    assert "filter_policy" not in everything and "filter_policy_scope" not in everything


def test_every_message_is_a_json_object_with_a_sentence_for_email_readers(
    messages: dict[str, str],
) -> None:
    for kind, text in messages.items():
        body = json.loads(text)
        assert isinstance(body, dict), kind
        if kind.startswith(("ALARM ", "OK ")):
            continue  # CloudWatch's own notification
        assert body["severity"] in ("page", "notice"), kind
        assert "message" in body or "cause" in body, kind
    failed = json.loads(next(t for k, t in messages.items() if k.startswith("job Failed")))
    assert failed["reason"] == ['ClientError: "features" missing in record 12']
    assert failed["status"] == "Failed"
    assert failed["message"].endswith(f"transform job {failed['transform_job']} is Failed")


def test_page_subscription_has_a_message_body_filter_policy(
    routed_config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]
) -> None:
    from imports.core import Testing

    assert Testing.to_have_resource_with_properties(
        synth_env(routed_config, ENV),
        "aws_sns_topic_subscription",
        {
            "endpoint": "oncall@example.com",
            "filter_policy_scope": "MessageBody",
            "filter_policy": json.dumps(
                {"$or": [{"severity": ["page"]}, {"NewStateValue": ["ALARM"]}]}
            ),
        },
    )


def test_an_unknown_receives_value_is_refused() -> None:
    raw = yaml.safe_load(CONFIGS["all-features"].read_text())
    raw["environments"][ENV]["alerting"]["subscriptions"][0]["receives"] = "urgent"
    with pytest.raises(ConfigError, match=r"receives.*'page', 'notices' or 'all'"):
        parse_config(raw, "routed.yaml")


def test_the_transform_job_page_stays_json_when_the_event_lacks_a_field(
    engine: Engine, synthesized: dict[str, Any]
) -> None:
    """A stopped job has no FailureReason, and EventBridge then leaves <reason> out of the output:
    the page must still be JSON, and still reach page subscribers (a shard's job: notice
    subscribers, not page ones)."""
    by_endpoint = {s["endpoint"]: s for s in _resources(synthesized, "aws_sns_topic_subscription")}
    page, notice = by_endpoint["oncall@example.com"], by_endpoint["team@example.com"]
    for rule, target in _job_targets(synthesized):
        transformer = target["input_transformer"]
        for status, reason in JOB_EVENTS:
            event = _transform_job_event(_job_name(rule), status, reason)
            text = eventbridge_input(
                transformer["input_paths"], transformer["input_template"], event
            )
            body = json.loads(text)
            assert body["reason"] == ([] if reason is None else [reason]), text
            assert (body["status"], body["transform_job"]) == (status, _job_name(rule))
            severity = body[SEVERITY_KEY]
            assert _delivered(engine, page, text) == (severity == "page"), text
            assert _delivered(engine, notice, text) == (severity == NOTICE), text


def test_an_ok_is_a_notice_only_when_the_alarm_was_in_alarm(
    engine: Engine, synthesized: dict[str, Any]
) -> None:
    """Every new or replaced alarm goes INSUFFICIENT_DATA -> OK on a deploy: that is no recovery,
    and no one is told. An OK after ALARM is a recovery: notices subscribers hear of it."""
    subscriptions = {
        s["endpoint"]: s for s in _resources(synthesized, "aws_sns_topic_subscription")
    }
    notices, page = subscriptions["team@example.com"], subscriptions["oncall@example.com"]
    alarms = [
        a for a in _resources(synthesized, "aws_cloudwatch_metric_alarm") if a.get("ok_actions")
    ]
    assert alarms
    for alarm in alarms:
        deployed = _alarm_notification(alarm, "INSUFFICIENT_DATA", "OK")
        recovered = _alarm_notification(alarm, "ALARM", "OK")
        assert not _delivered(engine, notices, deployed), alarm["alarm_name"]
        assert not _delivered(engine, page, deployed), alarm["alarm_name"]
        assert _delivered(engine, notices, recovered), alarm["alarm_name"]


def test_every_message_names_its_pipeline_and_environment_alike(
    routed_config: ProjectConfig, produced: dict[str, tuple[str, str | None]]
) -> None:
    """Failure pages, notices and transform-job pages: one ``pipeline`` (the pipeline's full name,
    as Names builds it) and one ``environment``, whoever wrote the message."""
    names = Names(routed_config.project, ENV)
    kinds = set()
    for kind, (text, pipeline) in produced.items():
        if pipeline is None:
            continue  # CloudWatch's own notification
        body = json.loads(text)
        assert body["pipeline"] == names.of_pipeline(pipeline).base, kind
        assert body["environment"] == ENV, kind
        kinds.add(body["event"])
    assert kinds == {
        "run failed",
        "run succeeded",
        "run skipped",
        "run found no input",
        "transform job failed or stopped",
    }


def _stage_subscriptions(*subscriptions: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(CONFIGS["all-features"].read_text())
    raw["environments"][ENV]["alerting"]["subscriptions"] = list(subscriptions)
    return raw


@pytest.mark.parametrize("receives", ["page", "all", None])
def test_a_phone_receives_notices_only(receives: str | None) -> None:
    """A page carries the failed job's whole description, longer than one SMS."""
    phone = {"protocol": "sms", "endpoint": "+4915112345678"}
    if receives is not None:
        phone["receives"] = receives
    with pytest.raises(ConfigError) as refused:
        parse_config(_stage_subscriptions(phone), "routed.yaml")
    [line] = str(refused.value).splitlines()
    assert line.endswith(
        f"subscriptions[0]: protocol sms can receive notices only, not {receives or 'all'}: a "
        "page (a run's failure with its cause) is longer than SNS sends in one SMS; set receives: "
        "notices, and page a phone through a lambda or https endpoint that shortens it"
    )
    parse_config(_stage_subscriptions({**phone, "receives": "notices"}), "routed.yaml")


def test_one_subscription_per_protocol_and_endpoint() -> None:
    """SNS refuses a second subscription of one endpoint with other attributes: each repeat is one
    line, at the repeat, naming the entry it repeats."""
    function = "arn:aws:lambda:us-east-1:444455556666:function:page-oncall"
    raw = _stage_subscriptions(
        {"protocol": "email", "endpoint": "oncall@example.com", "receives": "page"},
        {"protocol": "lambda", "endpoint": function, "receives": "page"},
        {"protocol": "email", "endpoint": "oncall@example.com", "receives": "notices"},
        {"protocol": "email-json", "endpoint": "oncall@example.com"},  # another protocol
        {"protocol": "lambda", "endpoint": function, "receives": "notices"},
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, "routed.yaml")
    lines = str(refused.value).splitlines()
    assert [line.split(": ", 2)[1:] for line in lines] == [
        [
            f"environments.{ENV}.alerting.subscriptions[{repeat}]",
            f"repeats subscriptions[{first}] ({protocol} {endpoint}): SNS keeps one subscription "
            "per protocol and endpoint; keep one entry, with receives: all for both pages and "
            "notices",
        ]
        for repeat, first, protocol, endpoint in (
            (2, 0, "email", "oncall@example.com"),
            (4, 1, "lambda", function),
        )
    ]
