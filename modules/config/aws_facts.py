"""What AWS states only in prose, each fact written here once with where it comes from.

The limits and lists the config is checked against that botocore's data does not carry (or
carries wrongly): CloudWatch's log retention values, SageMaker's payload and data-processing
rules, the instance families with local instance storage, how the reason of a job SageMaker could
not provision starts, EventBridge Scheduler's start-date grace, KMS's deletion window, the
partitions this project supports, the name maxima botocore's models leave out
(``PROSE_NAME_LIMITS``), and the time zones of the tz database. Needs only the standard library:
what AWS publishes machine-readably is read from botocore by ``modules.config.botocore_facts``.
"""

from __future__ import annotations

import functools
import re
import zoneinfo

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

# Instance families with local NVMe instance storage (besides the "...d" families like m5d).
INSTANCE_STORE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "trn1", "trn1n", "trn2"}
)

# SageMaker CreateTransformJob: MaxPayloadInMB, and MaxConcurrentTransforms x MaxPayloadInMB, at
# most 100 (stated in the API reference's prose, not in its model).
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html
MAX_PAYLOAD_MB = 100
# Content types SageMaker's data processing (filters, join) can read, with split type None or Line.
# https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html
DATA_PROCESSING_CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines")

# How a transform job's FailureReason starts when SageMaker could not give it instances ("Unable
# to provision requested ML compute capacity. Please retry using a different ML instance type.").
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTransformJob.html
CAPACITY_ERROR_PREFIX = "CapacityError"

# S3 ListObjectsV2 returns "up to 1,000" objects a request; a key is at most 1,024 bytes.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
LIST_OBJECTS_MAX_KEYS = 1000
S3_MAX_KEY_BYTES = 1024
# An S3 object is at most 5 TB ("Individual Amazon S3 objects can range in size from a minimum of
# 0 bytes to a maximum of 5 TB").
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html
S3_MAX_OBJECT_BYTES = 5 * 1024**4
# Step Functions: a task's result, like any state's input or output, is at most 256 KiB; a larger
# one fails the execution with States.DataLimitExceeded, which no Catch can handle.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
STATE_PAYLOAD_BYTES = 256 * 1024
# An execution's event history holds at most 25,000 events (the same page).
EXECUTION_HISTORY_EVENTS = 25_000
# A Distributed Map runs at most 10,000 child executions at once (MaxConcurrency; botocore's
# MaxConcurrency shape has no maximum).
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000

# KMS ScheduleKeyDeletion: "If you include a value, it must be between 7 and 30, inclusive"
# (botocore's model says 1 to 365, which KMS refuses).
# https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
KMS_PENDING_WINDOW_DAYS = (7, 30)

# Partitions whose service principals and console this project knows (modules/aws_context.py
# holds the per-service table). China regions (aws-cn) are refused: most of their principals are
# not "<service>.amazonaws.com.cn", and the ones this project needs are not verified.
SUPPORTED_PARTITIONS = ("aws", "aws-us-gov")


def has_instance_storage(instance_type: str) -> bool:
    """Instance types whose volumes are local NVMe (always hardware-encrypted): SageMaker refuses
    a VolumeKmsKeyId for them."""
    family = instance_type.split(".")[1]
    return family in INSTANCE_STORE_FAMILIES or bool(re.fullmatch(r"[a-z]+\d+[a-z]*d", family))


@functools.cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # walks the tz database: once per process


# Name limits AWS states only in its API references' prose: these members carry no "max" in
# botocore's models (a test fails once one does, so that botocore's value replaces the copy).
PROSE_NAME_LIMITS = {
    # "A queue name can have up to 80 characters."
    "sqs:CreateQueue.QueueName": (
        80,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    # "Topic names ... must be between 1 and 256 characters long."
    "sns:CreateTopic.Name": (
        256,
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    ),
    # "The maximum length is 255"
    "cloudwatch:PutDashboard.DashboardName": (
        255,
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
    ),
    # "Bucket names must be between 3 (min) and 63 (max) characters long."
    "s3:CreateBucket.Bucket": (
        63,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    ),
}
