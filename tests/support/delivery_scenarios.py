"""The named scenarios of the delivery count (a pipeline with ``delivery``): outputs missing, an
input of more than one page, a marker and folder keys among the input, more outputs than inputs,
and missing outputs within ``allow_missing_outputs``.

Needs the deployed machine, the happy answers (tests/support/mocked_answers.py) and the listings
(tests/support/listings.py); tests/support/executions.py adds them to a machine's scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.state_names import COUNT_INPUT_PAGE, COUNT_OUTPUT_PAGE
from tests.support.listings import PAGE_KEYS, input_pages, inputs, output_pages, outputs
from tests.support.machines import Machine
from tests.support.mocked_answers import happy_mocks

# The example: 3 of 1,000 inputs have no .out (beyond what the pipeline tolerates).
MISSING_BEYOND_ALLOWED = 3
INPUTS_LISTED = 1000
# Inputs of the run whose missing outputs the pipeline tolerates: that many are missing.
COMPLETE_BESIDES_ALLOWED = 7


def missing_of(allowed: int) -> tuple[int, int]:
    """The "outputs-missing" run of a pipeline that tolerates ``allowed``: how many inputs have
    no output, of how many."""
    missing = allowed + MISSING_BEYOND_ALLOWED
    return missing, max(INPUTS_LISTED, missing + 1)


def allowed_run_inputs(allowed: int) -> int:
    """How many inputs the "outputs-missing-allowed" run lists (``allowed`` of them without
    output)."""
    return allowed + COMPLETE_BESIDES_ALLOWED


def delivery_mocks(
    machine: Machine, name: str, listed: list[tuple[str, int]], written: list[tuple[str, int]]
) -> dict[str, Any]:
    mocks = happy_mocks(machine, name)
    mocks[COUNT_INPUT_PAGE] = input_pages(machine, listed)
    mocks[COUNT_OUTPUT_PAGE] = output_pages(machine, name, written)
    return mocks


def not_input(machine: Machine) -> list[tuple[str, int]]:
    """What lies among the input and is not input: a folder key, a manifest, the marker."""
    prefix = machine.pipeline.default_input_prefix
    found = [(prefix, 0), (f"{prefix}2026-11-25/", 0), (f"{prefix}{MANIFEST_NAME}", 420)]
    if machine.pipeline.trigger is not None:
        found.append((f"{prefix}{machine.pipeline.trigger.marker}", 0))
    return found


def delivery_scenarios(machine: Machine, add: Callable[..., None]) -> None:
    delivery = machine.pipeline.delivery
    if delivery is None:
        return
    missing, total = missing_of(delivery.allow_missing_outputs)
    listed = inputs(machine, total)
    name = "outputs-missing"
    add(name, mocks=delivery_mocks(machine, name, listed, outputs(machine, name, listed[missing:])))
    # Both listings take more than one page (the last one partly filled).
    name = "paged-input"
    listed = inputs(machine, 2 * PAGE_KEYS + 5)
    add(name, mocks=delivery_mocks(machine, name, listed, outputs(machine, name, listed)))
    # An empty object that is not a folder is input, and has its (empty) .out.
    name = "not-input-listed"
    listed = [*inputs(machine, 2), (f"{machine.pipeline.default_input_prefix}empty.csv", 0)]
    written = outputs(machine, name, listed)
    add(name, mocks=delivery_mocks(machine, name, not_input(machine) + listed, written))
    name = "more-outputs"
    listed = inputs(machine, 2)
    written = outputs(machine, name, inputs(machine, 3))
    add(name, mocks=delivery_mocks(machine, name, listed, written))
    if delivery.allow_missing_outputs:
        name = "outputs-missing-allowed"
        listed = inputs(machine, allowed_run_inputs(delivery.allow_missing_outputs))
        written = outputs(machine, name, listed[delivery.allow_missing_outputs :])
        add(name, mocks=delivery_mocks(machine, name, listed, written))
