"""``Step`` (one part of a run: its states and the IAM statements they need) and the chain that
joins the enabled steps into one definition's states and one policy's statements (``Workflow``).

Needs only the IAM statement builder (modules/iam.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modules.iam import Statement, allow

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


def every_state(states: States) -> dict[str, dict[str, Any]]:
    """Every state of a definition's ``States``, those a Map or Parallel runs included, by name
    (a definition's state names are unique throughout)."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        found[name] = state
        inner = [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]
        for machine in filter(None, inner):
            found |= every_state(machine["States"])
    return found


def chain_states(steps: list[Step], failure: Step) -> States:
    """Every step's states, each step continuing with the next one's first state; the last step
    and the failure handling end the run themselves."""
    states: States = {}
    following = [step.start for step in steps[1:]] + ["", ""]  # the last two end the run
    for step, next_state in zip([*steps, failure], following, strict=True):
        built = step.build(next_state)
        if states.keys() & built.keys():  # a real check: `python -O` (make synth) strips asserts
            raise RuntimeError(
                f"workflow states defined twice: {sorted(states.keys() & built.keys())}"
            )
        states.update(built)
    return states


def policy_statements(steps: list[Step]) -> list[Statement]:
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
