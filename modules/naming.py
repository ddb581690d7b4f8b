"""How things are named: every resource name, built from project, environment and pipeline.

``Names`` (environment) and ``PipelineNames`` (one pipeline) build every resource name: buckets,
roles and their inline policies (``RoleNames``), queues, rules, alarms (``AlarmNames``), log
groups, schedules, topics, keys and aliases, dashboards, Glue databases and tables, and the per-run
prefix of transform jobs and models; the name constants (bucket purposes, alarm metrics, the
completion metric) live here too. Nothing else builds a resource name; ``limits()`` lists each name
with the API request member that takes it (``Limit``), whose limits the config reads from botocore
(``modules.config.aws_names.check_name``) and refuses names that break them.

Needs nothing but the standard library (the config and the plan reviewer import it without cdktf).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Per-run names (transform jobs, per-run models) are "<project>-<environment>-<pipeline>-<hash>",
# the hash an MD5 in hex.
RUN_HASH_LENGTH = 32

# The log group SageMaker writes every transform job's logs to (a stream per instance, named after
# the job): SageMaker's name, not ours, read by the operator tool and its policy.
TRANSFORM_JOB_LOG_GROUP = "/aws/sagemaker/TransformJobs"


@dataclass(frozen=True)
class Limit:
    """One name and the request member AWS receives it in, as ``service:Operation.Member`` in
    botocore's names (e.g. ``iam:CreateRole.RoleName``)."""

    what: str
    name: str
    member: str


@dataclass(frozen=True)
class PipelineNames:
    """Every name of one pipeline's resources, all starting with ``<project>-<env>-<pipeline>``."""

    base: str
    project: str

    @property
    def event_source(self) -> str:
        """``<project>.batch-inference``: the source of the "Batch predictions ready" events
        (never ``aws.*``)."""
        return f"{self.project}.batch-inference"

    @property
    def state_machine(self) -> str:
        return self.base

    @property
    def predictions_table(self) -> str:
        """The Glue table of the pipeline's predictions: ``<project>_<env>_<pipeline>`` (Athena
        reads only letters, digits and ``_`` unquoted; a pipeline name has no ``_``, so two
        pipelines never get one name). Unique in any database, also one shared by environments."""
        return self.base.replace("-", "_")

    @property
    def schedule(self) -> str:
        return self.base

    @property
    def model(self) -> str:
        return self.base

    def _role(self, service: str, policy: str) -> RoleNames:
        """The role a service assumes for this pipeline (SageMaker for the transform jobs, Step
        Functions for the workflow, EventBridge Scheduler and, with a trigger, EventBridge to
        start runs), and its one inline policy."""
        return RoleNames(f"{self.base}-{service}", policy)

    @property
    def sagemaker_role(self) -> RoleNames:
        return self._role("sagemaker", "transform-job")

    @property
    def sfn_role(self) -> RoleNames:
        return self._role("sfn", "run-transform")

    @property
    def scheduler_role(self) -> RoleNames:
        return self._role("scheduler", "start-run")

    @property
    def trigger_role(self) -> RoleNames:
        return self._role("trigger", "start-run")

    @property
    def roles(self) -> dict[str, RoleNames]:
        """Every role of the pipeline, by the service that assumes it."""
        return {
            "sagemaker": self.sagemaker_role,
            "sfn": self.sfn_role,
            "scheduler": self.scheduler_role,
            "trigger": self.trigger_role,
        }

    @property
    def state_machine_log_group(self) -> str:
        # Step Functions can deliver logs only to groups under /aws/vendedlogs/.
        return f"/aws/vendedlogs/states/{self.base}"

    @property
    def schedule_dlq(self) -> str:
        return f"{self.base}-schedule-dlq"

    @property
    def trigger_rule(self) -> str:
        return f"{self.base}-input-ready"

    @property
    def job_failed_rule(self) -> str:
        return f"{self.base}-transform-job-failed"

    @property
    def alert_dlq(self) -> str:
        """The dead-letter queue of the transform-job rule's alerts it could not publish."""
        return f"{self.base}-alert-dlq"

    def alarms(self, *, freshness: bool) -> AlarmNames:
        """The pipeline's alarms; the freshness alarm only for a pipeline with a freshness window.
        The alerting layer creates these and the dashboard links them by these names."""
        return AlarmNames(
            executions={metric: f"{self.base}-{metric}" for metric in EXECUTION_ALARM_METRICS},
            dead_letters=f"{self.base}-ScheduleDeadLetters",
            alert_dead_letters=f"{self.base}-AlertDeadLetters",
            freshness=f"{self.base}-NoRecentSuccess" if freshness else None,
        )

    @property
    def metric_namespace(self) -> str:
        """The pipeline's own CloudWatch namespace: its runs publish ``TRANSFORMS_COMPLETED``
        there, and its role may publish nowhere else (``cloudwatch:namespace`` condition)."""
        return f"BatchInference/{self.base}"

    @property
    def run_prefix(self) -> str:
        """What the names of per-run resources (transform jobs, models) start with."""
        return f"{self.base}-"

    @property
    def run_name_format(self) -> str:
        """A per-run name as a ``States.Format`` template: the run hash goes into ``{}``."""
        return f"{self.run_prefix}{{}}"

    @property
    def run_pattern(self) -> str:
        """Every per-run resource of this pipeline (IAM resource patterns)."""
        return f"{self.run_prefix}*"

    def limits(self) -> list[Limit]:
        """Each name with the request member that takes it (per-run names with a run hash)."""
        run = self.run_prefix + "0" * RUN_HASH_LENGTH
        hashed = f"(<pipeline>-<{RUN_HASH_LENGTH}-character run hash>)"
        return [
            Limit(f"transform job {hashed}", run, "sagemaker:CreateTransformJob.TransformJobName"),
            Limit(f"per-run model {hashed}", run, "sagemaker:CreateModel.ModelName"),
            *(
                limit
                for service, role in self.roles.items()
                for limit in (
                    Limit(f"{service} role", role.role, "iam:CreateRole.RoleName"),
                    Limit(f"{service} role policy", role.policy, "iam:PutRolePolicy.PolicyName"),
                )
            ),
            Limit("state machine", self.state_machine, "stepfunctions:CreateStateMachine.name"),
            Limit("Glue table", self.predictions_table, "glue:CreateTable.TableInput.Name"),
            Limit("schedule", self.schedule, "scheduler:CreateSchedule.Name"),
            Limit("SageMaker model", self.model, "sagemaker:CreateModel.ModelName"),
            Limit("SQS queue", self.schedule_dlq, "sqs:CreateQueue.QueueName"),
            Limit("SQS queue", self.alert_dlq, "sqs:CreateQueue.QueueName"),
            Limit("EventBridge rule", self.trigger_rule, "events:PutRule.Name"),
            Limit("EventBridge rule", self.job_failed_rule, "events:PutRule.Name"),
            Limit("log group", self.state_machine_log_group, "logs:CreateLogGroup.logGroupName"),
            Limit("metric namespace", self.metric_namespace, "cloudwatch:PutMetricData.Namespace"),
            *(
                Limit("alarm", alarm, "cloudwatch:PutMetricAlarm.AlarmName")
                for alarm in self.alarms(freshness=True).all
            ),
        ]


