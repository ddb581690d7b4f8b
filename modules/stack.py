"""Stacks: one per environment, plus the bootstrap stack that holds remote Terraform state.

``EnvironmentStack`` composes the layers in data-flow order:

    storage ──> alert topic ──> per pipeline: sagemaker ──> sfn ──> scheduler ──> alarms
                                                                       └──> dashboard

It configures the AWS provider (region, allowed account, default tags on everything) and the
backend (local file, or S3 with encryption, locking and one key per stack), and exports what users
need as outputs.

``StateBootstrapStack`` creates the S3 state buckets (and DynamoDB lock tables) that the
environments' S3 backends name. It keeps local state and is deployed first.
"""

from __future__ import annotations

from pathlib import Path

from cdktf import App, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from constructs import Construct

from imports.aws import (
    AwsProvider,
    AwsProviderDefaultTags,
    DataAwsCallerIdentity,
    DynamodbTable,
    DynamodbTableAttribute,
    KmsKey,
)
from modules.alerting import AlertTopic, DashboardPipeline, EnvironmentDashboard, PipelineAlarms
from modules.config import EnvironmentConfig, LocalState, ProjectConfig, S3State, partition_of
from modules.context import AwsContext, Names, policy_document
from modules.sagemaker import SagemakerModelLayer
from modules.scheduler import PipelineSchedule, ScheduleGroup
from modules.sfn import StateMachineLayer
from modules.storage import (
    KEY_ACCOUNT_ACTIONS,
    SecureBucket,
    Storage,
    StorageOutputs,
    lifecycle_rule,
    protect,
)

MANAGED_BY = "cdktf"
STATE_NONCURRENT_VERSION_DAYS = 90


def stack_name(project: str, environment: str) -> str:
    return f"{project}-{environment}"


def bootstrap_stack_name(project: str) -> str:
    return f"{project}-state"


