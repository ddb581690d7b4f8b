"""The named scenarios of the predictions table (a pipeline with ``delivery.table``): Glue refuses
the run's partition in BatchCreatePartition's result, the partition is there already (this run's,
from an earlier attempt), and the call itself fails.

Needs the deployed machine and the happy answers (tests/support/mocked_answers.py);
tests/support/executions.py adds them to a machine's scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modules.workflow.delivery_table import ALREADY_EXISTS
from modules.workflow.state_names import REGISTER_PARTITION
from tests.support.machines import Machine
from tests.support.mocked_answers import happy_mocks, ok, throw

# What Glue says of a partition whose values do not fit the table, and of a table that is gone.
REFUSED = (
    "InvalidInputException",
    "The number of partition keys do not match the number of partition values.",
)
GLUE_ERROR = ("Glue.EntityNotFoundException", "Table not found.")


def partition_errors(values: list[str], code: str, message: str) -> dict[str, Any]:
    """BatchCreatePartition's answer: 200, with the partition in Errors."""
    return ok(
        {
            "Errors": [
                {
                    "PartitionValues": values,
                    "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message},
                }
            ]
        }
    )


def table_scenarios(machine: Machine, add: Callable[..., None], run_date: str) -> None:
    delivery = machine.pipeline.delivery
    if delivery is None or delivery.table is None:
        return
    for name, code, message in (
        ("partition-refused", *REFUSED),
        ("partition-exists", ALREADY_EXISTS, "Partition already exists."),
    ):
        mocks = happy_mocks(machine, name)
        mocks[REGISTER_PARTITION] = partition_errors([run_date, name], code, message)
        add(name, mocks=mocks)
    mocks = happy_mocks(machine, "partition-glue-error")
    mocks[REGISTER_PARTITION] = throw(*GLUE_ERROR)
    add("partition-glue-error", mocks=mocks)
