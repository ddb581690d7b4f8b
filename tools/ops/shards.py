"""Sharded runs (``transform.shards``) for ``./ops``: a run's failed shards, read from its shards
folder (modules/shard_layout.py: one record per failed shard, and each shard's SageMaker manifest
of its input files), as ``why`` shows them, and ``rerun --failed``: their input files, in shard
order, written as a new run's rerun items, and the input the workflow (modules/workflow/shards.py)
takes to run exactly those files.

Every key is modules/shard_layout.py's; the calls are tools/ops/aws.py's (a listing of the run's
``failed/`` folder, every page; a GetObject of each record and of its shard's manifest; for a
rerun, one PutObject of the items and the StartExecution).

A re-run is named ``<run>-rerun-<UTC start>`` (``20261201T080000Z``), the run written as backfill
writes a folder into a name (``backfill.name_part``: only characters Step Functions' logging takes,
cut with a hash to fit the name's limit), so a rerun of a rerun stays a valid name too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modules.shard_layout import (
    FAILED_FOLDER,
    FAILED_SUFFIX,
    manifest_key,
    rerun_items_key,
    run_shards,
)
from modules.workflow.shards import reruns_failed_shards
from tools.ops.aws import Aws
from tools.ops.backfill import max_execution_name, name_part, stamp_text
from tools.ops.explain import Item, first_keys
from tools.ops.target import OpsError, Target

RERUN_MARK = "-rerun-"
RERUN_TRIGGER = "rerun"  # the run's ``trigger``, as `runs` shows it


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


@dataclass(frozen=True)
class FailedShard:
    """One failed shard: its record (``shard_layout.FAILED_RECORD_FIELDS``) and its manifest's
    input files (``source``, the manifest's prefix, None when the shard wrote no manifest)."""

    shard: str
    job: str | None
    error: str | None
    cause: str | None
    manifest: str  # s3://<output bucket>/<its manifest key>
    source: str | None = None  # s3://<input bucket>/<the run's input prefix>
    files: tuple[str, ...] = ()  # keys relative to ``source``

    @property
    def _job_details(self) -> dict[str, Any]:
        """A job that ran failed with its DescribeTransformJob answer as the cause."""
        try:
            details = json.loads(self.cause or "")
        except ValueError:
            return {}
        return details if isinstance(details, dict) else {}

    @property
    def failure_reason(self) -> str | None:
        reason = self._job_details.get("FailureReason")
        return str(reason) if reason else None

    @property
    def job_shown(self) -> str:
        """The shard's last job: its name from the cause, else the record's name stem (each
        attempt's name is the stem and its retry count), else none."""
        name = self._job_details.get("TransformJobName")
        if name:
            return f"job {name}"
        return f"job name stem {self.job}" if self.job else "job - (none started)"

    def input_prefix(self, input_bucket: str) -> str | None:
        """The input prefix the run read (the manifest's prefix, in the input bucket)."""
        head = s3_uri(input_bucket, "")
        if self.source is None or not self.source.startswith(head):
            return None
        return self.source[len(head) :]

    def keys(self, input_bucket: str) -> list[str]:
        prefix = self.input_prefix(input_bucket) or ""
        return [prefix + key for key in self.files]


def failed_folder(target: Target, run: str) -> str:
    return run_shards(target.pipeline.run_output_prefix, run) + FAILED_FOLDER


def _manifest(content: Any, location: str) -> tuple[str, tuple[str, ...]]:
    """A SageMaker manifest file: ``[{"prefix": ...}, "<relative key>", ...]``."""
    if (
        isinstance(content, list)
        and content
        and isinstance(content[0], dict)
        and isinstance(content[0].get("prefix"), str)
        and all(isinstance(key, str) for key in content[1:])
    ):
        return content[0]["prefix"], tuple(content[1:])
    raise OpsError(f'{location} is not a SageMaker manifest ([{{"prefix": ...}}, key, ...])')


def failed_shards(aws: Aws, target: Target, run: str) -> list[FailedShard]:
    """Every failed shard of the run, in shard order: each record under its ``failed/`` folder
    (all pages), with its shard's manifest."""
    bucket = target.output_bucket
    shards_folder = run_shards(target.pipeline.run_output_prefix, run)
    records = sorted(
        key
        for key, _ in aws.objects(bucket, failed_folder(target, run))
        if key.endswith(FAILED_SUFFIX)
    )
    found = []
    for key in records:
        record = aws.json_object(bucket, key)
        if not isinstance(record, dict):
            raise OpsError(f"{s3_uri(bucket, key)} is not a failed-shard record (a JSON object)")
        shard = str(record.get("shard") or key.rsplit("/", 1)[-1].removesuffix(FAILED_SUFFIX))
        manifest = manifest_key(shards_folder, shard)
        location = s3_uri(bucket, manifest)
        content = aws.json_object(bucket, manifest)
        source, files = _manifest(content, location) if content is not None else (None, ())
        found.append(
            FailedShard(
                shard=shard,
                job=record.get("job"),
                error=record.get("error"),
                cause=record.get("cause"),
                manifest=location,
                source=source,
                files=files,
            )
        )
    return found


def rerun_command(target: Target, run: str, input_prefix: str | None = None) -> str:
    """How to run a run's failed shards again: ``rerun --failed``; with delivery (whole datasets
    only), the whole run again on its input prefix."""
    where = f"{target.environment.name} {target.pipeline.name}"
    if reruns_failed_shards(target.pipeline):
        return f"./ops rerun {where} {run} --failed"
    return f"./ops run {where} --input-prefix {input_prefix or '<the run input prefix>'}"


def why_items(target: Target, run: str, failed: list[FailedShard]) -> list[Item]:
    """``why``'s lines of a sharded run: each failed shard, its job, error, FailureReason (else the
    cause) and input files (the first ``MISSING_SHOWN``), and how to run them again."""
    folder = s3_uri(target.output_bucket, failed_folder(target, run))
    if not failed:
        return [("failed shards", f"none ({folder} is empty)")]
    input_bucket = target.bucket("input")
    files = sum(len(shard.files) for shard in failed)
    items: list[Item] = [("failed shards", f"{len(failed):,} ({files:,} files), from {folder}")]
    for shard in failed:
        items += [
            (f"shard {shard.shard}", shard.job_shown),
            ("  error", shard.error or "-"),
        ]
        reason = shard.failure_reason
        items.append(
            ("  FailureReason", reason) if reason else ("  cause", (shard.cause or "-")[:600])
        )
        if shard.source is None:
            items.append(("  input files", f"unknown: no manifest {shard.manifest}"))
            continue
        items.append(("  input files", f"{len(shard.files):,}"))
        items += first_keys("  file", shard.keys(input_bucket))
    prefixes = [shard.input_prefix(input_bucket) for shard in failed]
    prefix = next((p for p in prefixes if p is not None), None)
    items.append(("rerun", rerun_command(target, run, prefix)))
    return items


def rerun_name(run: str, now: datetime) -> str:
    """``<run>-rerun-<UTC now>``, a valid execution name (see the module's docstring)."""
    suffix = RERUN_MARK + stamp_text(now.astimezone(UTC))
    return name_part(run, max_execution_name() - len(suffix)) + suffix


@dataclass(frozen=True)
class Rerun:
    """A new run of exactly the failed shards' input files."""

    name: str
    of: str
    input_prefix: str
    keys: tuple[str, ...]
    shards: int
    items_key: str
    output_folder: str

    @property
    def items(self) -> list[dict[str, str]]:
        return [{"Key": key} for key in self.keys]

    @property
    def run_input(self) -> dict[str, Any]:
        return {
            "trigger": RERUN_TRIGGER,
            "input_prefix": self.input_prefix,
            "shard_items": self.items_key,
            "rerun_of": self.of,
        }


def plan_rerun(target: Target, run: str, failed: list[FailedShard], now: datetime) -> Rerun:
    """The rerun of the run's failed shards; refused (``OpsError``) when it has none, when a
    shard's files are unknown (no manifest) or the manifests disagree on the input prefix."""
    folder = s3_uri(target.output_bucket, failed_folder(target, run))
    if not failed:
        raise OpsError(f"{target.label} run {run} has no failed shards (nothing in {folder})")
    unknown = [shard.shard for shard in failed if shard.source is None]
    if unknown:
        raise OpsError(
            f"failed shards {', '.join(unknown)} of {run} wrote no manifest, so their files are "
            "unknown; nothing rerun (see `./ops why`)"
        )
    input_bucket = target.bucket("input")
    prefixes = sorted({shard.input_prefix(input_bucket) or "" for shard in failed})
    if len(prefixes) != 1 or not prefixes[0]:
        sources = ", ".join(sorted({shard.source or "" for shard in failed}))
        raise OpsError(
            f"the failed shards' manifests of {run} do not name one prefix of "
            f"s3://{input_bucket}/ (they name {sources}); nothing rerun"
        )
    name = rerun_name(run, now)
    output_prefix = target.pipeline.run_output_prefix
    return Rerun(
        name=name,
        of=run,
        input_prefix=prefixes[0],
        keys=tuple(key for shard in failed for key in shard.keys(input_bucket)),
        shards=len(failed),
        items_key=rerun_items_key(output_prefix, name),
        output_folder=s3_uri(target.output_bucket, f"{output_prefix}{name}/"),
    )