def _local_backend(scope: TerraformStack, name: str, state: LocalState) -> None:
    # Relative to cdktf.out/stacks/<stack>/: the state file lives in the project directory, so
    # wiping cdktf.out/ never loses it, and the synthesized JSON has no machine-specific path.
    LocalBackend(scope, path=state.path or f"../../../terraform.{name}.tfstate")


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, project: str, env: EnvironmentConfig) -> None:
        name = stack_name(project, env.name)
        super().__init__(scope, name)
        names = Names(project, env.name)

        AwsProvider(
            self,
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
        if isinstance(env.state, S3State):
            self._s3_backend(name, env.state, env.region)
        else:
            _local_backend(self, name, env.state)

        account_id = env.account_id or DataAwsCallerIdentity(self, "current").account_id
        aws = AwsContext(account_id=account_id, region=env.region, partition=env.partition)

        storage = Storage(self, "storage", env=env, names=names, aws=aws).outputs
        alerts = AlertTopic(
            self,
            "alerts",
            names=names,
            aws=aws,
            kms_key_arn=storage.key_arn,
            subscriptions=list(env.alerting.subscriptions),
        ).outputs
        group = ScheduleGroup(self, "schedule-group", names=names)

        self._output(
            "kms_key_arn",
            storage.key_arn,
            "KMS key of the environment's data, logs, alerts and queues; uploads use it "
            "automatically (bucket default encryption)",
        )
        self._output(
            "input_bucket",
            storage.input.name,
            "Put run input under <pipeline>/ (e.g. aws s3 cp data.csv s3://<this>/churn/2026-11-26/)",
        )
        self._output(
            "output_bucket",
            storage.output.name,
            "Predictions land in <pipeline>/<run id>/, with _manifest.json when the run succeeded",
        )
        self._output(
            "model_bucket",
            storage.models.name,
            "Upload model.tar.gz to the pipeline's artifact_key here before the first run",
        )
        self._output(
            "alert_topic_arn",
            alerts.topic_arn,
            "SNS topic of failures and alarms; add subscribers in config, or aws sns subscribe",
        )
        self._output(
            "schedule_group",
            group.name,
            "EventBridge Scheduler group of the schedules (aws scheduler list-schedules "
            "--group-name <this>)",
        )

        dashboard_rows: list[DashboardPipeline] = []
        for pipeline in env.pipelines:
            scope_id = f"pipeline-{pipeline.name}"
            pipeline_scope = Construct(self, scope_id)
            sagemaker = SagemakerModelLayer(
                pipeline_scope,
                "sagemaker",
                pipeline=pipeline,
                names=names,
                aws=aws,
                storage=storage,
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
                alert_topic_arn=alerts.topic_arn,
            ).outputs
            schedule = PipelineSchedule(
                pipeline_scope,
                "scheduler",
                pipeline=pipeline,
                names=names,
                aws=aws,
                group_name=group.name,
                kms_key_arn=storage.key_arn,
                state_machine=state_machine,
                input_bucket_name=storage.input.name,
            ).outputs
            alarms = PipelineAlarms(
                pipeline_scope,
                "alarms",
                pipeline=pipeline,
                names=names,
                aws=aws,
                topic_arn=alerts.topic_arn,
                state_machine=state_machine,
                schedule=schedule,
            )
            dashboard_rows.append(
                DashboardPipeline(
                    name=pipeline.name,
                    job_prefix=names.pipeline(pipeline.name),
                    state_machine_arn=state_machine.arn,
                    dlq_name=schedule.dlq_name,
                    alarm_arns=alarms.alarm_arns,
                )
            )
            self._pipeline_outputs(
                pipeline.name,
                pipeline.default_input_prefix,
                storage,
                state_machine.arn,
                schedule.schedule_name,
                sagemaker.model_name,
                schedule.dlq_url,
            )
        EnvironmentDashboard(
            self, "dashboard", names=names, region=env.region, pipelines=dashboard_rows
        )
        self._output(
            "dashboard_name",
            names.prefix,
            "CloudWatch dashboard: runs, duration, transform utilisation, dead letters, alarms",
        )

    def _pipeline_outputs(
        self,
        pipeline: str,
        input_prefix: str,
        storage: StorageOutputs,
        state_machine_arn: str,
        schedule_name: str,
        model_name: str | None,
        dlq_url: str,
    ) -> None:
        key = pipeline.replace("-", "_")
        self._output(
            f"{key}_state_machine_arn",
            state_machine_arn,
            f"Backfill or ad-hoc {pipeline} run: aws stepfunctions start-execution "
            f"--state-machine-arn <this> --name <run id> --input "
            f'\'{{"trigger": "manual", "input_prefix": "{input_prefix}<folder>/"}}\'',
        )
        self._output(
            f"{key}_schedule_name",
            schedule_name,
            f"Schedule of {pipeline} (pause: set schedule.enabled false in config)",
        )
        if model_name is not None:
            self._output(f"{key}_model_name", model_name, f"SageMaker model {pipeline} runs")
        self._output(
            f"{key}_dlq_url",
            dlq_url,
            f"Starts of {pipeline} that could not be delivered (aws sqs receive-message "
            "--queue-url <this>); each message is the run input to replay",
        )
        self._output(
            f"{key}_input_uri",
            f"s3://{storage.input.name}/{input_prefix}",
            f"Default input location of {pipeline}",
        )

    def _output(self, name: str, value: str, description: str) -> None:
        TerraformOutput(self, name, value=value, description=description)

    def _s3_backend(self, name: str, state: S3State, default_region: str) -> None:
        S3Backend(
            self,
            bucket=state.bucket,
            key=f"{state.key_prefix}/{name}.tfstate",
            region=state.region or default_region,
            encrypt=True,
            dynamodb_table=state.dynamodb_table,
        )
        if state.lock == "lockfile":
            # cdktf 0.21's S3Backend has no use_lockfile argument (S3 native locking, TF >= 1.10).
            self.add_override("terraform.backend.s3.use_lockfile", True)


class StateBootstrapStack(TerraformStack):
    """The S3 buckets (and DynamoDB tables) of one region that hold the other stacks' state."""

    def __init__(
        self, scope: Construct, name: str, project: str, region: str, stores: list[S3State]
    ) -> None:
        super().__init__(scope, name)
        _local_backend(self, name, LocalState(backend="local"))
        AwsProvider(
            self,
            "aws",
            region=region,
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
        for state in stores:
            self._state_store(state, account_id, partition_of(region))

    def _state_store(self, state: S3State, account_id: str, partition: str) -> None:
        scope = Construct(self, f"state-{state.bucket}")
        key = KmsKey(
            scope,
            "key",
            description=f"Encrypts Terraform state in {state.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                {
                    "Sid": "AccountAdministersAndDelegatesThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": KEY_ACCOUNT_ACTIONS,
                    "Resource": "*",  # in a key policy, "*" means this key
                }
            ),
            lifecycle=protect(False),
        )
        secure = SecureBucket(
            scope,
            "bucket",
            name=state.bucket,
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
            f"{state.bucket.replace('.', '_').replace('-', '_')}_bucket",
            value=secure.bucket.bucket,
            description="State bucket named by the environments' S3 backends",
        )
        if state.lock == "dynamodb":
            DynamodbTable(
                scope,
                "lock-table",
                name=state.dynamodb_table,
                billing_mode="PAY_PER_REQUEST",
                hash_key="LockID",
                attribute=[DynamodbTableAttribute(name="LockID", type="S")],
                server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
                point_in_time_recovery={"enabled": True},
                deletion_protection_enabled=True,
                lifecycle=protect(False),
            )


def state_stores_by_region(config: ProjectConfig) -> dict[str, list[S3State]]:
    """Each distinct S3 state store of the config, grouped by the region its bucket lives in."""
    by_region: dict[str, dict[str, S3State]] = {}
    for env, state in config.s3_states:
        by_region.setdefault(state.region or env.region, {}).setdefault(state.bucket, state)
    return {region: list(stores.values()) for region, stores in sorted(by_region.items())}


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
            EnvironmentStack(app, config.project, env)
    if environments is None:
        regions = state_stores_by_region(config)
        for region, stores in regions.items():
            name = bootstrap_stack_name(config.project)
            if len(regions) > 1:
                name = f"{name}-{region}"
            StateBootstrapStack(app, name, config.project, region, stores)
    return app
