"""The run's partition of the predictions table: after a complete run (counted: modules/workflow/
delivery_count.py), ``BatchCreatePartition`` (the Glue AWS SDK integration, no Lambda) adds the
partition (``run_date``, ``run_id``) at the run's output folder, with the table's storage
descriptor; and the IAM that needs (that table, its database and the catalog only).

BatchCreatePartition answers 200 with per-partition ``Errors``: a run whose partition got one
fails (``PartitionNotRegistered``, a page through the failure handling), except
``AlreadyExistsException``. The run id is the execution's name, unique per state machine, so an
existing partition with these values is this run's own, at the same location, added by an earlier
attempt of this state whose answer was lost (the Retry after a Glue timeout or internal error, or
States.Timeout, when Glue did create it): the outcome the run wants, not a conflict. A re-run of a
date is another execution and adds its own partition; none is overwritten.

Needs the pipeline's config and the targets (AWS context, names, output bucket); the table
(modules/predictions_table.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.iam import Statement, allow
from modules.naming import Names
from modules.predictions_table import PredictionsTable
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    integration,
    jsonata_catch_to,
    jsonata_string,
    transient_retry,
)
from modules.workflow.chain import States, Step
from modules.workflow.targets import WorkflowTargets

PARTITION_NOT_REGISTERED_ERROR = "PartitionNotRegistered"
# The per-partition error that is this run's partition already there (see the module's doc).
ALREADY_EXISTS = "AlreadyExistsException"
# Errors of BatchCreatePartition a later attempt can get past.
GLUE_TRANSIENT = [
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
    "Glue.ConcurrentModificationException",
]
RUN_DATE_PICTURE = "[Y0001]-[M01]-[D01]"
# The run's date: its scheduled time's (scheduled runs), else its start's; UTC either way.
RUN_DATE = (
    "$fromMillis($toMillis($exists($states.input.scheduled_time) ? "
    "$states.input.scheduled_time : $states.context.Execution.StartTime), "
    f"{jsonata_string(RUN_DATE_PICTURE)})"
)
RUN_ID = "$states.context.Execution.Name"


def predictions_table(pipeline: PipelineConfig, t: WorkflowTargets) -> PredictionsTable | None:
    return PredictionsTable.of(pipeline, Names(t.names.project, t.environment))


def table_arns(table: PredictionsTable, t: WorkflowTargets) -> list[str]:
    """What BatchCreatePartition is authorized on: the catalog, the database and the table."""
    return [
        t.aws.arn("glue", "catalog"),
        t.aws.arn("glue", f"database/{table.database}"),
        t.aws.arn("glue", f"table/{table.database}/{table.name}"),
    ]


def partition_object(table: PredictionsTable) -> str:
    """The run's partition as the event gives it (JSONata, over a state's input)."""
    return (
        f"{{'database': {jsonata_string(table.database)}, 'table': {jsonata_string(table.name)}, "
        f"'run_date': {RUN_DATE}, 'run_id': {RUN_ID}}}"
    )


def _request(pipeline: PipelineConfig, t: WorkflowTargets, table: PredictionsTable) -> str:
    folder = f"s3://{t.output_bucket}/{pipeline.run_output_prefix}"
    # The descriptor's location is the run's folder, appended in JSONata below.
    descriptor = table.storage_descriptor("")
    del descriptor["Location"]
    body = (
        f"{{'DatabaseName': {jsonata_string(table.database)}, "
        f"'TableName': {jsonata_string(table.name)}, "
        f"'PartitionInputList': [{{'Values': [{RUN_DATE}, {RUN_ID}], "
        f"'StorageDescriptor': $merge([{_jsonata_value(descriptor)}, "
        f"{{'Location': {jsonata_string(folder)} & {RUN_ID} & '/'}}])}}]}}"
    )
    return f"{{% {body} %}}"


def _jsonata_value(value: Any) -> str:
    """A JSON value as a JSONata literal (its strings through ``jsonata_string``)."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{jsonata_string(k)}: {_jsonata_value(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_jsonata_value(item) for item in value) + "]"
    return jsonata_string(value)


def _not_registered_cause(table: PredictionsTable) -> str:
    """The page's sentence: which partition, and Glue's error(s)."""
    errors = (
        "$join($states.input.partition_errors.(ErrorDetail.ErrorCode & ': ' & "
        "ErrorDetail.ErrorMessage), '; ')"
    )
    return (
        f"'partition run_date=' & $states.input.table_partition.run_date & ', run_id=' & "
        f"$states.input.table_partition.run_id & ' of ' & "
        f"{jsonata_string(f'{table.database}.{table.name}')} & ' not registered: ' & {errors}"
    )


def _partition_states(
    pipeline: PipelineConfig, t: WorkflowTargets, table: PredictionsTable, nxt: str
) -> States:
    refused = f"$states.result.Errors[ErrorDetail.ErrorCode != {jsonata_string(ALREADY_EXISTS)}]"
    return {
        sn.REGISTER_PARTITION: {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Comment": "The run's output folder becomes its partition: the layout does not change.",
            "Resource": integration(t, "aws-sdk:glue:batchCreatePartition"),
            "Arguments": _request(pipeline, t, table),
            # partition_errors only when Glue refused the partition (absent keys are left out).
            "Output": (
                f"{{% ( $refused := [{refused}]; $merge([$states.input, "
                f"{{'table_partition': {partition_object(table)}, "
                "'partition_errors': $count($refused) > 0 ? $refused}]) ) %}"
            ),
            "Retry": [transient_retry(GLUE_TRANSIENT)],
            "Catch": jsonata_catch_to(sn.DESCRIBE_FAILURE),
            "Next": sn.CHECK_PARTITION_REGISTERED,
        },
        sn.CHECK_PARTITION_REGISTERED: {
            "Type": "Choice",
            "Comment": "BatchCreatePartition reports a refused partition in its result, not as "
            "an error.",
            "Choices": [
                {
                    "Variable": "$.partition_errors",
                    "IsPresent": True,
                    "Next": sn.PARTITION_NOT_REGISTERED,
                }
            ],
            "Default": nxt,
        },
        sn.PARTITION_NOT_REGISTERED: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": (
                "{% $merge([$states.input, {'error': {'Error': "
                f"{jsonata_string(PARTITION_NOT_REGISTERED_ERROR)}, "
                f"'Cause': {_not_registered_cause(table)}}}}}]) %}}"
            ),
            "Next": sn.DESCRIBE_FAILURE,
        },
    }


def register_partition(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """Add the run's partition to the pipeline's predictions table."""
    table = predictions_table(pipeline, t)
    assert table is not None
    statement: Statement = allow(
        "RegisterRunPartitions", ["glue:BatchCreatePartition"], table_arns(table, t)
    )
    return Step(sn.REGISTER_PARTITION, partial(_partition_states, pipeline, t, table), (statement,))
