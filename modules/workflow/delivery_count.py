"""The delivery count: after the transform, the run walks ``ListObjectsV2``'s pages of its input
prefix and of its output folder in a loop of states (no Lambda), counts the objects and bytes that
are input and the ``.out`` objects, and fails the run as incomplete when more inputs than
``delivery.allow_missing_outputs`` have no output; and the IAM that needs (listing those two
prefixes only).

What is not input: the trigger's marker, a run manifest, and "folder" keys (size 0, ending in
``/``). Other empty objects are input: SageMaker reads every object under the S3 prefix, so an
empty file that got no ``.out`` is as much a gap as any other (``allow_missing_outputs`` is the
place to tolerate one that is empty on purpose).

Needs the pipeline's config (its delivery, trigger and prefixes), the targets (buckets) and S3's
page size (modules/config/aws_facts.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.config.aws_facts import (
    LIST_OBJECTS_MAX_KEYS,
    S3_MAX_KEY_BYTES,
    STATE_PAYLOAD_BYTES,
)
from modules.iam import list_prefix
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    TRANSIENT_SDK_RETRY,
    integration,
    jsonata_catch_to,
    jsonata_string,
)
from modules.workflow.chain import States, Step
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.targets import WorkflowTargets

# What one listed object takes in a page's result besides its key (ETag, LastModified, Size,
# StorageClass, checksum and restore members, JSON punctuation: about 250 bytes at most); and the
# page's own members.
LISTED_OBJECT_BYTES = 320
PAGE_BYTES = 4096
# As many keys a page as S3 gives, but never a page whose result could exceed the state payload
# limit (an uncatchable States.DataLimitExceeded), however long its keys: 1,000 keys of 100
# characters would already be over it.
PAGE_KEYS = min(
    LIST_OBJECTS_MAX_KEYS,
    (STATE_PAYLOAD_BYTES - PAGE_BYTES) // (S3_MAX_KEY_BYTES + LISTED_OBJECT_BYTES),
)
# The error a run with outputs missing fails with (its cause is the page's sentence).
INCOMPLETE_OUTPUT_ERROR = "IncompleteOutput"
OUTPUT_SUFFIX = ".out"
# The counts, as the execution output and the manifest give them.
COUNTS = ("input_objects", "input_bytes", "output_objects", "output_bytes", "missing_outputs")


def not_input_names(pipeline: PipelineConfig) -> list[str]:
    """Object names under the input prefix that are not input: the run's manifest, the marker."""
    return [MANIFEST_NAME] + ([pipeline.trigger.marker] if pipeline.trigger else [])


def is_input(pipeline: PipelineConfig, key: str, size: int) -> bool:
    """One listed object is input (``is_input_predicate``, for ``./ops why``): not a "folder"
    key, nor one of ``not_input_names``."""
    folder = size == 0 and key.endswith("/")
    return not folder and key.split("/")[-1] not in not_input_names(pipeline)


def is_input_predicate(pipeline: PipelineConfig) -> str:
    """A JSONata predicate over one listed object: it is input (``is_input``)."""
    names = ", ".join(jsonata_string(name) for name in not_input_names(pipeline))
    return (
        f"$not(Size = 0 and $substring(Key, -1) = '/') and $not($split(Key, '/')[-1] in [{names}])"
    )


def _fold(kind: str, predicate: str, extra: str = "") -> str:
    """The state's output: the input, with this page's objects and bytes added to ``kind``'s
    counts, and the page's continuation token (absent on the last page) at ``$.listing``."""
    return (
        "{% ( $d := $states.input.delivery; "
        f"$page := $states.result.Contents[{predicate}]; $bytes := $sum($page.Size); "
        f"$c := $merge([$d, {{'{kind}_objects': $d.{kind}_objects + $count($page), "
        f"'{kind}_bytes': $d.{kind}_bytes + ($exists($bytes) ? $bytes : 0)}}]); "
        f"$merge([$states.input, {{'delivery': $merge([$c, {{{extra}}}]), "
        "'listing': {'token': $states.result.NextContinuationToken}}]) ) %}"
    )


