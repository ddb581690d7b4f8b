"""The state machine definition of one pipeline, as plain Python data (Amazon States Language),
and the IAM statements its tasks need.

Each step of a run (input, overlap guard, empty-input guard, registry model, transform, manifest,
notifications, failure handling) is one ``Step``: its states and the statements they need, side
by side. ``build_workflow`` chains the enabled steps forward (each continues with the next one's
first state), so the definition lists its states in the order a run takes them, and the policy
lists the statements in the same order, then one tagging statement over what the steps create.

A run (JSONPath; the computed values use JSONata Pass states): its input (a marker object's
folder, the scheduled date's folder, a requested or the default prefix), then per config an
overlap guard, an empty-input guard and a model from the registry, then the transform job (with
retries of transient SageMaker errors), then per config the per-run model's deletion, a manifest
and a success notification. Every failure goes to the failure handling, which describes it,
cleans up, notifies and fails the run. Every state, with what it does and where it goes:
docs/run-states.md, generated from these definitions by tools/run_states.py (a test keeps it
current).

Run identity: the run id is the execution name (unique per state machine); a per-run model is
named ``<project>-<env>-<pipeline>-<MD5 of the execution name>`` and each transform job attempt
``<project>-<env>-<pipeline>-<MD5 of execution name/state entered time/retry count>``, valid
for SageMaker (63 characters, [a-zA-Z0-9-]) whatever execution name a caller chose, and new on
every retry and every new entry into the state; outputs land under ``<output prefix><run id>/`` so
runs never overwrite each other. A failed run is re-run as a new execution, not redriven: every
failure ends in the ``RunFailed`` Fail state, where a redrive would resume and fail again.

Config values pasted into string literals go through one function per language:
``jsonata_string`` (JSONata), ``_escape_intrinsic`` (intrinsic functions) and
``_escape_string_matches`` (Choice ``StringMatches`` patterns).

Values that are Terraform references (bucket names, ARNs) are passed in as strings and stay inside
string values of the JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modules.alert_routing import NOTICE, PAGE, SEVERITY_KEY
from modules.aws_context import AwsContext, console_url
from modules.config import PipelineConfig
from modules.config.aws_facts import request_member
from modules.iam import Statement, allow, list_prefix, write_objects
from modules.naming import TRANSFORMS_COMPLETED, PipelineNames

# Errors of the CreateTransformJob call itself that a later attempt can get past (quota held by
# other jobs, throttling). They happen before a job runs, so a retry costs nothing. A job that ran
# and failed surfaces as States.TaskFailed and is never retried: a broken model or bad input would
# just fail again.
TRANSIENT_SAGEMAKER_ERRORS = [
    "SageMaker.ResourceLimitExceededException",
    "SageMaker.ThrottlingException",
]
# SageMaker.AmazonSageMakerException wraps every other SageMaker error, ValidationException (bad
# parameters: never transient) included; only its causes that name a transient error are retried,
# by the CheckSageMakerError loop.
GENERIC_SAGEMAKER_ERROR = "SageMaker.AmazonSageMakerException"
TRANSIENT_SAGEMAKER_CAUSES = [
    "*ThrottlingException*",
    "*Rate exceeded*",
    "*InternalFailure*",
    "*ServiceUnavailable*",
]
MAX_TRANSIENT_RETRIES = 3
TRANSIENT_RETRY_WAIT_SECONDS = 60
# SDK integrations report throttling under the service's own exception names.
TRANSIENT_SDK_RETRY = {
    "ErrorEquals": [
        "Sfn.SfnException",
        "S3.S3Exception",
        "SageMaker.SageMakerException",
        "States.Timeout",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
    "JitterStrategy": "FULL",
}

# Time for Step Functions to stop the job and notify after the task's own timeout.
STATE_MACHINE_GRACE_SECONDS = 900
MANIFEST_NAME = "_manifest.json"
# The managed rule through which Step Functions learns that a transform job finished.
SYNC_EVENTS_RULE = "rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"
# ListModelPackages pages: as large as botocore's model allows, and a bound on how many a run
# follows (an empty page with a NextToken is normal with a status filter).
REGISTRY_PAGE_SIZE: int = request_member("sagemaker:ListModelPackages.MaxResults")["max"]
REGISTRY_MAX_PAGES = 20
# The newest Approved package of the current page (pages are sorted newest first).
NEWEST_APPROVED_PACKAGE = "$.model_package.page.ModelPackageSummaryList[0].ModelPackageArn"


@dataclass(frozen=True)
class WorkflowTargets:
    """Where a run reads, writes and reports; values may be Terraform references."""

    aws: AwsContext
    environment: str
    names: PipelineNames
    model_name: str | None  # None: a model is created per run from the registry
    execution_role_arn: str
    input_bucket: str
    input_bucket_arn: str
    output_bucket: str
    output_bucket_arn: str
    state_machine_arn: str
    kms_key_arn: str
    alert_topic_arn: str


def jsonata_string(text: str) -> str:
    """A JSONata string literal of any text: JSON's escaping (a double-quoted JSONata string reads
    the same escapes), so quotes and backslashes in config values cannot end the literal."""
    return json.dumps(text)


def _escape_intrinsic(text: str) -> str:
    """Escape a literal for use inside an intrinsic function's quoted string argument."""
    for char in ("\\", "'", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def _escape_string_matches(text: str) -> str:
    """Escape a literal for a Choice rule's ``StringMatches`` pattern (``*`` is its wildcard)."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _catch_to(state: str, result_path: str = "$.error") -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": state}]


def _integration(t: WorkflowTargets, resource: str) -> str:
    """A Task's service integration (``sns:publish``, ``aws-sdk:s3:putObject``...): an ARN with
    neither region nor account."""
    return t.aws.arn("states", resource, region=False, account=False)


def _sdk_task(
    t: WorkflowTargets,
    service_action: str,
    parameters: dict[str, Any],
    *,
    next_state: str,
    result_path: str | None = None,
    result_selector: dict[str, Any] | None = None,
    comment: str | None = None,
    catch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An AWS SDK call, retried on throttling; any other error goes to the failure handling (or
    to ``catch``)."""
    state: dict[str, Any] = {"Type": "Task"}
    if comment is not None:
        state["Comment"] = comment
    state |= {"Resource": _integration(t, f"aws-sdk:{service_action}"), "Parameters": parameters}
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    return state | {
        "ResultPath": result_path,
        "Retry": [TRANSIENT_SDK_RETRY],
        "Catch": catch if catch is not None else _catch_to("DescribeFailure"),
        "Next": next_state,
    }


def _publish_statement(t: WorkflowTargets) -> dict[str, Any]:
    return allow("PublishAlerts", ["sns:Publish"], t.alert_topic_arn)


def _publish(
    t: WorkflowTargets, subject: str, message_path: str, next_state: str
) -> dict[str, Any]:
    """An SNS notification whose own failure never changes the run's result."""
    return {
        "Type": "Task",
        "Resource": _integration(t, "sns:publish"),
        "Parameters": {
            "TopicArn": t.alert_topic_arn,
            "Subject": f"[{t.names.base}] {subject}",
            "Message.$": message_path,
        },
        "ResultPath": None,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2}],
        "Catch": _catch_to(next_state, "$.notify_error"),
        "Next": next_state,
    }


