"""Every output of the app comes from the one table in modules/stacks/outputs.py, and the table
holds no row that no stack exports."""

from __future__ import annotations

from typing import Any

import pytest

from modules.stacks.outputs import OUTPUTS, output_of
from tools import outputs_reference


def _outputs(stacks: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (name, output.get("description", ""))
        for document in stacks.values()
        for name, output in document.get("output", {}).items()
        if not name.startswith(outputs_reference.CROSS_STACK_OUTPUT)
    ]


def test_every_output_is_a_row_of_the_table(stacks: dict[str, dict[str, Any]]) -> None:
    for name, description in _outputs(stacks):
        assert output_of(name, description) is not None, name


def test_every_row_of_the_table_is_exported(stacks: dict[str, dict[str, Any]]) -> None:
    used = {output_of(name, description) for name, description in _outputs(stacks)}
    assert {row.name for row in used if row is not None} == set(OUTPUTS)


def test_an_output_outside_the_table_is_refused() -> None:
    stack = {"output": {"bucket": {"value": "x", "description": "A bucket somebody added"}}}
    with pytest.raises(ValueError, match="output bucket is not in"):
        outputs_reference.render({"mlbatch-dev": stack})


def test_a_description_that_drifted_from_its_row_is_refused() -> None:
    description = "Schedule of churn (pause it in the console)"
    assert output_of("churn_schedule_name", description) is None
