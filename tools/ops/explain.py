"""What ``why`` shows beyond a run's own record (tools/ops/cli.py): a manifest S3 refused to give,
and the inputs of an ``IncompleteOutput`` run without output. A sharded run's failed shards are
tools/ops/shards.py's. Each is a list of lines (``Item``: what, and its value)."""

from __future__ import annotations

from modules.workflow.delivery_count import OUTPUT_SUFFIX
from tools.ops.aws import Aws
from tools.ops.delivery import missing_outputs
from tools.ops.target import Target

Item = tuple[str, str]  # a line of `why`: what, and its value
# `why` shows this many of a list of input keys (without an output, of a failed shard).
MISSING_SHOWN = 20


def first_keys(what: str, keys: list[str]) -> list[Item]:
    """The first ``MISSING_SHOWN`` keys, one line each, and how many more."""
    items: list[Item] = [(what, key) for key in keys[:MISSING_SHOWN]]
    if len(keys) > MISSING_SHOWN:
        items.append(("", f"... and {len(keys) - MISSING_SHOWN:,} more"))
    return items


def unreadable_manifest(target: Target, location: str, denied: str) -> str:
    """A manifest S3 refused to give: which permission is likely missing (the operator policy,
    modules/operator_policy.py, has both), rather than "none", which would say the run wrote
    nothing."""
    key = f"kms:Decrypt on the environment's key {target.environment_names.key_alias}"
    likely = key if "kms" in denied.lower() else f"s3:GetObject on it, or {key}"
    return f"{location} could not be read (AccessDenied: {denied}); likely missing: {likely}"


def missing_output_items(aws: Aws, target: Target, run: str, input_prefix: str) -> list[Item]:
    """The inputs of the run that have no ``.out``, from listings made now (client-side: the run
    itself only counted)."""
    folder = f"{target.pipeline.run_output_prefix}{run}/"
    inputs = aws.objects(target.bucket("input"), input_prefix)
    outputs = aws.objects(target.output_bucket, folder)
    total, missing = missing_outputs(target.pipeline, input_prefix, folder, inputs, outputs)
    items: list[Item] = [
        ("missing outputs", f"{len(missing):,} of {total:,} inputs have no {OUTPUT_SUFFIX} now")
    ]
    return items + first_keys("no output", missing)