def _notice(t: WorkflowTargets, event: str, sentence: str, *args: str, **values: str) -> str:
    """A notice's message as ``States.Format`` of JSON text: severity notice (subscription filter
    policies read it, modules/alert_routing.py), the event, the pipeline, a sentence for email
    readers, then ``values``.

    ``sentence`` is intrinsic-string text whose ``{}`` take ``args`` (execution names and ARNs:
    they hold no quote or backslash, so the sentence stays a valid JSON string); each of
    ``values`` is an intrinsic that gives JSON text (``States.JsonToString`` of an object)."""
    head = json.dumps({SEVERITY_KEY: NOTICE, "event": event, "pipeline": t.names.base})[:-1]
    text = _escape_intrinsic(head + ', "message": "') + sentence + '"'
    text += "".join(_escape_intrinsic(f', "{key}": ') + "{}" for key in values)
    text += _escape_intrinsic("}")
    return f"States.Format('{text}', {', '.join([*args, *values.values()])})"


States = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Step:
    """One part of a run: its states (given the state that follows it) and the IAM statements its
    tasks need, next to each other so that a feature switch is decided in one place."""

    start: str
    build: Callable[[str], States]
    statements: tuple[Statement, ...] = ()
    # What its tasks create with tags (Step Functions and the SDK integrations tag on creation).
    tagged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    """The definition and every statement its tasks need (the state machine role adds only the
    base: logs, X-Ray, key)."""

    definition: dict[str, Any]
    statements: list[Statement]


