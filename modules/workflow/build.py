"""``build_workflow``: which steps a run of a pipeline takes, in order, as the pipeline's config
switches them on; and the definition's JSON text.

Needs the pipeline's config and the targets; each step comes from its own module.
"""

from __future__ import annotations

import json
from typing import Any

from modules.config import PipelineConfig
from modules.workflow.chain import Step, Workflow, chain_states, policy_statements
from modules.workflow.delivery_count import delivery_count, manifest_counts
from modules.workflow.delivery_event import ready_event
from modules.workflow.delivery_table import register_partition
from modules.workflow.failure import failure_handling
from modules.workflow.finish import (
    completion_record,
    manifest,
    run_model_cleanup,
    succeed,
    success_notification,
)
from modules.workflow.guards import empty_input_guard, overlap_guard
from modules.workflow.registry import registry_model
from modules.workflow.run_input import marker_input, run_input, scheduled_input
from modules.workflow.shards import shard_items_check, shards
from modules.workflow.targets import WorkflowTargets
from modules.workflow.transform import transform


def build_workflow(pipeline: PipelineConfig, t: WorkflowTargets) -> Workflow:
    """The steps a run of this pipeline takes, in order, chained forward: each step's states
    continue with the next enabled step; failures go to the failure handling."""
    steps: list[Step] = []
    if pipeline.trigger is not None:
        steps.append(marker_input(pipeline.trigger.marker))
    if pipeline.schedule.input_folder is not None:
        steps.append(scheduled_input(pipeline, pipeline.schedule.input_folder))
    steps.append(run_input(pipeline, t))
    sharded = pipeline.transform.shards is not None
    if sharded:
        steps.append(shard_items_check(pipeline))
    if pipeline.overlap == "skip":
        steps.append(overlap_guard(t))
    if pipeline.skip_empty_input:
        steps.append(empty_input_guard(pipeline, t))
    if pipeline.model.resolved_per_run:
        steps.append(registry_model(pipeline, t))
    steps.append(shards(pipeline, t) if sharded else transform(pipeline, t))
    if pipeline.delivery is not None:
        steps.append(delivery_count(pipeline, t))
        if pipeline.delivery.table is not None:
            steps.append(register_partition(pipeline, t))
    if pipeline.model.resolved_per_run:
        steps.append(run_model_cleanup(t))
    steps.append(completion_record(t))
    if pipeline.write_manifest or pipeline.notify_on_success:
        more = manifest_counts() if pipeline.delivery is not None else {}
        if pipeline.delivery is not None and pipeline.delivery.table is not None:
            more["table_partition"] = "$states.input.table_partition"
        if sharded:
            more["shards"] = "$states.input.shards"
            more["rerun_of"] = "$exists($states.input.rerun_of) ? $states.input.rerun_of : null"
        steps.append(manifest(pipeline, t, more))
    if pipeline.delivery is not None:
        steps.append(ready_event(pipeline, t))
    if pipeline.notify_on_success:
        steps.append(success_notification(t))
    steps.append(succeed())

    failure = failure_handling(pipeline, t)
    definition = {
        "Comment": f"Scheduled batch inference: {t.names.base}",
        "StartAt": steps[0].start,
        "TimeoutSeconds": pipeline.transform.run_timeout_seconds,
        "States": chain_states(steps, failure),
    }
    return Workflow(definition, policy_statements([*steps, failure]))


def build_definition(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    """Only the definition of ``build_workflow``."""
    return build_workflow(pipeline, t).definition


def definition_json(definition: dict[str, Any]) -> str:
    """Stable, readable JSON text (Terraform shows it decoded in plans)."""
    return json.dumps(definition, indent=2)
