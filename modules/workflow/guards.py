"""The guards that end a run early, without a transform job, and say so: the overlap guard (an
earlier run of the same state machine is still going) and the empty-input guard (the input prefix
holds no objects).

Needs the pipeline's config and the targets (its state machine, input bucket and alert topic).
"""

from __future__ import annotations

from functools import partial

from modules.config import PipelineConfig
from modules.config.botocore_facts import request_member
from modules.iam import Statement, allow, list_prefix
from modules.workflow import state_names as sn
from modules.workflow.asl import notice, publish, publish_statement, sdk_task
from modules.workflow.chain import States, Step
from modules.workflow.targets import WorkflowTargets

# Runs started earlier than this one (ties broken by name), among the running executions listed.
# The earliest run never yields, so runs that start together cannot all skip. ListExecutions is
# eventually consistent: a run that started moments before may not be listed yet, and then both
# run (docs/runs-and-alerts.md, "Overlap guard"). SDK integrations may give timestamps as ISO
# text or epoch numbers.
# One page of running executions: as many as Step Functions' model allows (a run skips itself
# when an earlier one is among them).
LIST_EXECUTIONS_PAGE_SIZE: int = request_member("stepfunctions:ListExecutions.maxResults")["max"]
_EARLIER_RUNS = (
    "{% ( $ms := function($d) { $type($d) = 'number' ? ($d < 100000000000 ? $d * 1000 : $d) "
    ": $toMillis($d) }; $me := $states.context.Execution.Name; "
    "$start := $toMillis($states.context.Execution.StartTime); "
    "$merge([$states.input, {'overlap': {'earlier_runs': $count($states.input.overlap.running"
    "[Name != $me and ($ms(StartDate) < $start or ($ms(StartDate) = $start and Name < $me))])}}]) "
    ") %}"
)


def _overlap_states(t: WorkflowTargets, nxt: str) -> States:
    states: States = {}
    states[sn.LIST_RUNNING_EXECUTIONS] = sdk_task(
        t,
        "sfn:listExecutions",
        {
            "StateMachineArn.$": "$$.StateMachine.Id",
            "StatusFilter": "RUNNING",
            "MaxResults": LIST_EXECUTIONS_PAGE_SIZE,
        },
        comment="Running executions of this state machine, this run among them.",
        result_selector={"running.$": "$.Executions"},
        result_path="$.overlap",
        next_state=sn.COUNT_EARLIER_RUNS,
    )
    states[sn.COUNT_EARLIER_RUNS] = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Comment": "Only a run that started before this one makes it skip.",
        "Output": _EARLIER_RUNS,
        "Next": sn.CHECK_OVERLAP,
    }
    states[sn.CHECK_OVERLAP] = {
        "Type": "Choice",
        "Choices": [
            {
                "Variable": "$.overlap.earlier_runs",
                "NumericGreaterThan": 0,
                "Next": sn.NOTIFY_SKIPPED,
            }
        ],
        "Default": nxt,
    }
    return states | _skip_states(t)


def _skip_states(t: WorkflowTargets) -> States:
    """Say that the run is skipped, then end it as succeeded, with the reason as its result."""
    message = notice(
        t,
        "run skipped",
        f"Run {{}} skipped: another run of {t.names.base} is still running. Execution: {{}}",
        "$$.Execution.Name",
        "$$.Execution.Id",
        run="States.JsonToString($.run)",
    )
    return {
        sn.NOTIFY_SKIPPED: publish(
            t, "run skipped: the previous run is still going", message, sn.RUN_SKIPPED
        ),
        sn.RUN_SKIPPED: {
            "Type": "Pass",
            "Result": {"status": "skipped", "reason": "another run was still running"},
            "ResultPath": "$.result",
            "End": True,
        },
    }


def overlap_guard(t: WorkflowTargets) -> Step:
    """Skip the run (and say so) while an earlier run is still going."""
    statements = (
        allow(
            "SeeRunningExecutionsOfThisStateMachine",
            ["states:ListExecutions"],
            t.state_machine_arn,
        ),
        publish_statement(t),
    )
    return Step(sn.LIST_RUNNING_EXECUTIONS, partial(_overlap_states, t), statements)


def _empty_input_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    states: States = {}
    states[sn.LIST_INPUT] = sdk_task(
        t,
        "s3:listObjectsV2",
        {"Bucket": t.input_bucket, "Prefix.$": "$.run.input_prefix", "MaxKeys": 1},
        result_selector={"objects.$": "$.KeyCount"},
        result_path="$.input_check",
        next_state=sn.CHECK_INPUT_PRESENT,
    )
    empty = sn.NOTIFY_NO_INPUT if pipeline.notify_on_empty_input else sn.NO_INPUT
    states[sn.CHECK_INPUT_PRESENT] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.input_check.objects", "NumericEquals": 0, "Next": empty}],
        "Default": nxt,
    }
    if pipeline.notify_on_empty_input:
        states[sn.NOTIFY_NO_INPUT] = publish(
            t,
            "run found no input",
            notice(
                t,
                "run found no input",
                f"Run {{}} found no objects under its input prefix in s3://{t.input_bucket}/; "
                "no transform job was started.",
                "$$.Execution.Name",
                run="States.JsonToString($.run)",
            ),
            sn.NO_INPUT,
        )
    states[sn.NO_INPUT] = {
        "Type": "Pass",
        "Result": {"status": "no-input", "reason": "the input prefix holds no objects"},
        "ResultPath": "$.result",
        "End": True,
    }
    return states


def empty_input_guard(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """End the run without a job when its input prefix holds no objects."""
    statements: list[Statement] = [
        list_prefix("CheckForInput", t.input_bucket_arn, pipeline.default_input_prefix)
    ]
    if pipeline.notify_on_empty_input:
        statements.append(publish_statement(t))
    return Step(sn.LIST_INPUT, partial(_empty_input_states, pipeline, t), tuple(statements))