def _transform_parameters(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    transform = pipeline.transform
    output_prefix = _escape_intrinsic(pipeline.run_output_prefix)
    model = (
        {"ModelName.$": "$.run.job_name"}
        if pipeline.model.resolved_per_run
        else {"ModelName": t.model_name}
    )
    params: dict[str, Any] = {
        # A new name for every attempt: a Retry after CreateTransformJob succeeded (RetryCount),
        # and every new entry into the state, by the CheckSageMakerError loop (EnteredTime),
        # never reuse one ("already exists").
        "TransformJobName.$": (
            f"States.Format('{t.names.run_name_format}', States.Hash("
            "States.Format('{}/{}/{}', $$.Execution.Name, $$.State.EnteredTime, "
            "$$.State.RetryCount), 'MD5'))"
        ),
        **model,
        "BatchStrategy": transform.batch_strategy,
        "MaxPayloadInMB": transform.max_payload_mb,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": transform.model_client.invocations_timeout_seconds,
            "InvocationsMaxRetries": transform.model_client.invocations_max_retries,
        },
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri.$": f"States.Format('s3://{t.input_bucket}/{{}}', $.run.input_prefix)",
                }
            },
            "ContentType": transform.content_type,
            "SplitType": transform.split_type,
            "CompressionType": transform.compression_type,
        },
        "TransformOutput": {
            "S3OutputPath.$": (
                f"States.Format('s3://{t.output_bucket}/{output_prefix}{{}}/', $.run.run_id)"
            ),
            "Accept": transform.accept,
            "AssembleWith": transform.assemble_with,
            "KmsKeyId": t.kms_key_arn,
        },
        "TransformResources": {
            "InstanceType": transform.instance_type,
            "InstanceCount": transform.instance_count,
        },
        "Tags": _tags(pipeline, t),
    }
    if not transform.has_instance_storage:
        # Local NVMe volumes are encrypted by the hardware; SageMaker refuses a key for them.
        params["TransformResources"]["VolumeKmsKeyId"] = t.kms_key_arn
    if transform.max_concurrent_transforms:
        params["MaxConcurrentTransforms"] = transform.max_concurrent_transforms
    if transform.environment:
        params["Environment"] = dict(transform.environment)
    processing = transform.data_processing
    data_processing = {
        key: value
        for key, value in (
            ("InputFilter", processing.input_filter),
            ("OutputFilter", processing.output_filter),
            ("JoinSource", processing.join_source if processing.join_source != "None" else None),
        )
        if value is not None
    }
    if data_processing:
        params["DataProcessing"] = data_processing
    return params


def _tags(pipeline: PipelineConfig, t: WorkflowTargets) -> list[dict[str, str]]:
    return [
        {"Key": "pipeline", "Value": pipeline.name},
        {"Key": "environment", "Value": t.environment},
    ]


def _run_parameters(t: WorkflowTargets, input_prefix: dict[str, str]) -> dict[str, Any]:
    return {
        **input_prefix,
        "run_id.$": "$$.Execution.Name",
        "job_name.$": (
            f"States.Format('{t.names.run_name_format}', States.Hash($$.Execution.Name, 'MD5'))"
        ),
        "started_at.$": "$$.Execution.StartTime",
        "attempt": 0,
    }


def _present_string(path: str) -> list[dict[str, Any]]:
    """Choice conditions: the run input has a string at this path."""
    return [{"Variable": path, "IsPresent": True}, {"Variable": path, "IsString": True}]


def _derived_input(
    check: str, derive: str, comment: str, when: list[dict[str, Any]], prefix: str
) -> Step:
    """Runs whose input matches ``when`` read the input prefix the JSONata expression ``prefix``
    derives from it; it is then checked like any requested prefix (CheckRunInput)."""

    def build(nxt: str) -> States:
        return {
            check: {
                "Type": "Choice",
                "Comment": comment,
                "Choices": [{"And": when, "Next": derive}],
                "Default": nxt,
            },
            derive: {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": f"{{% $merge([$states.input, {{'input_prefix': {prefix}}}]) %}}",
                "Next": "CheckRunInput",
            },
        }

    return Step(check, build)


def _marker_input(marker: str) -> Step:
    """Runs started by a marker object (event trigger) read the folder the marker is in."""
    return _derived_input(
        "CheckTrigger",
        "InputFromMarker",
        "Runs started by a marker object read the folder the marker is in.",
        _present_string("$.marker_key"),
        "$substring($states.input.marker_key, 0, "
        f"$length($states.input.marker_key) - {len(marker)})",
    )


def _scheduled_input(pipeline: PipelineConfig, folder: str) -> Step:
    """Scheduled runs (with dated input folders) read the folder of their scheduled date."""
    return _derived_input(
        "CheckScheduledRun",
        "InputFromSchedule",
        "Scheduled runs read the folder of their scheduled date.",
        [
            *_present_string("$.scheduled_time"),
            {"Not": {"Variable": "$.input_prefix", "IsPresent": True}},
        ],
        f"{jsonata_string(pipeline.default_input_prefix)} & "
        "$fromMillis($toMillis($states.input.scheduled_time), "
        f"{jsonata_string(folder)}) & '/'",
    )


