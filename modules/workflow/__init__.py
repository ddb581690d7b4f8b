"""The state machine definition of one pipeline, as plain Python data (Amazon States Language),
and the IAM statements its tasks need.

Each step of a run is one ``Step``: its states and the statements they need, side by side.
``build_workflow`` chains the enabled steps forward (each continues with the next one's first
state), so the definition lists its states in the order a run takes them, and the policy lists the
statements in the same order, then one tagging statement over what the steps create.

A run (JSONPath; the computed values use JSONata Pass states): its input, then per config an
overlap guard, an empty-input guard and a model from the registry, then the transform job, then
per config the per-run model's deletion, a manifest and a success notification. Every failure goes
to the failure handling, which describes it, cleans up, notifies and fails the run. Every state,
with what it does and where it goes: docs/run-states.md, generated from these definitions by
tools/run_states.py (a test keeps it current); every state's name: ``state_names``.

Run identity: the run id is the execution name (unique per state machine); a per-run model is
named ``<project>-<env>-<pipeline>-<MD5 of the execution name>`` and each transform job attempt
``<project>-<env>-<pipeline>-<MD5 of execution name/state entered time/retry count>``, valid
for SageMaker (63 characters, [a-zA-Z0-9-]) whatever execution name a caller chose, and new on
every retry and every new entry into the state; outputs land under ``<output prefix><run id>/`` so
runs never overwrite each other. A failed run is re-run as a new execution, not redriven: every
failure ends in the ``RunFailed`` Fail state, where a redrive would resume and fail again.

This package's public names are importable from ``modules.workflow`` itself.
"""

from modules.workflow import state_names
from modules.workflow.asl import TRANSIENT_SDK_RETRY, jsonata_string
from modules.workflow.build import (
    build_definition,
    build_workflow,
    definition_json,
)
from modules.workflow.chain import States, Step, Workflow
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.registry import (
    NEWEST_APPROVED_PACKAGE,
    REGISTRY_MAX_PAGES,
    REGISTRY_PAGE_SIZE,
)
from modules.workflow.targets import WorkflowTargets
from modules.workflow.transform import (
    GENERIC_SAGEMAKER_ERROR,
    MAX_TRANSIENT_RETRIES,
    SYNC_EVENTS_RULE,
    TRANSIENT_RETRY_WAIT_SECONDS,
    TRANSIENT_SAGEMAKER_CAUSES,
    TRANSIENT_SAGEMAKER_ERRORS,
)

__all__ = [
    "GENERIC_SAGEMAKER_ERROR",
    "MANIFEST_NAME",
    "MAX_TRANSIENT_RETRIES",
    "NEWEST_APPROVED_PACKAGE",
    "REGISTRY_MAX_PAGES",
    "REGISTRY_PAGE_SIZE",
    "SYNC_EVENTS_RULE",
    "TRANSIENT_RETRY_WAIT_SECONDS",
    "TRANSIENT_SAGEMAKER_CAUSES",
    "TRANSIENT_SAGEMAKER_ERRORS",
    "TRANSIENT_SDK_RETRY",
    "States",
    "Step",
    "Workflow",
    "WorkflowTargets",
    "build_definition",
    "build_workflow",
    "definition_json",
    "jsonata_string",
    "state_names",
]
