"""``transform.shards``: a run split into transform jobs of a bounded number of input files, run
in parallel by a Distributed Map (modules/workflow/shards.py), each failing alone.

Needs the payload and key limits AWS states in prose (``modules.config.aws_facts``) and the Map
run's bounds from botocore's Step Functions model (``UpdateMapRun``).

Every input this project accepts can be split by file: a transform job reads each S3 object on
its own whatever its split, compression, content type or data processing (SageMaker splits
records within a file, never across files), so no transform setting refuses shards. The one
product AWS could bound, ``max_parallel_jobs`` x ``instance_count``, has no maximum in
SageMaker's API model (``InstanceCount`` carries only ``min``); the account's quota per instance
type is the bound, and docs/runs-and-alerts.md says how to read it (a test notices when botocore
gains a maximum).
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field

from modules.config.aws_facts import (
    DISTRIBUTED_MAP_MAX_CONCURRENCY,
    S3_MAX_KEY_BYTES,
    S3_MAX_OBJECT_BYTES,
    STATE_PAYLOAD_BYTES,
)
from modules.config.botocore_facts import request_member
from modules.config.fields import StrictModel

TOLERANCE_MEMBER = "stepfunctions:UpdateMapRun.toleratedFailurePercentage"
# What a shard's input holds besides its items: the run's own record (BatchInput), which the
# workflow keeps small (ids, prefixes, names), and the Map's wrapping.
BATCH_INPUT_RESERVE_BYTES = 16 * 1024
# One item of a shard as the Map's ItemSelector writes it, at its largest: the longest key S3
# allows, the largest object size and an index past any listing. (A key of quotes, backslashes or
# control characters takes more once escaped in JSON; batch input keys hardly have them.)
_LARGEST_ITEM = {"Key": "k" * S3_MAX_KEY_BYTES, "Size": S3_MAX_OBJECT_BYTES, "Index": 10**12}
LARGEST_ITEM_BYTES = len(json.dumps(_LARGEST_ITEM)) + 1  # and the comma between items
# The most files one job may take: a shard's items travel in its child execution's input, which
# Step Functions bounds (States.DataLimitExceeded fails the child otherwise).
MAX_FILES_PER_JOB = (STATE_PAYLOAD_BYTES - BATCH_INPUT_RESERVE_BYTES) // LARGEST_ITEM_BYTES


def _tolerance_bounds() -> tuple[int, int]:
    shape = request_member(TOLERANCE_MEMBER)
    return int(shape["min"]), int(shape["max"])


TOLERANCE_MIN, TOLERANCE_MAX = _tolerance_bounds()


class ShardsConfig(StrictModel):
    """A run's input split into transform jobs of ``files_per_job`` files each."""

    files_per_job: Annotated[int, Field(ge=1, le=MAX_FILES_PER_JOB)] = Field(
        description="Input files (S3 objects) per transform job. At most "
        f"{MAX_FILES_PER_JOB}: a job's list of files travels in its child execution's input, "
        "which Step Functions bounds.",
    )
    max_parallel_jobs: Annotated[int, Field(ge=1, le=DISTRIBUTED_MAP_MAX_CONCURRENCY)] = Field(
        description="Transform jobs running at once (the Map's MaxConcurrency). Size it to the "
        "account's quota for the instance type divided by instance_count: see Runs and alerts.",
    )
    # A whole percentage: the Map state's ToleratedFailurePercentage is an integer in the States
    # Language's schema (asl-validator), though the map-run API (UpdateMapRun) takes a float.
    tolerated_failed_shards_percent: Annotated[
        int, Field(ge=TOLERANCE_MIN, le=TOLERANCE_MAX, strict=True)
    ] = Field(
        default=0,
        description="The run still succeeds while at most this share (a whole percentage) of "
        "the input files is in failed shards (Step Functions counts files, not jobs); their "
        "files are listed in the run's manifest. Default 0: any failed shard fails the run.",
    )

    @property
    def can_exceed_tolerance(self) -> bool:
        """Whether a failed shard can fail the run (not when every file may fail)."""
        return self.tolerated_failed_shards_percent < TOLERANCE_MAX
