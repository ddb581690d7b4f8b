"""Stacks of an environment, plus the bootstrap stack that holds remote Terraform state.

Layout ``per-pipeline`` (the default), one Terraform state each:

    BaseStack      <project>-<env>             storage ──> alert topic, schedule group
    PipelineStack  <project>-<env>-<pipeline>  sagemaker ──> sfn ──> scheduler ──> alarms
                                               (base outputs via terraform_remote_state)
    DashboardStack <project>-<env>-dashboard   dashboard(s), from names only

Layout ``single``: ``EnvironmentStack`` composes the same parts in one stack. Both layouts build
the same construct paths, so the same resource addresses.

Every stack gets the AWS provider (region, allowed account, default tags on everything) and its
own backend from ``configure_backend`` (local file, or S3 with encryption, locking and one key per
stack), and exports what users need as outputs.

``StateBootstrapStack`` creates the S3 state buckets, their KMS keys (with the alias every S3
backend names in ``kms_key_id``, so state, lock file and digest are encrypted with it rather than
SSE-S3) and every DynamoDB lock table the environments name. There is one per account (and per
region of an account), its provider pinned to that account (``state_bootstraps``); it keeps local
state and is deployed first.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from cdktf import App, LocalBackend, S3Backend, TerraformLocal, TerraformOutput, TerraformStack
from constructs import Construct

from imports.aws import (
    AwsProvider,
    AwsProviderDefaultTags,
    DataAwsCallerIdentity,
    DynamodbTable,
    DynamodbTableAttribute,
    KmsAlias,
    KmsKey,
)
from modules.alerting import AlertTopic, DashboardPipeline, EnvironmentDashboard, PipelineAlarms
from modules.aws_context import AwsContext
from modules.config import (
    EnvironmentConfig,
    LocalState,
    PipelineConfig,
    ProjectConfig,
    S3State,
    partition_of,
)
from modules.iam import key_admin_statement, policy_document
from modules.naming import DATA_BUCKETS, LOGS_BUCKET, Names
from modules.sagemaker import SagemakerModelLayer
from modules.scheduler import PipelineSchedule, ScheduleGroup
from modules.sfn import StateMachineLayer
from modules.stack_names import (
    bootstrap_stack_name,
    dashboard_stack_name,
    pipeline_stack_name,
    stack_name,
)
from modules.storage import (
    BucketRef,
    SecureBucket,
    Storage,
    StorageOutputs,
    lifecycle_rule,
    protect,
)

MANAGED_BY = "cdktf"
STATE_NONCURRENT_VERSION_DAYS = 90
# S3 native state locking (backend use_lockfile) needs Terraform 1.10.
REQUIRED_TERRAFORM = ">= 1.10.0"


def _require_terraform(scope: TerraformStack) -> None:
    scope.add_override("terraform.required_version", REQUIRED_TERRAFORM)


def _local_backend(scope: TerraformStack, name: str, state: LocalState) -> None:
    # Relative to cdktf.out/stacks/<stack>/: the state file lives in the project directory, so
    # wiping cdktf.out/ never loses it, and the synthesized JSON has no machine-specific path.
    LocalBackend(
        scope, path=(state.path or "../../../terraform.{stack}.tfstate").format(stack=name)
    )


def configure_backend(stack: TerraformStack, name: str, env: EnvironmentConfig) -> None:
    """The backend of every stack of an environment: one state (file or S3 key) per stack."""
    state = env.state
    _require_terraform(stack)
    if isinstance(state, LocalState):
        _local_backend(stack, name, state)
        return
    region = state.region or env.region
    alias = Names.state_key_alias(state.bucket)
    # Without kms_key_id, encrypt = true sends SSE-S3 headers that override the bucket's KMS
    # default: the bootstrap key would never be used. An alias ARN pins the key's account.
    kms_key_id = (
        AwsContext(env.account_id, region, partition_of(region)).arn("kms", alias)
        if env.account_id
        else alias
    )
    S3Backend(
        stack,
        bucket=state.bucket,
        key=Names.state_key(state.key_prefix, name),
        region=region,
        encrypt=True,
        kms_key_id=kms_key_id,
        dynamodb_table=state.dynamodb_table,
    )
    if state.lock == "lockfile":
        # cdktf 0.21's S3Backend has no use_lockfile argument (S3 native locking, TF >= 1.10).
        stack.add_override("terraform.backend.s3.use_lockfile", True)


def _configure_stack(
    stack: TerraformStack, name: str, project: str, env: EnvironmentConfig
) -> AwsContext:
    """Provider (region, allowed account, default tags) and backend of a stack of ``env``; the
    account comes from config or, when not pinned, from the stack's own caller identity (no
    cross-stack reference needed for it)."""
    AwsProvider(
        stack,
        "aws",
        region=env.region,
        allowed_account_ids=[env.account_id] if env.account_id else None,
        default_tags=[
            AwsProviderDefaultTags(
                tags={
                    "project": project,
                    "environment": env.name,
                    "managed-by": MANAGED_BY,
                    **env.tags,
                }
            )
        ],
    )
    configure_backend(stack, name, env)
    account_id = env.account_id or DataAwsCallerIdentity(stack, "current").account_id
    return AwsContext(account_id=account_id, region=env.region, partition=env.partition)


def _output(scope: Construct, name: str, value: str, description: str) -> None:
    TerraformOutput(scope, name, value=value, description=description)


@dataclass(frozen=True)
class SharedOutputs:
    """What the pipelines of an environment share (from the base stack, or the single stack)."""

    storage: StorageOutputs
    alert_topic_arn: str
    schedule_group_name: str


def _shared_resources(
    stack: TerraformStack, env: EnvironmentConfig, names: Names, aws: AwsContext
) -> SharedOutputs:
    """Key, buckets, alert topic and schedule group, with their outputs. Nothing here names a
    pipeline's resources: the key and topic policies match them by name prefix, so this part
    does not change when pipelines come and go."""
    storage = Storage(stack, "storage", env=env, names=names, aws=aws).outputs
    alerts = AlertTopic(
        stack,
        "alerts",
        names=names,
        aws=aws,
        kms_key_arn=storage.key_arn,
        subscriptions=list(env.alerting.subscriptions),
    ).outputs
    group = ScheduleGroup(stack, "schedule-group", names=names)
    _output(
        stack,
        "kms_key_arn",
        storage.key_arn,
        "KMS key of the environment's data, logs, alerts and queues; uploads use it "
        "automatically (bucket default encryption)",
    )
    _output(
        stack,
        "input_bucket",
        storage.input.name,
        "Put run input under <pipeline>/ (e.g. aws s3 cp data.csv s3://<this>/churn/2026-11-26/)",
    )
    _output(
        stack,
        "output_bucket",
        storage.output.name,
        "Predictions land in <pipeline>/<run id>/, with _manifest.json when the run succeeded",
    )
    _output(
        stack,
        "model_bucket",
        storage.models.name,
        "Upload model.tar.gz to the pipeline's artifact_key here before the first run",
    )
    _output(
        stack,
        "alert_topic_arn",
        alerts.topic_arn,
        "SNS topic of failures and alarms; add subscribers in config, or aws sns subscribe",
    )
    _output(
        stack,
        "schedule_group",
        group.name,
        "EventBridge Scheduler group of the schedules (aws scheduler list-schedules "
        "--group-name <this>)",
    )
    return SharedOutputs(
        storage=storage, alert_topic_arn=alerts.topic_arn, schedule_group_name=group.name
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
    pipeline_scope = Construct(stack, f"pipeline-{pipeline.name}")
    sagemaker = SagemakerModelLayer(
        pipeline_scope, "sagemaker", pipeline=pipeline, names=names, aws=aws, storage=storage
    ).outputs
    state_machine = StateMachineLayer(
        pipeline_scope,
        "sfn",
        env=env,
        pipeline=pipeline,
        names=names,
        aws=aws,
        storage=storage,
        sagemaker=sagemaker,
        alert_topic_arn=shared.alert_topic_arn,
    ).outputs
    schedule = PipelineSchedule(
        pipeline_scope,
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
        pipeline_scope,
        "alarms",
        pipeline=pipeline,
        names=names,
        aws=aws,
        topic_arn=shared.alert_topic_arn,
        state_machine=state_machine,
        schedule=schedule,
    )

    key = pipeline.name.replace("-", "_")
    input_prefix = pipeline.default_input_prefix
    _output(
        stack,
        f"{key}_state_machine_arn",
        state_machine.arn,
        f"Backfill or ad-hoc {pipeline.name} run: aws stepfunctions start-execution "
        f"--state-machine-arn <this> --name <run id> --input "
        # Quoted for the shell: a prefix may hold an apostrophe.
        + shlex.quote(
            json.dumps({"trigger": "manual", "input_prefix": f"{input_prefix}<folder>/"})
        ),
    )
    _output(
        stack,
        f"{key}_schedule_name",
        schedule.schedule_name,
        f"Schedule of {pipeline.name} (pause: set schedule.enabled false in config)",
    )
    if sagemaker.model_name is not None:
        _output(
            stack,
            f"{key}_model_name",
            sagemaker.model_name,
            f"SageMaker model {pipeline.name} runs",
        )
    _output(
        stack,
        f"{key}_dlq_url",
        schedule.dlq_url,
        f"Starts of {pipeline.name} that could not be delivered (aws sqs receive-message "
        "--queue-url <this>); each message is the run input to replay",
    )
    _output(
        stack,
        f"{key}_input_uri",
        f"s3://{storage.input.name}/{input_prefix}",
        f"Default input location of {pipeline.name}",
    )


def _dashboard(
    stack: TerraformStack, env: EnvironmentConfig, names: Names, aws: AwsContext
) -> None:
    dashboard = EnvironmentDashboard(
        stack,
        "dashboard",
        names=names,
        region=env.region,
        pipelines=[DashboardPipeline.of(p, names, aws) for p in env.pipelines],
    )
    _output(
        stack,
        "dashboard_name",
        dashboard.dashboard_names[0],
        "CloudWatch dashboard: runs, duration, transform utilisation, dead letters, alarms",
    )


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
        "schedule_group": shared.schedule_group_name,
    }
    for purpose in (*DATA_BUCKETS, LOGS_BUCKET):
        bucket: BucketRef = getattr(storage, purpose)
        values[f"{purpose}_bucket"] = bucket.name
        values[f"{purpose}_bucket_arn"] = bucket.arn
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
        schedule_group_name=ref("schedule_group"),
    )


class _EnvironmentStack(TerraformStack):
    """A stack of ``env``: its own provider, backend (state named after the stack), ``names``
    and ``aws``, whichever layout it belongs to."""

    def __init__(self, scope: Construct, name: str, project: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, name)
        self.names = Names(project, env.name)
        self.aws = _configure_stack(self, name, project, env)


class EnvironmentStack(_EnvironmentStack):
    """``layout: single``: the whole environment in one stack (one state)."""

    def __init__(self, scope: Construct, project: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(project, env.name), project, env)
        names, aws = self.names, self.aws
        shared = _shared_resources(self, env, names, aws)
        for pipeline in env.pipelines:
            _pipeline_resources(self, env, pipeline, names, aws, shared)
        _dashboard(self, env, names, aws)


class BaseStack(_EnvironmentStack):
    """``layout: per-pipeline``: what the pipelines of an environment share. Its size does not
    depend on the number of pipelines."""

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
    return [base, *pipelines, DashboardStack(scope, project, env, pipelines)]


class StateBootstrapStack(TerraformStack):
    """The S3 buckets (and DynamoDB tables) of one account and region that hold the other stacks'
    state, created by a provider pinned to that account (``account_id``; None for the buckets of
    environments that pin no account, which then get a bootstrap of their own)."""

    def __init__(
        self,
        scope: Construct,
        name: str,
        project: str,
        region: str,
        stores: list[StateStore],
        account_id: str | None,
    ) -> None:
        super().__init__(scope, name)
        _require_terraform(self)
        _local_backend(self, name, LocalState(backend="local"))
        AwsProvider(
            self,
            "aws",
            region=region,
            allowed_account_ids=[account_id] if account_id else None,
            default_tags=[
                AwsProviderDefaultTags(
                    tags={
                        "project": project,
                        "managed-by": MANAGED_BY,
                        "purpose": "terraform-state",
                    }
                )
            ],
        )
        account_id = DataAwsCallerIdentity(self, "current").account_id
        for store in stores:
            self._state_store(store, account_id, partition_of(region))

    def _state_store(self, store: StateStore, account_id: str, partition: str) -> None:
        scope = Construct(self, f"state-{store.bucket}")
        key = KmsKey(
            scope,
            "key",
            description=f"Encrypts Terraform state in {store.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(key_admin_statement(partition, account_id)),
            lifecycle=protect(False),
        )
        KmsAlias(
            scope, "key-alias", name=Names.state_key_alias(store.bucket), target_key_id=key.key_id
        )
        secure = SecureBucket(
            scope,
            "bucket",
            name=store.bucket,
            kms_key_arn=key.arn,
            allow_destroy=False,
            lifecycle_rules=[
                lifecycle_rule(
                    "expire-noncurrent-state-versions",
                    noncurrent_days=STATE_NONCURRENT_VERSION_DAYS,
                ),
                lifecycle_rule("abort-incomplete-multipart-uploads", abort_multipart_days=1),
            ],
        )
        TerraformOutput(
            self,
            f"{store.bucket.replace('.', '_').replace('-', '_')}_bucket",
            value=secure.bucket.bucket,
            description="State bucket named by the environments' S3 backends",
        )
        for table in store.lock_tables:
            # Environments sharing the bucket may each name their own table: create every one.
            DynamodbTable(
                scope,
                "lock-table" if table == store.lock_tables[0] else f"lock-table-{table}",
                name=table,
                billing_mode="PAY_PER_REQUEST",
                hash_key="LockID",
                attribute=[DynamodbTableAttribute(name="LockID", type="S")],
                server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
                point_in_time_recovery={"enabled": True},
                deletion_protection_enabled=True,
                lifecycle=protect(False),
            )


@dataclass(frozen=True)
class StateStore:
    """One state bucket, as all the environments that use it need it."""

    bucket: str
    lock_tables: tuple[str, ...]  # every DynamoDB table an environment names for this bucket


@dataclass(frozen=True)
class Bootstrap:
    """The state buckets of one account (None: environments without account_id) and region."""

    name: str
    account_id: str | None
    region: str
    stores: list[StateStore]


def state_bootstraps(config: ProjectConfig) -> list[Bootstrap]:
    """Each distinct S3 state bucket of the config, grouped by the account and region it lives
    in (the config refuses one bucket in two regions or accounts): one bootstrap stack each,
    named ``<project>-state`` when there is only one (bootstrap_stack_name)."""
    users: dict[tuple[str, str | None, str], list[S3State]] = {}
    for env, state in config.s3_states:
        key = (state.region or env.region, env.account_id, state.bucket)
        users.setdefault(key, []).append(state)
    groups: dict[tuple[str | None, str], list[StateStore]] = {}
    for (region, account, bucket), states in sorted(users.items(), key=lambda i: str(i[0])):
        tables = sorted({s.dynamodb_table for s in states if s.dynamodb_table})
        groups.setdefault((account, region), []).append(StateStore(bucket, tuple(tables)))
    accounts = {account for account, _ in groups}
    bootstraps = []
    for (account, region), stores in groups.items():
        regions_of_account = {r for a, r in groups if a == account}
        name = bootstrap_stack_name(
            config.project,
            region if len(regions_of_account) > 1 else None,
            (account or "unpinned") if len(accounts) > 1 else None,
        )
        bootstraps.append(Bootstrap(name, account, region, stores))
    return bootstraps


def build_app(
    config: ProjectConfig,
    outdir: str | Path | None = None,
    environments: list[str] | None = None,
) -> App:
    """Build the named environments' stacks (default: all, plus the state bootstrap stacks).

    Without ``outdir`` the App uses cdktf's own choice (``$CDKTF_OUTDIR`` from the CLI, else
    ``cdktf.out``).
    """
    app = App(outdir=str(outdir)) if outdir is not None else App()
    for name, env in config.environments.items():
        if environments is None or name in environments:
            build_environment(app, config.project, env)
    if environments is None:
        for bootstrap in state_bootstraps(config):
            StateBootstrapStack(
                app,
                bootstrap.name,
                config.project,
                bootstrap.region,
                bootstrap.stores,
                bootstrap.account_id,
            )
    return app