def _list_page(t: WorkflowTargets, bucket: str, prefix: str, fold: str, nxt: str) -> dict[str, Any]:
    """One ``ListObjectsV2`` page (the next one while ``$.listing.token`` is set), folded into the
    counts. Only the counts are kept, so the state's output stays small."""
    request = f"{{'Bucket': {jsonata_string(bucket)}, 'Prefix': {prefix}, 'MaxKeys': {PAGE_KEYS}}}"
    token = "$states.input.listing.token"
    next_page = f"$exists({token}) ? {{'ContinuationToken': {token}}} : {{}}"
    return {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": integration(t, "aws-sdk:s3:listObjectsV2"),
        "Arguments": f"{{% $merge([{request}, {next_page}]) %}}",
        "Output": fold,
        "Retry": [TRANSIENT_SDK_RETRY],
        "Catch": jsonata_catch_to(sn.DESCRIBE_FAILURE),
        "Next": nxt,
    }


def _more_pages(this_page: str, nxt: str) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": "$.listing.token", "IsPresent": True, "Next": this_page}],
        "Default": nxt,
    }


def _incomplete_cause(allowed: int) -> str:
    """The page's sentence: ``incomplete output: 3 of 1,000 inputs have no .out``."""
    number = "$formatNumber($states.input.delivery.{}, '#,##0')"
    cause = (
        f"'incomplete output: ' & {number.format('missing_outputs')} & ' of ' & "
        f"{number.format('input_objects')} & ' inputs have no {OUTPUT_SUFFIX}'"
    )
    return cause + (f" & ' ({allowed:,} allowed)'" if allowed else "")


def _count_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    assert pipeline.delivery is not None
    allowed = pipeline.delivery.allow_missing_outputs
    output_folder = f"{jsonata_string(pipeline.run_output_prefix)} & $states.input.run.run_id & '/'"
    missing = "'missing_outputs': $max([0, $d.input_objects - $c.output_objects])"
    zero = ", ".join(f"'{count}': 0" for count in COUNTS)
    return {
        sn.START_COUNTING: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "Batch Transform writes one output object per input object: count both.",
            "Output": (
                f"{{% $merge([$states.input, {{'delivery': {{{zero}}}, 'listing': {{}}}}]) %}}"
            ),
            "Next": sn.COUNT_INPUT_PAGE,
        },
        sn.COUNT_INPUT_PAGE: _list_page(
            t,
            t.input_bucket,
            "$states.input.run.input_prefix",
            _fold("input", is_input_predicate(pipeline)),
            sn.CHECK_INPUT_PAGES,
        ),
        sn.CHECK_INPUT_PAGES: _more_pages(sn.COUNT_INPUT_PAGE, sn.COUNT_OUTPUT_PAGE),
        sn.COUNT_OUTPUT_PAGE: _list_page(
            t,
            t.output_bucket,
            output_folder,
            _fold("output", f"$substring(Key, -{len(OUTPUT_SUFFIX)}) = '{OUTPUT_SUFFIX}'", missing),
            sn.CHECK_OUTPUT_PAGES,
        ),
        sn.CHECK_OUTPUT_PAGES: _more_pages(sn.COUNT_OUTPUT_PAGE, sn.CHECK_OUTPUTS_COMPLETE),
        sn.CHECK_OUTPUTS_COMPLETE: {
            "Type": "Choice",
            "Comment": "More outputs than inputs is not a failure: the manifest records both.",
            "Choices": [
                {
                    "Variable": "$.delivery.missing_outputs",
                    "NumericGreaterThan": allowed,
                    "Next": sn.INCOMPLETE_OUTPUT,
                }
            ],
            "Default": nxt,
        },
        sn.INCOMPLETE_OUTPUT: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": (
                "{% $merge([$states.input, {'error': {'Error': "
                f"{jsonata_string(INCOMPLETE_OUTPUT_ERROR)}, "
                f"'Cause': {_incomplete_cause(allowed)}}}}}]) %}}"
            ),
            "Next": sn.DESCRIBE_FAILURE,
        },
    }


def delivery_count(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """Count the run's input and output objects; fail the run when outputs are missing."""
    statements = (
        list_prefix("CountRunInput", t.input_bucket_arn, pipeline.default_input_prefix),
        list_prefix("CountRunOutput", t.output_bucket_arn, pipeline.run_output_prefix),
    )
    return Step(sn.START_COUNTING, partial(_count_states, pipeline, t), statements)


def manifest_counts() -> dict[str, str]:
    """The manifest's fields for the counts (JSONata, over the manifest state's input)."""
    return {count: f"$states.input.delivery.{count}" for count in COUNTS}
