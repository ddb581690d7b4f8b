"""The AWS calls of the operations tool, through boto3: Step Functions (list, describe, history,
start), SageMaker (the transform job), CloudWatch Logs (the job's log streams), S3 (the run's
manifest) and STS (the caller's account). Each call is one function of ``Aws``; every list is read
to its end (nextToken) or to the limit asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tools.ops.backfill import PastRun, PlannedRun
from tools.ops.runs import RunState, run_state
from tools.ops.target import TRANSFORM_JOB_LOG_GROUP, Target


@dataclass
class Clients:
    stepfunctions: Any
    sagemaker: Any
    logs: Any
    s3: Any
    sts: Any

    @classmethod
    def for_region(cls, region: str) -> Clients:
        import boto3

        session = boto3.session.Session(region_name=region)
        return cls(
            *(session.client(name) for name in ("stepfunctions", "sagemaker", "logs", "s3", "sts"))
        )


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

    def past_runs(self, target: Target) -> list[PastRun]:
        return [
            PastRun(e["name"], e["executionArn"], e["status"], e["startDate"])
            for e in self.executions(target)
        ]

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

    def manifest(self, target: Target, run: str) -> dict[str, Any] | None:
        """The run's manifest, if it wrote one."""
        from botocore.exceptions import ClientError

        try:
            answer = self.clients.s3.get_object(
                Bucket=target.output_bucket, Key=target.manifest_key(run)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404", "AccessDenied"):
                return None
            raise
        manifest: dict[str, Any] = json.loads(answer["Body"].read())
        return manifest


class BackfillRunner:
    """``backfill.Runner`` on AWS: a planned run is started with the input a scheduled run of its
    date gets (``scheduled_time``; the state machine renders the folder), marked as a backfill."""

    def __init__(self, aws: Aws, target: Target) -> None:
        self.aws, self.target = aws, target

    def run_input(self, run: PlannedRun) -> dict[str, Any]:
        return {
            **self.target.pipeline.schedule.payload,
            "trigger": "backfill",
            "scheduled_time": run.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def start(self, run: PlannedRun) -> str:
        return self.aws.start(self.target, run.name, self.run_input(run))

    def state(self, execution_arn: str) -> RunState:
        return self.aws.state(execution_arn)