def _run_input(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """The run's input prefix: requested (under the pipeline's own) or the default."""
    default_prefix = pipeline.default_input_prefix

    def build(nxt: str) -> States:
        states: States = {}
        states["CheckRunInput"] = {
            "Type": "Choice",
            "Comment": "A run may read another prefix, but only under the pipeline's own.",
            "Choices": [
                {
                    "And": [
                        *_present_string("$.input_prefix"),
                        {
                            "Variable": "$.input_prefix",
                            "StringMatches": _escape_string_matches(default_prefix) + "*",
                        },
                    ],
                    "Next": "UseRequestedInput",
                },
                {"Variable": "$.input_prefix", "IsPresent": True, "Next": "RejectRunInput"},
            ],
            "Default": "UseDefaultInput",
        }
        states["RejectRunInput"] = {
            "Type": "Fail",
            "Error": "InvalidRunInput",
            "Cause": f"input_prefix must be a string starting with '{default_prefix}'",
        }
        for name, prefix in (
            ("UseRequestedInput", {"input_prefix.$": "$.input_prefix"}),
            ("UseDefaultInput", {"input_prefix": default_prefix}),
        ):
            states[name] = {
                "Type": "Pass",
                "Parameters": _run_parameters(t, prefix),
                "ResultPath": "$.run",
                "Next": nxt,
            }
        return states

    return Step("CheckRunInput", build)


# Runs started earlier than this one (ties broken by name), among the running executions listed.
# The earliest run never yields, so runs that start together cannot all skip. ListExecutions is
# eventually consistent: a run that started moments before may not be listed yet, and then both
# run (README, "Overlap guard"). SDK integrations may give timestamps as ISO text or epoch numbers.
_EARLIER_RUNS = (
    "{% ( $ms := function($d) { $type($d) = 'number' ? ($d < 100000000000 ? $d * 1000 : $d) "
    ": $toMillis($d) }; $me := $states.context.Execution.Name; "
    "$start := $toMillis($states.context.Execution.StartTime); "
    "$merge([$states.input, {'overlap': {'earlier_runs': $count($states.input.overlap.running"
    "[Name != $me and ($ms(StartDate) < $start or ($ms(StartDate) = $start and Name < $me))])}}]) "
    ") %}"
)


def _overlap_guard(t: WorkflowTargets) -> Step:
    """Skip the run (and say so) while an earlier run is still going."""

    def build(nxt: str) -> States:
        states: States = {}
        states["ListRunningExecutions"] = _sdk_task(
            t,
            "sfn:listExecutions",
            {
                "StateMachineArn.$": "$$.StateMachine.Id",
                "StatusFilter": "RUNNING",
                "MaxResults": 1000,
            },
            comment="Running executions of this state machine, this run among them.",
            result_selector={"running.$": "$.Executions"},
            result_path="$.overlap",
            next_state="CountEarlierRuns",
        )
        states["CountEarlierRuns"] = {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "Only a run that started before this one makes it skip.",
            "Output": _EARLIER_RUNS,
            "Next": "CheckOverlap",
        }
        states["CheckOverlap"] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.overlap.earlier_runs",
                    "NumericGreaterThan": 0,
                    "Next": "NotifySkipped",
                }
            ],
            "Default": nxt,
        }
        states["NotifySkipped"] = _publish(
            t,
            "run skipped: the previous run is still going",
            _notice(
                t,
                "run skipped",
                f"Run {{}} skipped: another run of {t.names.base} is still running. "
                "Execution: {}",
                "$$.Execution.Name",
                "$$.Execution.Id",
                run="States.JsonToString($.run)",
            ),
            "RunSkipped",
        )
        states["RunSkipped"] = {
            "Type": "Pass",
            "Result": {"status": "skipped", "reason": "another run was still running"},
            "ResultPath": "$.result",
            "End": True,
        }
        return states

    statements = (
        allow(
            "SeeRunningExecutionsOfThisStateMachine",
            ["states:ListExecutions"],
            t.state_machine_arn,
        ),
        _publish_statement(t),
    )
    return Step("ListRunningExecutions", build, statements)


