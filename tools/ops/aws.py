"""The AWS calls of the operations tool, through boto3: Step Functions (list, describe, history,
start), SageMaker (the transform job, its tags), CloudWatch Logs (the job's log streams), S3 (the
run's manifest, the listings of its input and output; a sharded run's failed-shard records and
shard manifests, and the rerun items ``rerun --failed`` writes), CloudWatch (an alarm's state, for
``test-alert``) and STS (the caller's account). Each call is one function of ``Aws``; every list
is read to its end (nextToken) or to the limit asked for, or, for ``past_runs``, only as far as
the caller reads it. The environment's operator policy (modules/operator_policy.py) allows
exactly these calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tools.ops.backfill import PastRun, PlannedRun
from tools.ops.runs import RunState, folder_read, run_state, scheduled_run_input
from tools.ops.target import TRANSFORM_JOB_LOG_GROUP, Target

SERVICES = ("stepfunctions", "sagemaker", "logs", "s3", "sts", "cloudwatch")


@dataclass
class Clients:
    stepfunctions: Any
    sagemaker: Any
    logs: Any
    s3: Any
    sts: Any
    cloudwatch: Any

    @classmethod
    def for_region(cls, region: str) -> Clients:
        import boto3

        session = boto3.session.Session(region_name=region)
        return cls(*(session.client(name) for name in SERVICES))


@dataclass(frozen=True)
class Manifest:
    """What reading a run's manifest found: its content, nothing (the run wrote none), or a
    refusal (``denied``: S3's message, typically a missing kms:Decrypt or s3:GetObject)."""

    content: dict[str, Any] | None = None
    denied: str | None = None


class Aws:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    @property
    def sfn(self) -> Any:
        return self.clients.stepfunctions

    def caller_account(self) -> str:
        account: str = self.clients.sts.get_caller_identity()["Account"]
        return account

    def executions(
        self, target: Target, *, status: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Executions, newest first (ListExecutions' order)."""
        request: dict[str, Any] = {"stateMachineArn": target.state_machine_arn}
        if status is not None:
            request["statusFilter"] = status
        found: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                request["maxResults"] = min(limit - len(found), 1000)
            page = self.sfn.list_executions(**request)
            found += page["executions"]
            token = page.get("nextToken")
            if not token or (limit is not None and len(found) >= limit):
                return found
            request["nextToken"] = token

    def past_runs(self, target: Target) -> Iterator[PastRun]:
        """Every execution, newest first, with the folder it read (from its input, whatever
        started it) and its result: one DescribeExecution each, made only as far as the caller
        reads (a backfill stops once each of its dates has its latest run)."""
        request: dict[str, Any] = {"stateMachineArn": target.state_machine_arn}
        while True:
            page = self.sfn.list_executions(**request)
            for item in page["executions"]:
                described = self.describe(item["executionArn"])
                yield PastRun(
                    item["name"],
                    item["executionArn"],
                    item["status"],
                    item["startDate"],
                    result=run_state(described).result,
                    folder=folder_read(described, target.pipeline),
                )
            if not page.get("nextToken"):
                return
            request["nextToken"] = page["nextToken"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        return described

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        events: list[dict[str, Any]] = []
        while True:
            page = self.sfn.get_execution_history(**request)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            request["nextToken"] = page["nextToken"]

    def start(self, target: Target, name: str, run_input: dict[str, Any]) -> str:
        started = self.sfn.start_execution(
            stateMachineArn=target.state_machine_arn,
            name=name,
            input=json.dumps(run_input, sort_keys=True),
        )
        arn: str = started["executionArn"]
        return arn

    def state(self, execution_arn: str) -> RunState:
        return run_state(self.describe(execution_arn))

    def transform_job(self, job: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self.clients.sagemaker.describe_transform_job(
                TransformJobName=job
            )
        except self.clients.sagemaker.exceptions.ResourceNotFound:
            return None
        return described

    def job_tags(self, target: Target, job: str) -> list[dict[str, str]]:
        """The transform job's tags (none when SageMaker knows no such job)."""
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"ResourceArn": target.transform_job_arn(job)}
        tags: list[dict[str, str]] = []
        while True:
            try:
                page = self.clients.sagemaker.list_tags(**request)
            except ClientError as error:
                if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                    return tags
                raise
            tags += page["Tags"]
            if not page.get("NextToken"):
                return tags
            request["NextToken"] = page["NextToken"]

    def objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Every object under the prefix (key, size), every ListObjectsV2 page."""
        pages = self.clients.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        )
        return [(item["Key"], item["Size"]) for page in pages for item in page.get("Contents", [])]

    def job_log_streams(self, job: str) -> list[str]:
        """The job's log streams (``<job>/<instance id>`` and its ``/data-log``)."""
        request: dict[str, Any] = {
            "logGroupName": TRANSFORM_JOB_LOG_GROUP,
            "logStreamNamePrefix": f"{job}/",
        }
        streams: list[str] = []
        while True:
            try:
                page = self.clients.logs.describe_log_streams(**request)
            except self.clients.logs.exceptions.ResourceNotFoundException:
                return streams
            streams += [s["logStreamName"] for s in page["logStreams"]]
            if not page.get("nextToken"):
                return streams
            request["nextToken"] = page["nextToken"]

    def manifest(self, target: Target, run: str) -> Manifest:
        """The run's manifest, if it wrote one and the caller may read it."""
        from botocore.exceptions import ClientError

        try:
            answer = self.clients.s3.get_object(
                Bucket=target.output_bucket, Key=target.manifest_key(run)
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("NoSuchKey", "404"):
                return Manifest()
            if code in ("AccessDenied", "403"):
                return Manifest(denied=str(error.response["Error"].get("Message") or code))
            raise
        return Manifest(content=json.loads(answer["Body"].read()))

    def json_object(self, bucket: str, key: str) -> Any:
        """An object's JSON content; None when there is no such object (the caller may list the
        bucket, so S3 says so rather than refuse)."""
        from botocore.exceptions import ClientError

        try:
            answer = self.clients.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(answer["Body"].read())

    def put_json(self, bucket: str, key: str, content: Any) -> None:
        """Write ``content`` as JSON (encrypted by the bucket's default encryption)."""
        self.clients.s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(content).encode(),
            ContentType="application/json",
        )

    def alarm_state(self, alarm: str) -> str | None:
        """The alarm's state (OK, ALARM, INSUFFICIENT_DATA), None if there is no such alarm."""
        found = self.clients.cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
        return str(found[0]["StateValue"]) if found else None

    def set_alarm_state(self, alarm: str, state: str, reason: str) -> None:
        self.clients.cloudwatch.set_alarm_state(
            AlarmName=alarm, StateValue=state, StateReason=reason
        )


class BackfillRunner:
    """``backfill.Runner`` on AWS: a planned run is started with the input a scheduled run of its
    date gets (``scheduled_time``; the state machine renders the folder), marked as a backfill."""

    def __init__(self, aws: Aws, target: Target) -> None:
        self.aws, self.target = aws, target

    def run_input(self, run: PlannedRun) -> dict[str, Any]:
        return scheduled_run_input(self.target.pipeline, run.scheduled_time, "backfill")

    def start(self, run: PlannedRun) -> str:
        return self.aws.start(self.target, run.name, self.run_input(run))

    def state(self, execution_arn: str) -> RunState:
        return self.aws.state(execution_arn)
