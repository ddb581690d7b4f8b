"""ListObjectsV2 pages as S3 answers them (through the SDK integration: PascalCase members), for
the delivery count's mocked answers: a run's input objects and the ``.out`` objects of its output
folder, split into pages of the size the definition asks for.

Needs the deployed machine (tests/support/machines.py) for its buckets and prefixes, and the page
size from the workflow (modules/workflow/delivery_count.py).
"""

from __future__ import annotations

from typing import Any

from modules.workflow.delivery_count import OUTPUT_SUFFIX, PAGE_KEYS
from tests.support.machines import Machine

Listed = tuple[str, int]  # key, size


def _object(key: str, size: int) -> dict[str, Any]:
    return {
        "Key": key,
        "LastModified": "2026-11-26T00:30:00Z",
        "ETag": '"d41d8cd98f00b204e9800998ecf8427e"',
        "Size": size,
        "StorageClass": "STANDARD",
    }


def token(page: int) -> str:
    """The continuation token S3 gives with page ``page`` (opaque to callers)."""
    return f"1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=page{page}"


def pages(bucket: str, prefix: str, listed: list[Listed]) -> dict[str, Any]:
    """The mocked answers of one listing's loop: call n answers page n."""
    chunks = [listed[i : i + PAGE_KEYS] for i in range(0, len(listed), PAGE_KEYS)] or [[]]
    answers = {}
    for number, chunk in enumerate(chunks):
        page: dict[str, Any] = {
            "IsTruncated": number < len(chunks) - 1,
            "Name": bucket,
            "Prefix": prefix,
            "MaxKeys": PAGE_KEYS,
            "KeyCount": len(chunk),
        }
        if chunk:
            page["Contents"] = [_object(key, size) for key, size in chunk]
        if number > 0:
            page["ContinuationToken"] = token(number)
        if number < len(chunks) - 1:
            page["NextContinuationToken"] = token(number + 1)
        answers[str(number)] = {"Return": page}
    return answers


def inputs(machine: Machine, count: int) -> list[Listed]:
    """``count`` input objects under the pipeline's input prefix (sizes differ, so sums tell)."""
    prefix = machine.pipeline.default_input_prefix
    return [(f"{prefix}part-{n:05d}.csv", 1000 + n) for n in range(count)]


def outputs(machine: Machine, execution: str, listed: list[Listed]) -> list[Listed]:
    """The ``.out`` object Batch Transform writes for each input object, in the run's folder."""
    folder = f"{machine.pipeline.run_output_prefix}{execution}/"
    prefix = machine.pipeline.default_input_prefix
    return [
        (f"{folder}{key.removeprefix(prefix)}{OUTPUT_SUFFIX}", size // 2) for key, size in listed
    ]


def input_pages(machine: Machine, listed: list[Listed]) -> dict[str, Any]:
    return pages(machine.input_bucket, machine.pipeline.default_input_prefix, listed)


def output_pages(machine: Machine, execution: str, listed: list[Listed]) -> dict[str, Any]:
    folder = f"{machine.pipeline.run_output_prefix}{execution}/"
    return pages(machine.output_bucket, folder, listed)
