"""Environment stacks: provider, backend, wiring between layers, outputs; the bootstrap stack.

Composition is checked on the one-stack layout (``EnvironmentStack``: every layer and its wiring
in one document); tests/test_layout.py checks how the per-pipeline layout splits the same
resources into stacks."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from imports.core import Testing
from modules.config import EnvironmentConfig, ProjectConfig
from modules.dashboard import PIPELINES_PER_DASHBOARD
from modules.naming import Names
from modules.predictions_table import uses_default_database
from modules.stack_names import state_bootstraps
from modules.stacks.bootstrap import StateBootstrapStack
from modules.workflow.state_names import NOTIFY_FAILURE, RUN_TRANSFORM_JOB
from tests.support.helpers import policy_of, reference, resource_named, resources
from tools.synth import synthesize

# What one pipeline adds to an environment (the environment's shared resources come once).
PER_PIPELINE = {
    "aws_iam_role": 3,
    "aws_iam_role_policy": 3,
    "aws_cloudwatch_log_group": 1,
    "aws_sfn_state_machine": 1,
    "aws_sqs_queue": 2,  # the schedule's and the transform-job rule's dead letters
    "aws_sqs_queue_policy": 2,
    "aws_scheduler_schedule": 1,
    "aws_cloudwatch_metric_alarm": 6,
    "aws_cloudwatch_event_rule": 1,
    "aws_cloudwatch_event_target": 1,
}
PER_EVENT_TRIGGER = {
    "aws_iam_role": 1,
    "aws_iam_role_policy": 1,
    "aws_cloudwatch_event_rule": 1,
    "aws_cloudwatch_event_target": 1,
}
SHARED = {
    "aws_kms_key": 2,  # the data key and the alert key
    "aws_kms_alias": 2,
    "aws_s3_bucket": 4,
    "aws_s3_bucket_public_access_block": 4,
    "aws_s3_bucket_ownership_controls": 4,
    "aws_s3_bucket_versioning": 4,
    "aws_s3_bucket_server_side_encryption_configuration": 4,
    "aws_s3_bucket_lifecycle_configuration": 4,
    "aws_s3_bucket_policy": 4,
    "aws_s3_bucket_logging": 3,
    "aws_sns_topic": 1,
    "aws_sns_topic_policy": 1,
    "aws_cloudwatch_metric_alarm": 1,  # the alert topic's failed deliveries
    "aws_scheduler_schedule_group": 1,
    "aws_s3_bucket_notification": 1,
    "aws_iam_policy": 1,  # the operator policy (modules/operator_policy.py)
}


def expected_inventory(env: EnvironmentConfig) -> Counter[str]:
    expected = Counter(SHARED)
    expected["aws_sns_topic_subscription"] += len(env.alerting.subscriptions)
    expected["aws_lambda_permission"] += sum(
        s.protocol == "lambda" for s in env.alerting.subscriptions
    )
    for pipeline in env.pipelines:
        expected.update(PER_PIPELINE)
        if not pipeline.model.resolved_per_run:
            expected["aws_sagemaker_model"] += 1
        if pipeline.freshness_window_hours is not None:
            expected["aws_cloudwatch_metric_alarm"] += 1
        if pipeline.trigger is not None:
            expected.update(PER_EVENT_TRIGGER)
        if pipeline.delivery is not None and pipeline.delivery.table is not None:
            expected["aws_glue_catalog_table"] += 1
    if any(pipeline.delivery is not None for pipeline in env.pipelines):
        expected.update({"aws_schemas_registry": 1, "aws_schemas_schema": 1})
    if uses_default_database(env.pipelines):
        expected["aws_glue_catalog_database"] += 1
    expected["aws_cloudwatch_dashboard"] += -(-len(env.pipelines) // PIPELINES_PER_DASHBOARD)
    return expected


def _doc(synthesized: str) -> dict[str, Any]:
    return json.loads(synthesized)


def _counts(synthesized: str) -> Counter[str]:
    return Counter({t: len(r) for t, r in _doc(synthesized)["resource"].items()})


def test_resource_inventory(
    default_config: ProjectConfig, full_config: ProjectConfig, synth_env: Any
) -> None:
    for config in (default_config, full_config):
        for name, env in config.environments.items():
            assert _counts(synth_env(config, name)) == expected_inventory(env), name


def test_dev_uses_local_state_and_needs_no_account(dev_json: str) -> None:
    doc = _doc(dev_json)
    assert doc["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.mlbatch-dev.tfstate"}
    }
    assert "allowed_account_ids" not in doc["provider"]["aws"][0]
    assert "aws_caller_identity" in doc["data"]
    assert Testing.to_have_provider_with_properties(dev_json, "aws", {"region": "eu-west-1"})


def test_prod_uses_encrypted_locked_s3_state_one_key_per_stack(prod_json: str) -> None:
    doc = _doc(prod_json)
    assert doc["terraform"]["backend"] == {
        "s3": {
            "bucket": "mlbatch-tfstate-123456789012-eu-west-1",
            "key": "cdktf/mlbatch-prod.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            # Without it, encrypt = true writes state, lock file and digest with SSE-S3.
            "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:alias/tfstate/"
            "mlbatch-tfstate-123456789012-eu-west-1",
            "use_lockfile": True,
        }
    }
    assert doc["terraform"]["required_version"] == ">= 1.10.0"  # use_lockfile
    assert doc["provider"]["aws"][0]["allowed_account_ids"] == ["123456789012"]
    assert "data" not in doc  # the account is pinned: no lookup needed
    buckets = resources(prod_json, "aws_s3_bucket").values()
    assert buckets and all(b["bucket"].endswith("-123456789012-eu-west-1") for b in buckets)


def test_default_tags_on_everything(dev_json: str) -> None:
    [provider] = _doc(dev_json)["provider"]["aws"]
    assert provider["default_tags"] == [
        {
            "tags": {
                "project": "mlbatch",
                "environment": "dev",
                "managed-by": "cdktf",
                "owner": "ml-platform",
                "cost-center": "ml",
            }
        }
    ]


def test_layers_are_wired_to_each_other(prod_json: str) -> None:
    churn = "mlbatch-prod-churn"
    machine = resource_named(prod_json, "aws_sfn_state_machine", name=churn)
    model = resource_named(prod_json, "aws_sagemaker_model", name=churn)
    schedule = resource_named(prod_json, "aws_scheduler_schedule", name=churn)
    definition = json.loads(machine["definition"])
    task = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]
    # sagemaker -> sfn
    assert task["ModelName"] == reference(prod_json, "aws_sagemaker_model", "name", name=churn)
    # alert topic -> sfn
    topic_arn = reference(prod_json, "aws_sns_topic", "arn")
    assert definition["States"][NOTIFY_FAILURE]["Parameters"]["TopicArn"] == topic_arn
    # storage -> sfn and sagemaker
    input_bucket = reference(
        prod_json, "aws_s3_bucket", "bucket", bucket="mlbatch-prod-input-123456789012-eu-west-1"
    )
    assert input_bucket in task["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"]
    models_bucket = reference(
        prod_json, "aws_s3_bucket", "bucket", bucket="mlbatch-prod-models-123456789012-eu-west-1"
    )
    assert (
        model["primary_container"]["model_data_url"] == f"s3://{models_bucket}/churn/model.tar.gz"
    )
    # sfn -> scheduler
    machine_arn = reference(prod_json, "aws_sfn_state_machine", "arn", name=churn)
    assert schedule["target"]["arn"] == machine_arn
    # sfn and alert topic -> alarms
    failed = resource_named(
        prod_json, "aws_cloudwatch_metric_alarm", alarm_name=f"{churn}-ExecutionsFailed"
    )
    assert failed["dimensions"] == {"StateMachineArn": machine_arn}
    assert failed["alarm_actions"] == [topic_arn]
    # the state machine may pass exactly the pipeline's SageMaker role
    sfn_role = reference(prod_json, "aws_iam_role", "id", name=f"{churn}-sfn")
    sfn_policy = policy_of(resource_named(prod_json, "aws_iam_role_policy", role=sfn_role))
    pass_role = next(
        s for s in sfn_policy["Statement"] if s["Sid"] == "PassExecutionRoleToSageMakerOnly"
    )
    assert pass_role["Resource"] == reference(
        prod_json, "aws_iam_role", "arn", name=f"{churn}-sagemaker"
    )


def test_outputs_users_need(prod_json: str) -> None:
    outputs = _doc(prod_json)["output"]
    for name in (
        "input_bucket",
        "output_bucket",
        "model_bucket",
        "alert_topic_arn",
        "kms_key_arn",
        "schedule_group",
        "churn_state_machine_arn",
        "churn_schedule_name",
        "churn_input_uri",
        "ltv_state_machine_arn",
    ):
        assert name in outputs and outputs[name]["description"]


def test_app_synthesizes_only_the_environments_asked_for(
    default_config: ProjectConfig, tmp_path: Path
) -> None:
    # Every environment and the bootstrap stack: tests/test_security.py (every stack is scanned).
    assert list(synthesize(default_config, tmp_path, ["dev"])) == [
        f"mlbatch-dev{suffix}" for suffix in ("", "-churn", "-dashboard", "-ltv")
    ]


@pytest.fixture(scope="module")
def bootstrap(full_config: ProjectConfig) -> str:
    [boot] = state_bootstraps(full_config)
    assert (boot.name, boot.region) == ("full-state-444455556666-us-west-2", "us-west-2")
    return Testing.synth(StateBootstrapStack(Testing.app(), "full", boot))


def test_bootstrap_creates_protected_encrypted_state_bucket_and_lock_table(bootstrap: str) -> None:
    doc = _doc(bootstrap)
    assert doc["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.full-state-444455556666-us-west-2.tfstate"}
    }
    [bucket] = resources(bootstrap, "aws_s3_bucket").values()
    assert bucket["bucket"] == "full-tfstate-stage"
    assert bucket["lifecycle"] == {"prevent_destroy": True} and bucket["force_destroy"] is False
    assert Testing.to_have_resource_with_properties(
        bootstrap, "aws_kms_key", {"enable_key_rotation": True}
    )
    assert Testing.to_have_resource_with_properties(
        bootstrap, "aws_s3_bucket_versioning", {"versioning_configuration": {"status": "Enabled"}}
    )
    assert Testing.to_have_resource_with_properties(
        bootstrap,
        "aws_dynamodb_table",
        {
            "name": "full-tflock",
            "hash_key": "LockID",
            "attribute": [{"name": "LockID", "type": "S"}],
            "billing_mode": "PAY_PER_REQUEST",
            "point_in_time_recovery": {"enabled": True},
            "deletion_protection_enabled": True,
        },
    )


def test_full_config_backend_uses_dynamodb_lock(full_config: ProjectConfig, synth_env: Any) -> None:
    backend = _doc(synth_env(full_config, "stage"))["terraform"]["backend"]["s3"]
    assert backend == {
        "bucket": "full-tfstate-stage",
        "key": "ml/batch/full-stage.tfstate",
        "region": "us-west-2",
        "encrypt": True,
        "kms_key_id": "arn:aws:kms:us-west-2:444455556666:alias/tfstate/full-tfstate-stage",
        "dynamodb_table": "full-tflock",
    }


def test_bootstrap_key_alias_is_the_one_the_backends_name(
    default_config: ProjectConfig, bootstrap: str, prod_json: str
) -> None:
    [alias] = resources(bootstrap, "aws_kms_alias").values()
    assert alias["name"] == "alias/tfstate/full-tfstate-stage"
    assert alias["target_key_id"].startswith("${aws_kms_key.")
    [boot] = state_bootstraps(default_config)
    state = Testing.synth(StateBootstrapStack(Testing.app(), "mlbatch", boot))
    [alias] = resources(state, "aws_kms_alias").values()
    backend = _doc(prod_json)["terraform"]["backend"]["s3"]
    assert backend["kms_key_id"].endswith(f":{alias['name']}")
    # The config pins the account of every environment using the bucket: so does the provider.
    assert _doc(state)["provider"]["aws"][0]["allowed_account_ids"] == ["123456789012"]
    assert _doc(state)["terraform"]["required_version"] == ">= 1.10.0"


def test_every_lock_table_named_for_a_shared_bucket_is_created(
    make_config: Any,
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        shared = {"backend": "s3", "bucket": "shared-tfstate", "lock": "dynamodb"}
        raw["environments"]["prod"]["state"] = {**shared, "dynamodb_table": "prod-lock"}
        raw["environments"]["stage"] = {
            "account_id": "123456789012",
            "state": {**shared, "dynamodb_table": "stage-lock"},
        }

    config = make_config(edit)
    [boot] = state_bootstraps(config)
    [store] = boot.stores
    assert store.lock_tables == ("prod-lock", "stage-lock")
    state = Testing.synth(StateBootstrapStack(Testing.app(), "mlbatch", boot))
    assert sorted(t["name"] for t in resources(state, "aws_dynamodb_table").values()) == [
        "prod-lock",
        "stage-lock",
    ]
    assert _doc(state)["provider"]["aws"][0]["allowed_account_ids"] == ["123456789012"]


# The name attribute of each named resource type the stacks create.
_NAMED = {
    "aws_iam_role": "name",
    "aws_iam_role_policy": "name",
    "aws_sqs_queue": "name",
    "aws_cloudwatch_event_rule": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_dashboard": "dashboard_name",
    "aws_scheduler_schedule": "name",
    "aws_scheduler_schedule_group": "name",
    "aws_sns_topic": "name",
    "aws_kms_alias": "name",
    "aws_sfn_state_machine": "name",
    "aws_sagemaker_model": "name",
    "aws_s3_bucket": "bucket",
    "aws_dynamodb_table": "name",
}
# Where the config pins no account, bucket names carry the stack's caller identity (a Terraform
# reference; the config measures it as 12 digits, which every account id is).
_CALLER_ACCOUNT = "${data.aws_caller_identity.current.account_id}"


def test_every_resource_name_is_one_names_checks_against_its_limit(
    stacks: dict[str, dict[str, Any]], default_config: ProjectConfig, full_config: ProjectConfig
) -> None:
    checked: set[str] = set()
    for config in (default_config, full_config):
        for env in config.environments.values():
            names = Names(config.project, env.name)
            checked |= {
                limit.name for limit in names.limits(env.account_id or _CALLER_ACCOUNT, env.region)
            }
            for pipeline in env.pipelines:
                checked |= {limit.name for limit in names.of_pipeline(pipeline.name).limits()}
        checked |= {Names.state_key_alias(state.bucket) for _, state in config.s3_states}
        # The bootstrap stack's state buckets and lock tables are named in the config, whose
        # fields check them (modules/config/state.py).
        checked |= {state.bucket for _, state in config.s3_states}
        checked |= {state.dynamodb_table for _, state in config.s3_states if state.dynamodb_table}
    found = {
        (label, resource[attribute])
        for label, stack in stacks.items()
        for resource_type, attribute in _NAMED.items()
        for resource in stack.get("resource", {}).get(resource_type, {}).values()
    }
    assert {
        resource_type
        for resource_type in _NAMED
        if any(stack.get("resource", {}).get(resource_type) for stack in stacks.values())
    } == set(_NAMED), "a named resource type no stack creates"
    assert {(label, name) for label, name in found if name not in checked} == set()


def test_dashboards_link_exactly_the_alarms_created(stacks: dict[str, dict[str, Any]]) -> None:
    """The dashboard lives in a stack of its own and links alarms by name, not by reference."""
    linked: set[tuple[str, str]] = set()
    created: set[tuple[str, str]] = set()
    for label, stack in stacks.items():
        config = label.split("/")[0]
        for dashboard in stack.get("resource", {}).get("aws_cloudwatch_dashboard", {}).values():
            for widget in json.loads(dashboard["dashboard_body"])["widgets"]:
                for arn in widget["properties"].get("alarms", []):
                    linked.add((config, arn.rpartition(":alarm:")[2]))
        for alarm in stack.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values():
            created.add((config, alarm["alarm_name"]))
    assert created
    assert linked == created


def test_backfill_commands_in_outputs_run_in_a_shell(stacks: dict[str, dict[str, Any]]) -> None:
    """The state machine output's description is a command to paste: its --input must reach the
    CLI as the JSON it shows, whatever the prefix holds (the all-features one has an apostrophe)."""
    prefixes = []
    for document in stacks.values():
        for name, output in document.get("output", {}).items():
            if name.endswith("_state_machine_arn"):
                words = shlex.split(output["description"].split(": ", 1)[1])
                run_input = json.loads(words[words.index("--input") + 1])
                assert run_input["trigger"] == "manual", name
                prefixes.append(run_input["input_prefix"])
    assert prefixes and all(prefix.endswith("/<folder>/") for prefix in prefixes)
    assert any("'" in prefix for prefix in prefixes)
