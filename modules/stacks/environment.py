"""The stacks of one environment, in either layout, composing the layers.

Layout ``per-pipeline``: ``BaseStack`` (storage, alert topic, schedule group, the Glue database of
predictions tables: what the pipelines share), one ``PipelineStack`` per pipeline (sagemaker, sfn,
scheduler, alarms, reading the base stack's outputs through one ``local.base``) and
``DashboardStack``. Layout ``single``: ``EnvironmentStack``, the same parts at the same construct
paths in one stack. ``build_environment`` builds the stacks the config's layout chooses.

Needs: the project name and the environment config. Each stack gets its provider and backend
(``modules.stacks.provider``) and exports its outputs (``modules.stacks.outputs``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.core import TerraformLocal, TerraformStack
from modules.alerting import AlertTopic, PipelineAlarms
from modules.aws_context import AwsContext
from modules.catalog import CatalogDatabase, PredictionsTableLayer
from modules.config import EnvironmentConfig, PipelineConfig
from modules.dashboard import DashboardPipeline, EnvironmentDashboard
from modules.event_schema import ReadyEventSchema
from modules.naming import DATA_BUCKETS, LOGS_BUCKET, Names
from modules.operator_policy import OperatorPolicy
from modules.predictions_table import PredictionsTable, uses_default_database
from modules.sagemaker import SagemakerModelLayer, SagemakerOutputs
from modules.scheduler import PipelineSchedule, ScheduleGroup, ScheduleOutputs
from modules.sfn import StateMachineLayer, StateMachineOutputs
from modules.shard_layout import shards_prefix
from modules.stack_names import (
    dashboard_stack_name,
    pipeline_scope,
    pipeline_stack_name,
    stack_name,
)
from modules.stacks.outputs import export, manual_input, pipeline_key
from modules.stacks.provider import configure_stack
from modules.storage import BucketRef, Storage, StorageOutputs
from modules.workflow.delivery_event import ready_events


@dataclass(frozen=True)
class SharedOutputs:
    """What the pipelines of an environment share (from the base stack, or the single stack)."""

    storage: StorageOutputs
    alert_topic_arn: str
    alert_key_arn: str
    schedule_group_name: str
    # The environment's Glue database, when a pipeline's predictions table is in it.
    catalog_database: str | None = None


def _shared_resources(
    stack: TerraformStack, env: EnvironmentConfig, names: Names, aws: AwsContext
) -> SharedOutputs:
    """Key, buckets, alert topic and schedule group, with their outputs. Nothing here names a
    pipeline's resources: the key and topic policies match them by name prefix, so this part
    does not change when pipelines come and go."""
    storage = Storage(
        stack,
        "storage",
        settings=env.storage,
        allow_destroy=env.allow_destroy,
        key_deletion_window_days=env.kms_deletion_window_days,
        names=names,
        aws=aws,
    ).outputs
    alerts = AlertTopic(
        stack,
        "alerts",
        names=names,
        aws=aws,
        subscriptions=list(env.alerting.subscriptions),
        allow_destroy=env.allow_destroy,
        key_deletion_window_days=env.kms_deletion_window_days,
    ).outputs
    group = ScheduleGroup(stack, "schedule-group", names=names)
    operator = OperatorPolicy(
        stack,
        "operator",
        names=names,
        aws=aws,
        key_arn=storage.key_arn,
        output_bucket=storage.output,
        input_bucket=storage.input,
        delivery_input_prefixes=[p.default_input_prefix for p in env.pipelines if p.delivery],
        shards_prefixes=[
            shards_prefix(p.run_output_prefix) for p in env.pipelines if p.transform.shards
        ],
    ).outputs
    export(stack, "kms_key_arn", storage.key_arn)
    export(stack, "input_bucket", storage.input.name)
    export(stack, "output_bucket", storage.output.name)
    export(stack, "model_bucket", storage.models.name)
    export(stack, "alert_topic_arn", alerts.topic_arn)
    export(stack, "schedule_group", group.name)
    export(stack, "operator_policy_arn", operator.arn)
    if any(pipeline.delivery is not None for pipeline in env.pipelines):
        schema = ReadyEventSchema(stack, "ready-event-schema", names=names).outputs
        export(stack, "ready_event_schema", json.dumps(schema.__dict__))
    database = None
    if uses_default_database(env.pipelines):
        database = CatalogDatabase(stack, "catalog", names=names).name
    return SharedOutputs(
        storage=storage,
        alert_topic_arn=alerts.topic_arn,
        alert_key_arn=alerts.key_arn,
        schedule_group_name=group.name,
        catalog_database=database,
    )


def _pipeline_resources(
    stack: TerraformStack,
    env: EnvironmentConfig,
    pipeline: PipelineConfig,
    names: Names,
    aws: AwsContext,
    shared: SharedOutputs,
) -> None:
    """One pipeline's layers and outputs. The construct path (``pipeline-<name>/...``) is the same
    in both layouts, so resource addresses are too: moving state between layouts is a move of
    identical addresses."""
    storage = shared.storage
    scope = Construct(stack, pipeline_scope(pipeline.name))
    sagemaker = SagemakerModelLayer(
        scope, "sagemaker", pipeline=pipeline, names=names, aws=aws, storage=storage
    ).outputs
    state_machine = StateMachineLayer(
        scope,
        "sfn",
        environment=env.name,
        log_retention_days=env.log_retention_days,
        pipeline=pipeline,
        names=names,
        aws=aws,
        storage=storage,
        sagemaker=sagemaker,
        alert_topic_arn=shared.alert_topic_arn,
        alert_key_arn=shared.alert_key_arn,
    ).outputs
    schedule = PipelineSchedule(
        scope,
        "scheduler",
        pipeline=pipeline,
        names=names,
        aws=aws,
        group_name=shared.schedule_group_name,
        kms_key_arn=storage.key_arn,
        state_machine=state_machine,
        input_bucket_name=storage.input.name,
    ).outputs
    PipelineAlarms(
        scope,
        "alarms",
        pipeline=pipeline,
        names=names,
        aws=aws,
        topic_arn=shared.alert_topic_arn,
        alert_key_arn=shared.alert_key_arn,
        state_machine=state_machine,
        schedule=schedule,
    )
    _pipeline_outputs(stack, pipeline, storage, sagemaker, state_machine, schedule)
    if pipeline.delivery is not None:
        key = {"key": pipeline_key(pipeline.name), "pipeline": pipeline.name}
        export(stack, "{key}_ready_events", json.dumps(ready_events(pipeline, aws, names)), **key)
    table = PredictionsTable.of(pipeline, names)
    if table is not None:
        _predictions_table(stack, scope, pipeline, table, shared)


def _predictions_table(
    stack: TerraformStack,
    scope: Construct,
    pipeline: PipelineConfig,
    table: PredictionsTable,
    shared: SharedOutputs,
) -> None:
    """The pipeline's predictions table, in the environment's database (a reference, so that the
    database is created first) or the configured one."""
    database = shared.catalog_database if table.in_environment_database else table.database
    assert database is not None
    PredictionsTableLayer(
        scope,
        "table",
        table=table,
        database_name=database,
        output_bucket_name=shared.storage.output.name,
        output_prefix=pipeline.run_output_prefix,
    )
    value = {"database": table.database, "table": table.name}
    key = {"key": pipeline_key(pipeline.name), "pipeline": pipeline.name}
    export(stack, "{key}_predictions_table", json.dumps(value), **key)


def _pipeline_outputs(
    stack: TerraformStack,
    pipeline: PipelineConfig,
    storage: StorageOutputs,
    sagemaker: SagemakerOutputs,
    state_machine: StateMachineOutputs,
    schedule: ScheduleOutputs,
) -> None:
    fields = {"key": pipeline_key(pipeline.name), "pipeline": pipeline.name}
    input_prefix = pipeline.default_input_prefix
    export(
        stack,
        "{key}_state_machine_arn",
        state_machine.arn,
        manual_input=manual_input(input_prefix),
        **fields,
    )
    export(stack, "{key}_schedule_name", schedule.schedule_name, **fields)
    if sagemaker.model_name is not None:
        export(stack, "{key}_model_name", sagemaker.model_name, **fields)
    export(stack, "{key}_dlq_url", schedule.dlq_url, **fields)
    export(stack, "{key}_input_uri", f"s3://{storage.input.name}/{input_prefix}", **fields)


def _dashboard(
    stack: TerraformStack, env: EnvironmentConfig, names: Names, aws: AwsContext
) -> None:
    dashboard = EnvironmentDashboard(
        stack,
        "dashboard",
        names=names,
        aws=aws,
        pipelines=[DashboardPipeline.of(p, names, aws) for p in env.pipelines],
    )
    export(stack, "dashboard_name", dashboard.dashboard_names[0])


def _imported(stack: TerraformStack, shared: SharedOutputs) -> SharedOutputs:
    """The base stack's outputs as seen from a pipeline stack: all of them pass through one local
    (``local.base``), so every pipeline stack reads the same complete set of base outputs. The
    base stack's outputs then never depend on which of them a pipeline happens to use, and adding
    or changing a pipeline cannot change the base stack."""
    storage = shared.storage
    values = {
        "kms_key_arn": storage.key_arn,
        "kms_key_alias": storage.key_alias,
        "alert_topic_arn": shared.alert_topic_arn,
        "alert_key_arn": shared.alert_key_arn,
        "schedule_group": shared.schedule_group_name,
    }
    for purpose in (*DATA_BUCKETS, LOGS_BUCKET):
        bucket: BucketRef = getattr(storage, purpose)
        values[f"{purpose}_bucket"] = bucket.name
        values[f"{purpose}_bucket_arn"] = bucket.arn
    if shared.catalog_database is not None:
        values["catalog_database"] = shared.catalog_database
    TerraformLocal(stack, "base", values)

    def ref(key: str) -> str:
        return f"${{local.base.{key}}}"

    def bucket_ref(purpose: str) -> BucketRef:
        return BucketRef(ref(f"{purpose}_bucket"), ref(f"{purpose}_bucket_arn"))

    return SharedOutputs(
        storage=StorageOutputs(
            key_arn=ref("kms_key_arn"),
            key_alias=ref("kms_key_alias"),
            input=bucket_ref("input"),
            output=bucket_ref("output"),
            models=bucket_ref("models"),
            logs=bucket_ref("logs"),
        ),
        alert_topic_arn=ref("alert_topic_arn"),
        alert_key_arn=ref("alert_key_arn"),
        schedule_group_name=ref("schedule_group"),
        catalog_database=None if shared.catalog_database is None else ref("catalog_database"),
    )


class _EnvironmentStack(TerraformStack):
    """A stack of ``env``: its own provider, backend (state named after the stack), ``names``
    and ``aws``, whichever layout it belongs to."""

    def __init__(self, scope: Construct, name: str, project: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, name)
        self.names = Names(project, env.name)
        self.aws = configure_stack(self, name, project, env)


class EnvironmentStack(_EnvironmentStack):
    """``layout: single``: the whole environment in one stack (one state)."""

    def __init__(self, scope: Construct, project: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(project, env.name), project, env)
        names, aws = self.names, self.aws
        shared = _shared_resources(self, env, names, aws)
        for pipeline in env.pipelines:
            _pipeline_resources(self, env, pipeline, names, aws, shared)
        if env.pipelines:
            _dashboard(self, env, names, aws)


class BaseStack(_EnvironmentStack):
    """``layout: per-pipeline``: what the pipelines of an environment share (``shared``). Its
    size does not depend on the number of pipelines."""

    def __init__(self, scope: Construct, project: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(project, env.name), project, env)
        self.shared = _shared_resources(self, env, self.names, self.aws)


class PipelineStack(_EnvironmentStack):
    """``layout: per-pipeline``: one pipeline's resources. What it uses of the base stack (key,
    buckets, topic, group) are cdktf cross-stack references: outputs of the base stack, read here
    through a ``terraform_remote_state`` data source on the base stack's backend."""

    def __init__(
        self,
        scope: Construct,
        project: str,
        env: EnvironmentConfig,
        pipeline: PipelineConfig,
        base: BaseStack,
    ) -> None:
        super().__init__(scope, pipeline_stack_name(project, env.name, pipeline.name), project, env)
        self.add_dependency(base)
        _pipeline_resources(self, env, pipeline, self.names, self.aws, _imported(self, base.shared))


class DashboardStack(_EnvironmentStack):
    """``layout: per-pipeline``: the environment's dashboard(s). Built from names alone (no state
    of another stack is read); it depends on the pipeline stacks only so that ``cdktf deploy``
    runs it after them. Adding or removing a pipeline changes this stack and that pipeline's."""

    def __init__(
        self,
        scope: Construct,
        project: str,
        env: EnvironmentConfig,
        pipelines: list[PipelineStack],
    ) -> None:
        super().__init__(scope, dashboard_stack_name(project, env.name), project, env)
        for pipeline in pipelines:
            self.add_dependency(pipeline)
        _dashboard(self, env, self.names, self.aws)


def build_environment(
    scope: Construct, project: str, env: EnvironmentConfig
) -> list[TerraformStack]:
    """The stacks of one environment, in the layout its config chooses."""
    if env.layout == "single":
        return [EnvironmentStack(scope, project, env)]
    base = BaseStack(scope, project, env)
    pipelines = [PipelineStack(scope, project, env, p, base) for p in env.pipelines]
    if not pipelines:  # every pipeline disabled here: the shared resources (and data) stay
        return [base]
    return [base, *pipelines, DashboardStack(scope, project, env, pipelines)]
