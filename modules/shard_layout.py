"""Where a sharded run keeps its shards' files, in one place for the workflow that writes them
(modules/workflow/shards.py, shard_job.py), the SageMaker role that reads them and ./ops that
reads and re-runs them (tools/ops/shards.py).

A run's shards folder sits beside its output folder, never in it, so that the output looks
exactly as an unsharded run's: ``<run output prefix>_shards/<run id>/`` holds

- ``manifests/<shard>.manifest``: the SageMaker manifest file of each shard's input files
  (``[{"prefix": "s3://<input bucket>/<input prefix>"}, "<key relative to it>", ...]``);
- ``failed/<shard>.json``: one record per failed shard (``FAILED_RECORD_FIELDS``);
- ``results/``: the Distributed Map's ResultWriter output (its manifest.json and result files);
- ``rerun-items.json``: for a run started by ``./ops rerun --failed``, the input files to run
  again (a JSON array of ``{"Key": "<input key>"}``).

Shard numbers are the position of a shard's first file in the run's listing divided by the files
per job, zero-padded to ``SHARD_DIGITS`` so that they sort as numbers. Needs nothing.
"""

from __future__ import annotations

from typing import Final

SHARDS_FOLDER: Final = "_shards/"
MANIFESTS_FOLDER: Final = "manifests/"
MANIFEST_SUFFIX: Final = ".manifest"
FAILED_FOLDER: Final = "failed/"
FAILED_SUFFIX: Final = ".json"
RESULTS_FOLDER: Final = "results/"
RERUN_ITEMS: Final = "rerun-items.json"
# 10 million shards: more than a Distributed Map's listing of any run this project starts.
SHARD_DIGITS: Final = 7
# What a failed shard's record holds: its number, the job (the name stem of its last attempt,
# absent when it failed before a job was named), the error and cause it failed with, its manifest.
FAILED_RECORD_FIELDS: Final = ("shard", "job", "error", "cause", "manifest")


def shards_prefix(run_output_prefix: str) -> str:
    """Every sharded run's shards folder of a pipeline is under this prefix."""
    return run_output_prefix + SHARDS_FOLDER


def run_shards(run_output_prefix: str, run_id: str) -> str:
    """The shards folder of one run."""
    return f"{shards_prefix(run_output_prefix)}{run_id}/"


def shard_name(number: int) -> str:
    return f"{number:0{SHARD_DIGITS}d}"


def manifest_key(run_shards_folder: str, shard: str) -> str:
    return f"{run_shards_folder}{MANIFESTS_FOLDER}{shard}{MANIFEST_SUFFIX}"


def failed_key(run_shards_folder: str, shard: str) -> str:
    return f"{run_shards_folder}{FAILED_FOLDER}{shard}{FAILED_SUFFIX}"


def rerun_items_key(run_output_prefix: str, run_id: str) -> str:
    return run_shards(run_output_prefix, run_id) + RERUN_ITEMS