def _empty_input_guard(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """End the run without a job when its input prefix holds no objects."""

    def build(nxt: str) -> States:
        states: States = {}
        states["ListInput"] = _sdk_task(
            t,
            "s3:listObjectsV2",
            {"Bucket": t.input_bucket, "Prefix.$": "$.run.input_prefix", "MaxKeys": 1},
            result_selector={"objects.$": "$.KeyCount"},
            result_path="$.input_check",
            next_state="CheckInputPresent",
        )
        empty = "NotifyNoInput" if pipeline.notify_on_empty_input else "NoInput"
        states["CheckInputPresent"] = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.input_check.objects", "NumericEquals": 0, "Next": empty}],
            "Default": nxt,
        }
        if pipeline.notify_on_empty_input:
            states["NotifyNoInput"] = _publish(
                t,
                "run found no input",
                _notice(
                    t,
                    "run found no input",
                    f"Run {{}} found no objects under its input prefix in s3://{t.input_bucket}/; "
                    "no transform job was started.",
                    "$$.Execution.Name",
                    run="States.JsonToString($.run)",
                ),
                "NoInput",
            )
        states["NoInput"] = {
            "Type": "Pass",
            "Result": {"status": "no-input", "reason": "the input prefix holds no objects"},
            "ResultPath": "$.result",
            "End": True,
        }
        return states

    statements = [list_prefix("CheckForInput", t.input_bucket_arn, pipeline.default_input_prefix)]
    if pipeline.notify_on_empty_input:
        statements.append(_publish_statement(t))
    return Step("ListInput", build, tuple(statements))


