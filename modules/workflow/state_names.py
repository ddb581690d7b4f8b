"""The name of every state a run can pass through, one constant each.

The definitions, the tests that drive them on the engine and the operations tool all read these,
so a renamed state is renamed everywhere at once (the step modules import this one as ``sn``).
Needs nothing.
"""

from __future__ import annotations

from typing import Final

# Run input
CHECK_TRIGGER: Final = "CheckTrigger"
INPUT_FROM_MARKER: Final = "InputFromMarker"
CHECK_SCHEDULED_RUN: Final = "CheckScheduledRun"
INPUT_FROM_SCHEDULE: Final = "InputFromSchedule"
CHECK_RUN_INPUT: Final = "CheckRunInput"
REJECT_RUN_INPUT: Final = "RejectRunInput"
USE_REQUESTED_INPUT: Final = "UseRequestedInput"
USE_DEFAULT_INPUT: Final = "UseDefaultInput"

# Overlap guard
LIST_RUNNING_EXECUTIONS: Final = "ListRunningExecutions"
COUNT_EARLIER_RUNS: Final = "CountEarlierRuns"
CHECK_OVERLAP: Final = "CheckOverlap"
NOTIFY_SKIPPED: Final = "NotifySkipped"
RUN_SKIPPED: Final = "RunSkipped"

# Empty-input guard
LIST_INPUT: Final = "ListInput"
CHECK_INPUT_PRESENT: Final = "CheckInputPresent"
NOTIFY_NO_INPUT: Final = "NotifyNoInput"
NO_INPUT: Final = "NoInput"

# Registry model
FIND_APPROVED_MODEL: Final = "FindApprovedModel"
CHECK_APPROVED_MODEL: Final = "CheckApprovedModel"
COUNT_REGISTRY_PAGE: Final = "CountRegistryPage"
FIND_APPROVED_MODEL_NEXT_PAGE: Final = "FindApprovedModelNextPage"
NO_APPROVED_MODEL: Final = "NoApprovedModel"
USE_APPROVED_MODEL: Final = "UseApprovedModel"
CREATE_RUN_MODEL: Final = "CreateRunModel"

# Transform
RUN_TRANSFORM_JOB: Final = "RunTransformJob"
CHECK_SAGEMAKER_ERROR: Final = "CheckSageMakerError"
WAIT_BEFORE_RETRY: Final = "WaitBeforeRetry"
COUNT_ATTEMPT: Final = "CountAttempt"
NEXT_ATTEMPT: Final = "NextAttempt"

# Transform: fallback instance types when SageMaker has no capacity
FIRST_INSTANCE_TYPE: Final = "FirstInstanceType"
CHECK_CAPACITY_ERROR: Final = "CheckCapacityError"
NO_CAPACITY_ON_ANY_TYPE: Final = "NoCapacityOnAnyType"

# Shards: a run split into transform jobs by a Distributed Map (modules/workflow/shards.py)
CHECK_SHARD_ITEMS: Final = "CheckShardItems"
REJECT_SHARD_ITEMS: Final = "RejectShardItems"
START_SHARDS: Final = "StartShards"
CHECK_SHARD_SOURCE: Final = "CheckShardSource"
RUN_SHARDS: Final = "RunShards"
RUN_SHARDS_AGAIN: Final = "RunShardsAgain"
LIST_FAILED_SHARDS: Final = "ListFailedShards"
LIST_FAILED_SHARDS_AFTER_FAILURE: Final = "ListFailedShardsAfterFailure"
READ_FAILED_SHARDS: Final = "ReadFailedShards"
READ_FAILED_SHARD: Final = "ReadFailedShard"
NAME_FAILED_SHARDS: Final = "NameFailedShards"
# One shard (a child execution of the Map; a re-run's children carry RERUN_PREFIX)
START_SHARD: Final = "StartShard"
CHECK_SHARD_INPUT: Final = "CheckShardInput"
SHARD_WITHOUT_INPUT: Final = "ShardWithoutInput"
WRITE_SHARD_MANIFEST: Final = "WriteShardManifest"
HASH_SHARD_JOB: Final = "HashShardJob"
NAME_SHARD_JOB: Final = "NameShardJob"
RUN_SHARD_TRANSFORM_JOB: Final = "RunShardTransformJob"
RECORD_SHARD_FAILURE: Final = "RecordShardFailure"
SHARD_FAILED: Final = "ShardFailed"
SHARD_SUCCEEDED: Final = "ShardSucceeded"
# The shard's own retry and capacity states: the run's, under this prefix.
SHARD_PREFIX: Final = "Shard"
RERUN_PREFIX: Final = "Rerun"

# Delivery: every input accounted for
START_COUNTING: Final = "StartCounting"
COUNT_INPUT_PAGE: Final = "CountInputPage"
CHECK_INPUT_PAGES: Final = "CheckInputPages"
COUNT_OUTPUT_PAGE: Final = "CountOutputPage"
CHECK_OUTPUT_PAGES: Final = "CheckOutputPages"
CHECK_OUTPUTS_COMPLETE: Final = "CheckOutputsComplete"
INCOMPLETE_OUTPUT: Final = "IncompleteOutput"
REGISTER_PARTITION: Final = "RegisterPartition"
CHECK_PARTITION_REGISTERED: Final = "CheckPartitionRegistered"
PARTITION_NOT_REGISTERED: Final = "PartitionNotRegistered"
PUT_READY_EVENT: Final = "PutReadyEvent"

# Finish
DELETE_RUN_MODEL: Final = "DeleteRunModel"
RECORD_COMPLETED_TRANSFORM: Final = "RecordCompletedTransform"
BUILD_MANIFEST: Final = "BuildManifest"
WRITE_MANIFEST: Final = "WriteManifest"
NOTIFY_SUCCESS: Final = "NotifySuccess"
RUN_SUCCEEDED: Final = "RunSucceeded"

# Failure handling
DESCRIBE_FAILURE: Final = "DescribeFailure"
DELETE_RUN_MODEL_AFTER_FAILURE: Final = "DeleteRunModelAfterFailure"
NOTIFY_FAILURE: Final = "NotifyFailure"
RUN_FAILED: Final = "RunFailed"
