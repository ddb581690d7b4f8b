"""The operator policy (modules/operator_policy.py) held to the operations tool: every `./ops`
command runs against botocore's Stubber in each environment of the ops config, every request it
sends is recorded, and each is evaluated (tests/support/iam_evaluation.py) against that
environment's policy as synthesized, Terraform references resolved to what they name. Each call
must be allowed there, and denied by the other environment's policy (in the same account; but on
SageMaker's one log group); the policy allows no action
the tool does not call (but the one S3 needs to answer a missing manifest with 404), decrypts the
manifest's key only through S3, and denies a redrive. The sharded pipeline's commands (`why` of
its failed shards, `rerun --failed`) are among them; the config without shards gets a policy
without their statements, which refuses what only those allow."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modules.config import ProjectConfig, load_config
from modules.naming import TRANSFORM_JOB_LOG_GROUP, Names
from modules.shard_layout import shards_prefix
from tests.support.iam_evaluation import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Request, decision
from tests.support.machines import Machine
from tests.support.ops_cli import (
    SHARDED_RUN,
    failed_execution,
    incomplete_execution,
    invoke,
    scenario_backfill,
    scenario_rerun,
    scenario_run,
    scenario_runs,
    scenario_test_alert,
    scenario_why,
    scenario_why_sharded,
    synthesized_machine,
    using_ops_config,
)
from tests.support.ops_stubs import OPS_CONFIG, Call, StubbedAws, install
from tests.support.sfn_engine import Engine, Execution
from tools.ops import cli
from tools.ops.target import Target, resolve

# tests/fixtures/ops.yaml's environments: one pins its account, the other asks STS, which answers
# that same account here (two environments in one account: only the policies' names keep them
# apart); the pipeline the commands work on.
ENVIRONMENTS = ("prod", "dev")
PIPELINE = "churn"
SHARDED_PIPELINE = "events"  # transform.shards: `why` of a run's failed shards, `rerun --failed`


def shared_account() -> str:
    account = load_config(OPS_CONFIG).environments["prod"].account_id
    assert account is not None
    return account


def target(env: str, pipeline: str) -> Target:
    return resolve(load_config(OPS_CONFIG), env, pipeline, shared_account)


# Each command of the tool, as the test runs it, and the AWS answers it meets.
COMMANDS: dict[str, tuple[str, Callable[..., None]]] = {
    "runs": ("./ops runs {env} {pipeline}", scenario_runs),
    "why": ("./ops why {env} {pipeline}", scenario_why),  # with the environment's failed run
    "backfill": (
        "./ops backfill {env} {pipeline} --from 2026-11-20 --to 2026-11-26",
        scenario_backfill,
    ),
    "run": ("./ops run {env} {pipeline} --wait", scenario_run),
    "test-alert": ("./ops test-alert {env}", scenario_test_alert),
}
# The commands of a sharded pipeline's failed shards, on SHARDED_PIPELINE.
NAMED = {"run": SHARDED_RUN}  # the flags of a command line that names the run
SHARDED_COMMANDS: dict[str, tuple[str, Callable[..., None], dict[str, str]]] = {
    "why": ("./ops why {env} {pipeline}", scenario_why_sharded("FAILED"), {}),
    "why-succeeded": (
        f"./ops why {{env}} {{pipeline}} {SHARDED_RUN}",
        scenario_why_sharded("SUCCEEDED"),
        NAMED,
    ),
    "rerun": (f"./ops rerun {{env}} {{pipeline}} {SHARDED_RUN} --failed", scenario_rerun, NAMED),
}
# The statements only sharded pipelines get (modules/operator_policy.py).
SHARDS_STATEMENTS = {"ReadShards", "WriteRerunItems", "EncryptRerunItemsThroughS3"}
# STS GetCallerIdentity: "No permissions are required to perform this operation" (STS API
# reference).
NEEDS_NO_PERMISSION = {("sts", "GetCallerIdentity")}
# botocore's signing names whose IAM prefix differs.
IAM_PREFIX = {"monitoring": "cloudwatch"}


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


@pytest.fixture(scope="module")
def config() -> ProjectConfig:
    return load_config(OPS_CONFIG)


@pytest.fixture(scope="module")
def synthesized(
    config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]
) -> dict[str, dict[str, Any]]:
    return {env: json.loads(synth_env(config, env)) for env in ENVIRONMENTS}


@pytest.fixture(scope="module")
def failed_runs(
    engine: Engine, synth_env: Callable[[ProjectConfig, str], str]
) -> dict[str, list[Execution]]:
    """Each environment's churn runs that failed, on the Step Functions engine: its transform job
    failed; its outputs are missing (churn has ``delivery``)."""
    machines: dict[str, Machine] = {
        env: synthesized_machine(synth_env, env, PIPELINE) for env in ENVIRONMENTS
    }
    return {
        env: [failed_execution(engine, machine), incomplete_execution(engine, machine)]
        for env, machine in machines.items()
    }


_REFERENCE = re.compile(r"\$\{(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


def _resolver(document: dict[str, Any], t: Target) -> Callable[[str], str]:
    """Terraform references of the stack as what they name: the caller's account, a bucket's
    ARN from its name, a key's ARN (named after its resource, for the test to find it again)."""

    def resolve(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            _, kind, name, attribute = match.groups()
            if (kind, attribute) == ("aws_caller_identity", "account_id"):
                return t.aws.account_id
            if (kind, attribute) == ("aws_s3_bucket", "arn"):
                bucket = resolve(document["resource"]["aws_s3_bucket"][name]["bucket"])
                return t.aws.arn("s3", bucket, region=False, account=False)
            if (kind, attribute) == ("aws_kms_key", "arn"):
                return t.aws.arn("kms", f"key/{t.environment_names.prefix}-{name}")
            raise AssertionError(f"no resolution for {match.group(0)}")

        return _REFERENCE.sub(value, text)

    return resolve


def operator_policy(document: dict[str, Any], t: Target) -> dict[str, Any]:
    [policy] = document["resource"]["aws_iam_policy"].values()
    assert policy["name"] == t.environment_names.operator_policy
    parsed: dict[str, Any] = json.loads(_resolver(document, t)(policy["policy"]))
    return parsed


def manifest_key_arn(document: dict[str, Any], t: Target) -> str:
    """The key that encrypts the output bucket (its default encryption), which S3 decrypts the
    manifest with on the caller's behalf."""
    resolve = _resolver(document, t)
    for setting in document["resource"][
        "aws_s3_bucket_server_side_encryption_configuration"
    ].values():
        bucket = re.sub(r"\.id\}$", ".arn}", setting["bucket"])
        if resolve(bucket).endswith(f":::{t.output_bucket}"):
            [rule] = setting["rule"]
            return resolve(rule["apply_server_side_encryption_by_default"]["kms_master_key_id"])
    raise AssertionError("no encryption setting of the output bucket")


def requests_of(call: Call, t: Target, key_arn: str) -> list[Request]:
    """What IAM authorizes for one call (the Service Authorization Reference's resource types)."""
    p, aws = call.params, t.aws
    prefix = IAM_PREFIX.get(call.service, call.service)
    action = f"{prefix}:{call.operation}"
    if (call.service, call.operation) in NEEDS_NO_PERMISSION:
        return []
    if call.operation in ("ListExecutions", "StartExecution"):
        return [Request(action, p["stateMachineArn"])]
    if call.operation in ("DescribeExecution", "GetExecutionHistory"):
        return [Request(action, p["executionArn"])]
    if call.operation == "DescribeTransformJob":
        return [Request(action, aws.arn("sagemaker", f"transform-job/{p['TransformJobName']}"))]
    if call.operation == "ListTags":
        return [Request(action, p["ResourceArn"])]
    if call.operation == "ListObjectsV2":  # IAM's action for listing a bucket's objects
        bucket = aws.arn("s3", p["Bucket"], region=False, account=False)
        return [Request("s3:ListBucket", bucket, {"s3:prefix": p["Prefix"]})]
    if call.operation == "DescribeLogStreams":  # CloudWatch Logs: "<log group ARN>:*"
        return [Request(action, aws.arn("logs", f"log-group:{p['logGroupName']}:*"))]
    via_s3 = {"kms:ViaService": f"s3.{aws.region}.amazonaws.com"}
    if call.operation in ("GetObject", "PutObject"):
        # SSE-KMS (the bucket's default encryption, with a bucket key): S3 decrypts with the
        # caller's kms:Decrypt, and asks for a data key with the caller's kms:GenerateDataKey.
        kms = "kms:Decrypt" if call.operation == "GetObject" else "kms:GenerateDataKey"
        return [
            Request(
                action, aws.arn("s3", f"{p['Bucket']}/{p['Key']}", region=False, account=False)
            ),
            Request(kms, key_arn, via_s3),
        ]
    if call.operation in ("DescribeAlarms", "SetAlarmState"):
        alarms = p.get("AlarmNames") or [p["AlarmName"]]
        return [Request(action, aws.arn("cloudwatch", f"alarm:{alarm}")) for alarm in alarms]
    raise AssertionError(f"{action}: say here which resource IAM authorizes it on")


def _expect_caller(aws: StubbedAws) -> None:
    aws.expect(
        "sts",
        "get_caller_identity",
        {
            "Account": shared_account(),
            "Arn": f"arn:aws:iam::{shared_account()}:user/ops",
            "UserId": "X",
        },
    )


def run_sharded_commands(env: str) -> list[Call]:
    """The commands of a sharded run's failed shards in ``env``: ``why`` of a run that failed with
    them and of one that succeeded despite them, ``rerun --failed``; the calls made."""
    calls: list[Call] = []
    for line, scenario, flags in SHARDED_COMMANDS.values():
        aws = StubbedAws(env)
        install(aws)
        if load_config(OPS_CONFIG).environments[env].account_id is None:
            _expect_caller(aws)
        scenario(aws, target(env, SHARDED_PIPELINE), flags)
        code, text = invoke(line.format(env=env, pipeline=SHARDED_PIPELINE))
        aws.assert_done()
        assert code == 0, (line, text)
        calls += aws.calls
    return calls


def run_every_command(env: str, failed_runs: list[Execution]) -> list[Call]:
    """Every command of the tool in ``env``, each against its stubbed answers (``why`` of each
    failed run, and the sharded pipeline's commands); the calls made."""
    calls: list[Call] = run_sharded_commands(env)
    config = load_config(OPS_CONFIG)
    commands = [(c, run) for c in COMMANDS for run in (failed_runs if c == "why" else [None])]
    for command, failed_run in commands:
        line, scenario = COMMANDS[command]
        aws = StubbedAws(env)
        install(aws)
        t = target(env, PIPELINE)
        if command != "test-alert" and config.environments[env].account_id is None:
            _expect_caller(aws)
        if failed_run is not None:
            scenario_why(failed_run)(aws, t, {})
        elif command == "test-alert":
            names = Names(config.project, env)
            scenario(aws, cli.alarm_for_alert_test(names, config.environments[env].pipelines[0]))
        else:
            scenario(aws, t, {"--wait": True} if command == "run" else {})
        code, text = invoke(line.format(env=env, pipeline=PIPELINE))
        aws.assert_done()
        assert code == 0, (line, text)
        calls += aws.calls
    return calls


def test_every_command_is_driven() -> None:
    registered = {c.name or c.callback.__name__ for c in cli.app.registered_commands if c.callback}
    sharded = {line.split()[1] for line, _, _ in SHARDED_COMMANDS.values()}
    assert registered == set(COMMANDS) | sharded
    assert load_config(OPS_CONFIG).environments["prod"].pipelines
    assert target("prod", SHARDED_PIPELINE).pipeline.transform.shards is not None
    assert target("prod", PIPELINE).pipeline.transform.shards is None


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_call_of_every_command_is_allowed_by_its_environments_policy_only(
    env: str, synthesized: dict[str, dict[str, Any]], failed_runs: dict[str, list[Execution]]
) -> None:
    t = target(env, PIPELINE)
    [other] = [e for e in ENVIRONMENTS if e != env]
    policy = operator_policy(synthesized[env], t)
    others = operator_policy(synthesized[other], target(other, PIPELINE))
    key_arn = manifest_key_arn(synthesized[env], t)
    calls = run_every_command(env, failed_runs[env])
    requests = [r for call in calls for r in requests_of(call, t, key_arn)]
    assert {call.operation for call in calls} >= {
        "GetObject",
        "PutObject",
        "SetAlarmState",
        "StartExecution",
        "ListTags",
        "ListObjectsV2",
    }
    refused = [r for r in requests if decision(policy, r) != ALLOW]
    assert refused == [], refused
    # SageMaker writes every job of the account and region to one log group: the one resource
    # both environments' operators list streams of.
    shared = t.aws.arn("logs", f"log-group:{TRANSFORM_JOB_LOG_GROUP}:*")
    elsewhere = [r for r in requests if decision(others, r) == ALLOW and r.resource != shared]
    assert elsewhere == [], elsewhere
    # Nothing the tool does not do, but s3:ListBucket: without it S3 answers a missing
    # manifest with 403, and `why` could not tell "none written" from "not allowed".
    allowed = {
        a.lower() for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]
    }
    assert allowed == {r.action.lower() for r in requests} | {"s3:listbucket"}


