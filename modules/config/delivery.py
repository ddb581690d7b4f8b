"""``DeliveryConfig``: what a run delivers beyond its ``.out`` files (``pipelines[].delivery``),
opt-in. With it, a run counts its input and output objects after the transform and fails when
inputs have no output.

After a complete run, it registers the run's partition of the predictions table (``table``,
modules/config/table.py) and puts one "Batch predictions ready" event on the environment's default
event bus, or ``event_bus``.

Needs the base model (modules/config/fields.py) and the table's config.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from modules.config.fields import AwsName, StrictModel, TfStr
from modules.config.table import TableConfig

EventBusName = Annotated[TfStr, AfterValidator(AwsName("events:CreateEventBus.Name", "event bus"))]


class DeliveryConfig(StrictModel):
    """A run delivers a dataset: every input accounted for."""

    allow_missing_outputs: int = Field(
        default=0,
        ge=0,
        description="Inputs that may have no `.out` object before the run fails as incomplete "
        "(Batch Transform writes one output object per input object). The run's manifest and "
        "output report how many were missing.",
    )
    event_bus: EventBusName | None = Field(
        default=None,
        description="Name of the event bus in the environment's account and region that gets the "
        "'Batch predictions ready' event of each complete run (default: the account's default "
        "bus).",
    )
    table: TableConfig | None = Field(
        default=None,
        description="A Glue Data Catalog table over the output prefix, partitioned by run_date "
        "and run_id; each complete run registers its partition (off by default): see Table.",
    )