# The metric a run publishes (value 1) once its transform job completed: what the freshness alarm
# watches. Step Functions' ExecutionsSucceeded also counts runs that found no input or skipped.
TRANSFORMS_COMPLETED = "TransformsCompleted"

# The Step Functions metrics that each mean "a run went wrong": one alarm each, named after it.
EXECUTION_ALARM_METRICS = (
    "ExecutionsFailed",
    "ExecutionsTimedOut",
    "ExecutionsAborted",
    "ExecutionThrottled",
)


@dataclass(frozen=True)
class AlarmNames:
    """One pipeline's alarm names, by what each watches."""

    executions: dict[str, str]  # Step Functions metric -> alarm
    dead_letters: str  # the schedule's dead-letter queue
    alert_dead_letters: str  # the transform-job rule's dead-letter queue
    freshness: str | None  # no recent success (pipelines with a freshness window)

    @property
    def all(self) -> list[str]:
        """Every alarm, in the order the alerting layer creates them."""
        freshness = [] if self.freshness is None else [self.freshness]
        return [*self.executions.values(), self.dead_letters, self.alert_dead_letters, *freshness]


@dataclass(frozen=True)
class RoleNames:
    """A service role and its one inline policy."""

    role: str
    policy: str


# The statement id of a Lambda permission of the alert topic ends in this many hex digits of a hash
# of the function's ARN (unique among an environment's subscriptions: they are refused repeated).
ALERT_INVOKE_DIGEST_LENGTH = 16

# The environment's buckets by purpose: the data buckets (server access logs go to the logs one).
DATA_BUCKETS = ("input", "output", "models")
LOGS_BUCKET = "logs"


