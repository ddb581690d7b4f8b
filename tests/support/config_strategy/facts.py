"""What the strategies draw from: read from where the product reads it (never copied)."""

from __future__ import annotations

import re
import string

from hypothesis import strategies as st

from modules.config import (
    RESERVED_ENVIRONMENT_NAME,
    RESERVED_PIPELINE_NAME,
    partition_of,
    transform_instance_types,
)
from modules.config.aws_facts import SUPPORTED_PARTITIONS
from modules.config.aws_names import name_rule
from modules.config.botocore_facts import service_regions
from modules.config.fields import ENVIRONMENT_NAME, PROJECT_NAME
from modules.config.folders import date_parts
from modules.naming import RUN_HASH_LENGTH

LOWER_ALNUM = string.ascii_lowercase + string.digits
# <project>-<env>-<pipeline> fits in this many characters: a transform job's name is it, "-" and
# the run hash, within SageMaker's limit (botocore).
NAME_BUDGET = (
    name_rule("sagemaker:CreateTransformJob.TransformJobName").max_length - 1 - RUN_HASH_LENGTH
)


def names_matching(pattern: str) -> st.SearchStrategy[str]:
    """Lowercase names of every length the schema's ``pattern`` accepts, each length as likely
    (a letter, then letters and digits; kept only if the pattern takes it)."""
    lengths = [n for n in range(1, 64) if re.fullmatch(pattern, "a" * n)]
    return (
        st.sampled_from(lengths)
        .flatmap(
            lambda n: st.builds(
                lambda a, b: a + b,
                st.sampled_from(string.ascii_lowercase),
                st.text(LOWER_ALNUM, min_size=n - 1, max_size=n - 1),
            )
        )
        .filter(lambda name: re.fullmatch(pattern, name) is not None)
    )


PROJECT_NAMES = names_matching(PROJECT_NAME.pattern)
ENVIRONMENT_NAMES = names_matching(ENVIRONMENT_NAME.pattern).filter(
    lambda name: name != RESERVED_ENVIRONMENT_NAME
)
REGIONS = sorted(r for r in service_regions() if partition_of(r) in SUPPORTED_PARTITIONS)
REGIONS_BY_PARTITION = {
    p: [r for r in REGIONS if partition_of(r) == p] for p in SUPPORTED_PARTITIONS
}
INSTANCE_TYPES = sorted(transform_instance_types())
TRANSFORM = "CreateTransformJobRequest"
TIME_ZONES = [
    "UTC",
    "Etc/GMT+5",
    "Asia/Tokyo",
    "Asia/Kolkata",  # no daylight saving, half-hour offset
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",  # daylight saving in the southern summer
    "America/St_Johns",  # daylight saving, half-hour offset
]
# Prefix folders that can never equal a pipeline name (pipeline names have no capitals, "_",
# "." or "'"): a custom prefix <folder>/<name>/ cannot start another pipeline's prefix.
PREFIX_FOLDERS = ["Data", "raw_in", "v1.2", "fraud's-events", "In(put)!"]
# The date parts a dated folder picture may hold, from the one renderer of pictures.
DATE_PARTS = date_parts()


def _name(first: str, rest: str, size: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, b: a + b,
        st.sampled_from(first),
        st.text(alphabet=rest, min_size=size - 1, max_size=size - 1),
    )


@st.composite
def pipeline_names(draw: st.DrawFn, count: int, longest: int) -> list[str]:
    """``count`` distinct pipeline names of at most ``longest`` characters, none the other plus
    ``-...`` (their IAM patterns would overlap) and none reserved."""
    names: list[str] = []
    while len(names) < count:
        size = draw(st.integers(1, longest))
        words = draw(st.integers(1, max(1, min(3, (size + 1) // 2))))
        name = draw(_name(string.ascii_lowercase, LOWER_ALNUM, size))
        if words > 1 and size >= 3:
            cut = draw(st.integers(1, size - 2))
            name = name[:cut] + "-" + name[cut + 1 :]
        clash = any(
            n == name or n.startswith(f"{name}-") or name.startswith(f"{n}-") for n in names
        )
        if not clash and name != RESERVED_PIPELINE_NAME:
            names.append(name)
    return names