def _registry_model(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """A model for this run, from the newest Approved package of the group."""

    def build(nxt: str) -> States:
        states: States = {}
        model = pipeline.model
        group = model.model_package_group
        request = {
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": REGISTRY_PAGE_SIZE,
        }
        states["FindApprovedModel"] = _sdk_task(
            t,
            "sagemaker:listModelPackages",
            request,
            # The whole page (NextToken is absent on the last one) and which page it is.
            result_selector={"page.$": "$", "pages": 1},
            result_path="$.model_package",
            next_state="CheckApprovedModel",
        )
        states["CheckApprovedModel"] = {
            "Type": "Choice",
            "Comment": "With a status filter a page can be empty and still have a NextToken: "
            "follow it (at most REGISTRY_MAX_PAGES pages) until a page holds a package.",
            "Choices": [
                {
                    "Variable": NEWEST_APPROVED_PACKAGE,
                    "IsPresent": True,
                    "Next": "UseApprovedModel",
                },
                {
                    "And": [
                        *_present_string("$.model_package.page.NextToken"),
                        {
                            "Variable": "$.model_package.pages",
                            "NumericLessThan": REGISTRY_MAX_PAGES,
                        },
                    ],
                    "Next": "CountRegistryPage",
                },
            ],
            "Default": "NoApprovedModel",
        }
        states["CountRegistryPage"] = {
            "Type": "Pass",
            "Parameters": {
                "pages.$": "States.MathAdd($.model_package.pages, 1)",
                "next_token.$": "$.model_package.page.NextToken",
            },
            "ResultPath": "$.model_package",
            "Next": "FindApprovedModelNextPage",
        }
        states["FindApprovedModelNextPage"] = _sdk_task(
            t,
            "sagemaker:listModelPackages",
            {**request, "NextToken.$": "$.model_package.next_token"},
            result_path="$.model_package.page",
            next_state="CheckApprovedModel",
        )
        states["NoApprovedModel"] = {
            "Type": "Pass",
            "Parameters": {
                "Error": "NoApprovedModelPackage",
                "Cause": f"Model package group {group} has no Approved package",
            },
            "ResultPath": "$.error",
            "Next": "DescribeFailure",
        }
        states["UseApprovedModel"] = {
            "Type": "Pass",
            "Parameters": {"arn.$": NEWEST_APPROVED_PACKAGE},
            "ResultPath": "$.model_package",
            "Next": "CreateRunModel",
        }
        create: dict[str, Any] = {
            "ModelName.$": "$.run.job_name",
            "ExecutionRoleArn": t.execution_role_arn,
            "PrimaryContainer": {"ModelPackageName.$": "$.model_package.arn"},
            "EnableNetworkIsolation": model.network_isolation,
            "Tags": _tags(pipeline, t),
        }
        if model.vpc is not None:
            create["VpcConfig"] = {
                "Subnets": list(model.vpc.subnet_ids),
                "SecurityGroupIds": list(model.vpc.security_group_ids),
            }
        states["CreateRunModel"] = _sdk_task(
            t,
            "sagemaker:createModel",
            create,
            comment="A model for this run only, named like its transform job; deleted after.",
            next_state=nxt,
        )
        return states

    group = pipeline.model.model_package_group
    assert group is not None  # resolved_per_run
    statements = (
        # ListModelPackages has no resource type (see UNSCOPED_ACTIONS).
        allow("FindApprovedPackages", ["sagemaker:ListModelPackages"], "*"),
        allow(
            "ReadPackagesOfThisGroup",
            ["sagemaker:DescribeModelPackage"],
            t.aws.arn("sagemaker", f"model-package/{group.lower()}/*"),
        ),
        _run_models_statement(t),
    )
    return Step("FindApprovedModel", build, statements, tagged=(_run_models(t),))


def _run_models(t: WorkflowTargets) -> str:
    return t.aws.arn("sagemaker", f"model/{t.names.run_pattern}")


def _run_models_statement(t: WorkflowTargets) -> Statement:
    return allow(
        "CreateAndDeletePerRunModels",
        ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel"],
        _run_models(t),
    )


def _delete_run_model(t: WorkflowTargets, nxt: str) -> dict[str, Any]:
    return _sdk_task(
        t,
        "sagemaker:deleteModel",
        {"ModelName.$": "$.run.job_name"},
        # A model that was never created (or is gone) must not hide the run's real outcome.
        catch=_catch_to(nxt, "$.cleanup_error"),
        next_state=nxt,
    )


def _manifest_expression(pipeline: PipelineConfig, t: WorkflowTargets) -> str:
    model = (
        "$states.input.model_package.arn"
        if pipeline.model.resolved_per_run
        else jsonata_string(str(t.model_name))
    )
    fields = {
        "pipeline": jsonata_string(pipeline.name),
        "environment": jsonata_string(t.environment),
        "run_id": "$states.context.Execution.Name",
        "trigger": "$exists($states.input.trigger) ? $states.input.trigger : 'manual'",
        "model": model,
        "input": f"{jsonata_string(f's3://{t.input_bucket}/')} & $states.input.run.input_prefix",
        "output": "$states.input.transform.output_path",
        "transform_job": "$states.input.transform.job_name",
        "started_at": "$states.context.Execution.StartTime",
        "finished_at": "$now()",
        "duration_seconds": (
            "$round(($toMillis($now()) - $toMillis($states.context.Execution.StartTime)) / 1000)"
        ),
    }
    body = ", ".join(f"'{key}': {value}" for key, value in fields.items())
    return f"{{% $merge([$states.input, {{'manifest': {{{body}}}}}]) %}}"


def _run_model_cleanup(t: WorkflowTargets) -> Step:
    """The per-run model is deleted after the job (after a failure: see the failure handling)."""
    return Step(
        "DeleteRunModel",
        lambda nxt: {"DeleteRunModel": _delete_run_model(t, nxt)},
        (_run_models_statement(t),),
    )


def _manifest(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """What the run did, as one document; written next to its output when configured."""

    def build(nxt: str) -> States:
        states: States = {
            "BuildManifest": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": _manifest_expression(pipeline, t),
                "Next": "WriteManifest" if pipeline.write_manifest else nxt,
            }
        }
        if pipeline.write_manifest:
            output_prefix = _escape_intrinsic(pipeline.run_output_prefix)
            states["WriteManifest"] = _sdk_task(
                t,
                "s3:putObject",
                {
                    "Bucket": t.output_bucket,
                    "Key.$": f"States.Format('{output_prefix}{{}}/{MANIFEST_NAME}', $.run.run_id)",
                    "Body.$": "States.JsonToString($.manifest)",
                    "ContentType": "application/json",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": t.kms_key_arn,
                },
                comment="Downstream jobs can trigger on this object.",
                next_state=nxt,
            )
        return states

    statements: tuple[Statement, ...] = ()
    if pipeline.write_manifest:
        statements = (
            write_objects(
                "WriteRunManifest",
                t.output_bucket_arn,
                f"{pipeline.run_output_prefix}*/{MANIFEST_NAME}",
                multipart=False,
            ),
        )
    return Step("BuildManifest", build, statements)


def _success_notification(t: WorkflowTargets) -> Step:
    def build(nxt: str) -> States:
        return {
            "NotifySuccess": _publish(
                t,
                "batch inference run succeeded",
                _notice(
                    t,
                    "run succeeded",
                    "Run {} succeeded.",
                    "$$.Execution.Name",
                    manifest="States.JsonToString($.manifest)",
                ),
                nxt,
            )
        }

    return Step("NotifySuccess", build, (_publish_statement(t),))


def _transform(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """The transform job (``.sync``), with retries of transient SageMaker errors."""
    timeout_seconds = pipeline.transform.timeout_minutes * 60

    def build(nxt: str) -> States:
        states: States = {}
        states["RunTransformJob"] = {
            "Type": "Task",
            "Resource": _integration(t, "sagemaker:createTransformJob.sync"),
            "Parameters": _transform_parameters(pipeline, t),
            "ResultSelector": {
                "job_name.$": "$.TransformJobName",
                "job_arn.$": "$.TransformJobArn",
                "status.$": "$.TransformJobStatus",
                "output_path.$": "$.TransformOutput.S3OutputPath",
            },
            "ResultPath": "$.transform",
            "TimeoutSeconds": timeout_seconds,
            "Retry": [
                {
                    "ErrorEquals": TRANSIENT_SAGEMAKER_ERRORS,
                    "IntervalSeconds": 30,
                    "MaxAttempts": 3,
                    "BackoffRate": 2.0,
                    "MaxDelaySeconds": 300,
                    "JitterStrategy": "FULL",
                }
            ],
            "Catch": [
                {
                    "ErrorEquals": [GENERIC_SAGEMAKER_ERROR],
                    "ResultPath": "$.error",
                    "Next": "CheckSageMakerError",
                },
                *_catch_to("DescribeFailure"),
            ],
            "Next": nxt,
        }
        states["CheckSageMakerError"] = {
            "Type": "Choice",
            "Comment": "Retry the generic SageMaker error only when its cause is transient.",
            "Choices": [
                {
                    "And": [
                        {
                            "Or": [
                                {"Variable": "$.error.Cause", "StringMatches": pattern}
                                for pattern in TRANSIENT_SAGEMAKER_CAUSES
                            ]
                        },
                        {
                            "Variable": "$.run.attempt",
                            "NumericLessThan": MAX_TRANSIENT_RETRIES,
                        },
                    ],
                    "Next": "WaitBeforeRetry",
                }
            ],
            "Default": "DescribeFailure",
        }
        states["WaitBeforeRetry"] = {
            "Type": "Wait",
            "Seconds": TRANSIENT_RETRY_WAIT_SECONDS,
            "Next": "CountAttempt",
        }
        states["CountAttempt"] = {
            "Type": "Pass",
            "Parameters": {"attempt.$": "States.MathAdd($.run.attempt, 1)"},
            "ResultPath": "$.retry",
            "Next": "NextAttempt",
        }
        states["NextAttempt"] = {
            "Type": "Pass",
            "InputPath": "$.retry.attempt",
            "ResultPath": "$.run.attempt",
            "Next": "RunTransformJob",
        }
        return states

    transform_jobs = t.aws.arn("sagemaker", f"transform-job/{t.names.run_pattern}")
    statements = (
        allow(
            "RunThisPipelinesTransformJobs",
            [
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
            ],
            transform_jobs,
        ),
        allow(
            "PassExecutionRoleToSageMakerOnly",
            ["iam:PassRole"],
            t.execution_role_arn,
            Condition={
                "StringEquals": {"iam:PassedToService": t.aws.service_principal("sagemaker")}
            },
        ),
        allow(
            "ManageSyncCompletionRule",
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            t.aws.arn("events", SYNC_EVENTS_RULE),
        ),
    )
    return Step("RunTransformJob", build, statements, tagged=(transform_jobs,))


def _completion_record(t: WorkflowTargets) -> Step:
    """Record that a transform completed: the one signal the freshness alarm counts (no-input and
    skipped runs also end as succeeded executions, without it). Its own failure does not change
    the run's result; a run that cannot record it shows up as missing data, i.e. the alarm."""

    def build(nxt: str) -> States:
        return {
            "RecordCompletedTransform": _sdk_task(
                t,
                "cloudwatch:putMetricData",
                {
                    "Namespace": t.names.metric_namespace,
                    "MetricData": [
                        {"MetricName": TRANSFORMS_COMPLETED, "Value": 1, "Unit": "Count"}
                    ],
                },
                comment="The freshness alarm counts this metric, not succeeded executions.",
                catch=_catch_to(nxt, "$.metric_error"),
                next_state=nxt,
            )
        }

    statement = allow(
        "RecordCompletedTransforms",
        ["cloudwatch:PutMetricData"],
        "*",  # PutMetricData has no resource type: the namespace condition scopes it
        Condition={"StringEquals": {"cloudwatch:namespace": t.names.metric_namespace}},
    )
    return Step("RecordCompletedTransform", build, (statement,))


def _succeed() -> Step:
    return Step("RunSucceeded", lambda _: {"RunSucceeded": {"Type": "Succeed"}})


def _failure_handling(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """Every failure: describe it, clean up, notify, and fail the run with the original error.
    Not in the chain: every step's Catch leads here, and it ends the run itself."""
    return Step("DescribeFailure", lambda _: _failure_states(pipeline, t), (_publish_statement(t),))


def _failure_states(pipeline: PipelineConfig, t: WorkflowTargets) -> States:
    states: States = {}
    console = (
        _escape_intrinsic(
            console_url(t.aws.partition, t.aws.region, "states/home") + "#/v2/executions/details/"
        )
        + "{}"
    )
    after_describe = (
        "DeleteRunModelAfterFailure" if pipeline.model.resolved_per_run else "NotifyFailure"
    )
    states["DescribeFailure"] = {
        "Type": "Pass",
        "Parameters": {
            SEVERITY_KEY: PAGE,  # subscription filter policies route on it (alert_routing)
            "event": "run failed",
            "pipeline": pipeline.name,
            "environment": t.environment,
            "execution.$": "$$.Execution.Id",
            "run_id.$": "$$.Execution.Name",
            "run_name.$": "$.run.job_name",
            "input_prefix.$": "$.run.input_prefix",
            "error.$": "$.error.Error",
            "cause.$": "$.error.Cause",
            "console.$": f"States.Format('{console}', $$.Execution.Id)",
        },
        "ResultPath": "$.failure",
        "Next": after_describe,
    }
    if pipeline.model.resolved_per_run:
        states["DeleteRunModelAfterFailure"] = _delete_run_model(t, "NotifyFailure")
    # A lost notification must not turn a failed run into a succeeded one: both paths fail.
    states["NotifyFailure"] = _publish(
        t, "batch inference run failed", "States.JsonToString($.failure)", "RunFailed"
    )
    states["RunFailed"] = {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    return states


def build_workflow(pipeline: PipelineConfig, t: WorkflowTargets) -> Workflow:
    """The steps a run of this pipeline takes, in order, chained forward: each step's states
    continue with the next enabled step; failures go to the failure handling."""
    steps: list[Step] = []
    if pipeline.trigger is not None:
        steps.append(_marker_input(pipeline.trigger.marker))
    if pipeline.schedule.input_folder is not None:
        steps.append(_scheduled_input(pipeline, pipeline.schedule.input_folder))
    steps.append(_run_input(pipeline, t))
    if pipeline.overlap == "skip":
        steps.append(_overlap_guard(t))
    if pipeline.skip_empty_input:
        steps.append(_empty_input_guard(pipeline, t))
    if pipeline.model.resolved_per_run:
        steps.append(_registry_model(pipeline, t))
    steps.append(_transform(pipeline, t))
    if pipeline.model.resolved_per_run:
        steps.append(_run_model_cleanup(t))
    steps.append(_completion_record(t))
    if pipeline.write_manifest or pipeline.notify_on_success:
        steps.append(_manifest(pipeline, t))
    if pipeline.notify_on_success:
        steps.append(_success_notification(t))
    steps.append(_succeed())

    failure = _failure_handling(pipeline, t)

    states: States = {}
    following = [step.start for step in steps[1:]] + ["", ""]  # the last two end the run
    for step, next_state in zip([*steps, failure], following, strict=True):
        built = step.build(next_state)
        if states.keys() & built.keys():  # a real check: `python -O` (make synth) strips asserts
            raise RuntimeError(
                f"workflow states defined twice: {sorted(states.keys() & built.keys())}"
            )
        states.update(built)
    timeout_seconds = pipeline.transform.timeout_minutes * 60
    definition = {
        "Comment": f"Scheduled batch inference: {t.names.base}",
        "StartAt": steps[0].start,
        "TimeoutSeconds": timeout_seconds + STATE_MACHINE_GRACE_SECONDS,
        "States": states,
    }
    return Workflow(definition, _policy_statements([*steps, failure]))


def _policy_statements(steps: list[Step]) -> list[Statement]:
    """The steps' statements, each once, and one tagging statement over all they create."""
    statements: list[Statement] = []
    for statement in [s for step in steps for s in step.statements]:
        if statement not in statements:
            statements.append(statement)
    tagged = [arn for step in steps for arn in step.tagged]
    tag = allow(
        "TagWhatThisPipelineCreates",
        ["sagemaker:AddTags", "sagemaker:ListTags"],
        tagged if len(tagged) > 1 else tagged[0],
    )
    return [*statements, tag]


def build_definition(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    return build_workflow(pipeline, t).definition


def definition_json(definition: dict[str, Any]) -> str:
    """Stable, readable JSON text (Terraform shows it decoded in plans)."""
    return json.dumps(definition, indent=2)