def test_the_manifest_key_decrypts_through_s3_only_a_redrive_is_denied_inputs_are_scoped(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    t = target("prod", PIPELINE)
    policy = operator_policy(synthesized["prod"], t)
    key_arn = manifest_key_arn(synthesized["prod"], t)
    assert decision(policy, Request("kms:Decrypt", key_arn)) != ALLOW
    other_service = {"kms:ViaService": f"sqs.{t.aws.region}.amazonaws.com"}
    assert decision(policy, Request("kms:Decrypt", key_arn, other_service)) != ALLOW
    redrive = Request("states:RedriveExecution", t.execution_arn("3f1d2c4b"))
    assert decision(policy, redrive) == EXPLICIT_DENY
    # Inputs are listed under the input prefixes of the pipelines with delivery only.
    inputs = t.aws.arn("s3", t.bucket("input"), region=False, account=False)
    for pipeline in load_config(OPS_CONFIG).environments["prod"].pipelines:
        listing = Request("s3:ListBucket", inputs, {"s3:prefix": pipeline.default_input_prefix})
        allowed = ALLOW if pipeline.delivery is not None else IMPLICIT_DENY
        assert decision(policy, listing) == allowed, pipeline.name


def test_without_shards_the_policy_allows_nothing_of_theirs(
    synthesized: dict[str, dict[str, Any]], synth_env: Callable[[ProjectConfig, str], str]
) -> None:
    """The ops config with its pipeline's shards taken out: the policy is the sharded one without
    the shards' statements, and refuses every call of the shards' commands that only those allow
    (reading the shards folder, writing rerun items, the data key for them)."""
    import yaml

    from modules.config import parse_config

    raw = yaml.safe_load(OPS_CONFIG.read_text())
    for pipeline in raw["pipelines"]:
        pipeline.get("transform", {}).pop("shards", None)
    unsharded = parse_config(raw, "ops config without shards")
    assert all(p.transform.shards is None for p in unsharded.environments["prod"].pipelines)
    t = target("prod", SHARDED_PIPELINE)
    policy = operator_policy(json.loads(synth_env(unsharded, "prod")), t)
    sharded = operator_policy(synthesized["prod"], t)
    assert {s["Sid"] for s in sharded["Statement"]} >= SHARDS_STATEMENTS
    without = [s for s in sharded["Statement"] if s["Sid"] not in SHARDS_STATEMENTS]
    assert policy["Statement"] == without
    key_arn = manifest_key_arn(synthesized["prod"], t)
    requests = [r for c in run_sharded_commands("prod") for r in requests_of(c, t, key_arn)]
    refused = [r for r in requests if decision(policy, r) != ALLOW]
    assert {r.action for r in refused} == {"s3:GetObject", "s3:PutObject", "kms:GenerateDataKey"}
    shards = t.aws.arn(
        "s3",
        f"{t.output_bucket}/{shards_prefix(t.pipeline.run_output_prefix)}",
        region=False,
        account=False,
    )
    assert all(r.resource.startswith(shards) for r in refused if r.action.startswith("s3:"))
    assert all(decision(sharded, r) == ALLOW for r in requests)
