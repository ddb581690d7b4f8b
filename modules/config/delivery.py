"""``DeliveryConfig``: what a run delivers beyond its ``.out`` files (``pipelines[].delivery``),
opt-in. With it, a run counts its input and output objects after the transform and fails when
inputs have no output.

Needs only the base model (modules/config/fields.py).
"""

from __future__ import annotations

from pydantic import Field

from modules.config.fields import StrictModel


class DeliveryConfig(StrictModel):
    """A run delivers a dataset: every input accounted for."""

    allow_missing_outputs: int = Field(
        default=0,
        ge=0,
        description="Inputs that may have no `.out` object before the run fails as incomplete "
        "(Batch Transform writes one output object per input object). The run's manifest and "
        "output report how many were missing.",
    )