@dataclass(frozen=True)
class Names:
    """Every resource name, from project, environment and pipeline: predictable, carrying all
    three, and checked against AWS's limits in one place (``limits``; the config refuses names
    that break them)."""

    project: str
    environment: str

    @property
    def prefix(self) -> str:
        """<project>-<environment>: shared resources of the environment."""
        return f"{self.project}-{self.environment}"

    def pipeline(self, pipeline: str) -> str:
        """<project>-<environment>-<pipeline>: short enough for the per-run names (``limits``)."""
        return f"{self.prefix}-{pipeline}"

    def qualified(self, *parts: str | None) -> str:
        """<project>-<environment>, then each part given (None left out): the state bootstrap
        stacks, ``<project>-state-<account>-<region>`` or ``<project>-state-unpinned-<bucket>``
        (modules/stack_names.py)."""
        return "-".join([self.prefix, *(part for part in parts if part)])

    def of_pipeline(self, pipeline: str) -> PipelineNames:
        return PipelineNames(self.pipeline(pipeline), self.project)

    @property
    def event_source(self) -> str:
        """The source of the environment's "Batch predictions ready" events."""
        return self.of_pipeline("").event_source

    @property
    def catalog_database(self) -> str:
        """The environment's Glue database of predictions tables: ``<project>_<env>``."""
        return self.prefix.replace("-", "_")

    @property
    def schema_registry(self) -> str:
        """The environment's EventBridge schema registry, where the events' schemas are."""
        return self.prefix

    @property
    def ready_event_schema(self) -> str:
        """The "Batch predictions ready" event's schema, named as EventBridge names discovered
        ones: ``<source>@<detail type>``."""
        return f"{self.event_source}@BatchPredictionsReady"

    def buckets(self, account_id: str, region: str) -> dict[str, str]:
        """The environment's buckets by purpose (``DATA_BUCKETS`` and ``LOGS_BUCKET``)."""
        # S3 names are global: account and region make them unique without random suffixes.
        return {
            purpose: f"{self.prefix}-{purpose}-{account_id}-{region}"
            for purpose in (*DATA_BUCKETS, LOGS_BUCKET)
        }

    @property
    def key_alias(self) -> str:
        return f"alias/{self.prefix}"

    # The alert path: topic, its own key, the alarm on its failed deliveries, and the statement
    # ids of the Lambda permissions that let it invoke its subscribers.

    @property
    def alert_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def alert_key_alias(self) -> str:
        # Not "alias/<prefix>-alerts": that is the data key's alias of an environment so named.
        return f"{self.key_alias}/alerts"

    @property
    def alert_delivery_alarm(self) -> str:
        """The alarm on the notifications the alert topic could not deliver."""
        return f"{self.alert_topic}-NotificationsFailed"

    def alert_invoke_statement(self, function_arn: str) -> str:
        """The statement id of the permission that lets the alert topic invoke ``function_arn``:
        one per function (Lambda refuses a second AddPermission with the same id), named after
        the function, not its place in the list, so that reordering keeps it."""
        digest = hashlib.sha256(function_arn.encode()).hexdigest()[:ALERT_INVOKE_DIGEST_LENGTH]
        return f"{self.alert_topic}-{digest}"

    @property
    def schedule_group(self) -> str:
        return self.prefix

    @property
    def operator_policy(self) -> str:
        """The managed policy of the people who run ``./ops`` on this environment."""
        return f"{self.prefix}-operator"

    def dashboard(self, page: int) -> str:
        """The environment's dashboard; long environments continue on numbered pages."""
        return self.prefix if page == 0 else f"{self.prefix}-{page + 1}"

    @property
    def pipelines_pattern(self) -> str:
        """Every pipeline's resources of this environment (alarms, rules, log groups)."""
        return f"{self.prefix}-*"

    @property
    def state_machine_log_groups(self) -> str:
        return f"/aws/vendedlogs/states/{self.pipelines_pattern}"

    def limits(self, account_id: str, region: str) -> list[Limit]:
        """The environment's own names with their request members (pipelines:
        ``PipelineNames.limits``)."""
        return [
            *(
                Limit("S3 bucket", bucket, "s3:CreateBucket.Bucket")
                for bucket in self.buckets(account_id, region).values()
            ),
            Limit("KMS alias", self.key_alias, "kms:CreateAlias.AliasName"),
            Limit("SNS topic", self.alert_topic, "sns:CreateTopic.Name"),
            Limit("IAM policy", self.operator_policy, "iam:CreatePolicy.PolicyName"),
            Limit("KMS alias", self.alert_key_alias, "kms:CreateAlias.AliasName"),
            Limit("alarm", self.alert_delivery_alarm, "cloudwatch:PutMetricAlarm.AlarmName"),
            Limit(
                "Lambda permission statement id",
                self.alert_invoke_statement(""),
                "lambda:AddPermission.StatementId",
            ),
            Limit("schedule group", self.schedule_group, "scheduler:CreateScheduleGroup.Name"),
            Limit("Glue database", self.catalog_database, "glue:CreateDatabase.DatabaseInput.Name"),
            Limit("dashboard", self.dashboard(0), "cloudwatch:PutDashboard.DashboardName"),
        ]

    @staticmethod
    def state_key_alias(bucket: str) -> str:
        """KMS alias of the key that encrypts the state in a bootstrap state bucket (bucket names
        are unique; alias names allow no dots)."""
        return f"alias/tfstate/{bucket.replace('.', '-')}"

    @staticmethod
    def state_key(key_prefix: str, stack: str) -> str:
        """The key of a stack's state in an S3 state bucket."""
        return f"{key_prefix}/{stack}.tfstate"
