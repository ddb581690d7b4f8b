"""The operator policy: what the people who run ``./ops`` on an environment need, and no more.

Creates one ``aws_iam_policy`` (a managed policy, named ``Names.operator_policy``) to attach to
the operators' users, groups or roles. It allows exactly the calls the operations tool
(tools/ops/) makes, scoped to this environment's resources:

- ``runs``, ``why``, ``backfill``, ``run``, ``rerun``: list and start executions of the
  environment's state machines, describe them and read their history; describe their transform
  jobs and list those jobs' log streams in SageMaker's own log group;
- ``why``: read a run's manifest from the output bucket (``s3:GetObject``), with ``kms:Decrypt``
  on the data key that encrypts it (through S3 only), and ``s3:ListBucket`` on that bucket, without
  which S3 answers a manifest that does not exist with AccessDenied rather than NoSuchKey (a run
  that wrote none could not be told from a permission that is missing);
- ``test-alert``: describe and set the state of the environment's alarms;
- where a pipeline of the environment has ``delivery``: ``runs`` reads the transform jobs' tags
  (``sagemaker:ListTags``: which model made a run), and ``why`` of a run that failed with
  ``IncompleteOutput`` lists its input prefix (``s3:ListBucket`` on the input bucket, under the
  input prefixes of those pipelines) and output folder (the output bucket's, above) to name the
  inputs without output. An environment without ``delivery`` gets neither, so its policy stays as
  it was (these two change with its pipelines' ``delivery``).
- where a pipeline of the environment has ``transform.shards``: ``why`` and ``rerun --failed`` read
  a run's failed-shard records and shard manifests (``s3:GetObject`` under those pipelines' shards
  prefixes, ``<run output prefix>_shards/``; listing them is the output bucket's ``s3:ListBucket``,
  above, which is not narrowed by prefix, so a statement listing only the shards prefixes would add
  nothing), and ``rerun --failed`` writes the new run's ``rerun-items.json`` there
  (``s3:PutObject`` on ``<shards prefix>*/rerun-items.json`` only, with ``kms:GenerateDataKey`` on
  the data key through S3 only: the bucket's default encryption). An environment without shards
  gets none of these, so its policy stays as it was.

STS GetCallerIdentity (the account, where the config pins none) needs no permission. The policy
also denies ``states:RedriveExecution`` on the environment's executions, because a redrive is not
the way to re-run here (docs/operations.md): a failed run would enter its ``RunFailed`` state
again, and a timed-out or aborted one would resume with the old run id and output prefix.

Every resource is matched by the environment's name prefix (``Names.pipelines_pattern``), like the
key and topic policies, so the policy does not change when pipelines come and go.
tests/test_ops_operator_policy.py drives every ``./ops`` command through botocore's Stubber and
evaluates each call it makes against this policy as synthesized.

Needs: ``Names``, an ``AwsContext``, the data key's ARN, the output bucket and, with
``delivery``, the input bucket (the storage layer's outputs) and those pipelines' input prefixes;
with shards, those pipelines' shards prefixes (modules/shard_layout.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from imports.aws import IamPolicy
from modules.aws_context import AwsContext
from modules.iam import Statement, allow, policy_document
from modules.naming import TRANSFORM_JOB_LOG_GROUP, Names
from modules.shard_layout import RERUN_ITEMS
from modules.storage import BucketRef
from modules.workflow import MANIFEST_NAME


def operator_statements(
    names: Names,
    aws: AwsContext,
    *,
    key_arn: str,
    output_bucket: BucketRef,
    input_bucket: BucketRef | None = None,
    delivery_input_prefixes: Sequence[str] = (),
    shards_prefixes: Sequence[str] = (),
) -> list[Statement]:
    """The operator policy's statements (see the module's docstring for what each is for);
    ``delivery_input_prefixes``: the input prefixes of the pipelines with ``delivery``;
    ``shards_prefixes``: the shards prefixes (``shard_layout.shards_prefix``) of the sharded
    pipelines."""
    pipelines = names.pipelines_pattern
    executions = aws.arn("states", f"execution:{pipelines}:*")
    via_s3 = {"StringEquals": {"kms:ViaService": aws.service_endpoint("s3")}}
    sharded: list[Statement] = []
    if shards_prefixes:
        sharded = [
            allow(
                "ReadShards",
                ["s3:GetObject"],
                [f"{output_bucket.arn}/{p}*" for p in shards_prefixes],
            ),
            allow(
                "WriteRerunItems",
                ["s3:PutObject"],
                [f"{output_bucket.arn}/{p}*/{RERUN_ITEMS}" for p in shards_prefixes],
            ),
            # The output bucket's default encryption: S3 asks for a data key on the caller's behalf.
            allow("EncryptRerunItemsThroughS3", ["kms:GenerateDataKey"], key_arn, Condition=via_s3),
        ]
    delivery: list[Statement] = []
    if delivery_input_prefixes:
        assert input_bucket is not None
        delivery = [
            allow(
                "ReadWhichModelMadeRuns",
                ["sagemaker:ListTags"],
                aws.arn("sagemaker", f"transform-job/{pipelines}"),
            ),
            allow(
                "ListDeliveringRunInputs",
                ["s3:ListBucket"],
                input_bucket.arn,
                Condition={"StringLike": {"s3:prefix": [f"{p}*" for p in delivery_input_prefixes]}},
            ),
        ]
    return [
        allow(
            "ListAndStartRuns",
            ["states:ListExecutions", "states:StartExecution"],
            aws.arn("states", f"stateMachine:{pipelines}"),
        ),
        allow("ReadRuns", ["states:DescribeExecution", "states:GetExecutionHistory"], executions),
        allow(
            "ReadTransformJobs",
            ["sagemaker:DescribeTransformJob"],
            aws.arn("sagemaker", f"transform-job/{pipelines}"),
        ),
        # CloudWatch Logs authorizes most calls on a log group as "<group ARN>:*".
        allow(
            "FindTransformJobLogs",
            ["logs:DescribeLogStreams"],
            aws.arn("logs", f"log-group:{TRANSFORM_JOB_LOG_GROUP}:*"),
        ),
        allow("ReadManifests", ["s3:GetObject"], f"{output_bucket.arn}/*/{MANIFEST_NAME}"),
        # Without it S3 answers a missing manifest with 403, like a refusal.
        allow("TellMissingManifests", ["s3:ListBucket"], output_bucket.arn),
        allow(
            "DecryptManifestsThroughS3",
            ["kms:Decrypt"],
            key_arn,
            Condition=via_s3,
        ),
        allow(
            "TestAlerts",
            ["cloudwatch:DescribeAlarms", "cloudwatch:SetAlarmState"],
            aws.arn("cloudwatch", f"alarm:{pipelines}"),
        ),
        *delivery,
        *sharded,
        {
            "Sid": "DenyRedrive",  # a run is not redriven here, see the module's docstring
            "Effect": "Deny",
            "Action": ["states:RedriveExecution"],  # not allowed to anyone with this policy
            "Resource": executions,
        },
    ]


@dataclass(frozen=True)
class OperatorPolicyOutputs:
    arn: str


class OperatorPolicy(Construct):
    """The environment's operator policy (see the module's docstring)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        aws: AwsContext,
        key_arn: str,
        output_bucket: BucketRef,
        input_bucket: BucketRef | None = None,
        delivery_input_prefixes: Sequence[str] = (),
        shards_prefixes: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id)
        statements = operator_statements(
            names,
            aws,
            key_arn=key_arn,
            output_bucket=output_bucket,
            input_bucket=input_bucket,
            delivery_input_prefixes=delivery_input_prefixes,
            shards_prefixes=shards_prefixes,
        )
        policy = IamPolicy(
            self,
            "policy",
            name=names.operator_policy,
            description=f"{names.prefix}: what ./ops needs (docs/operations.md)",
            policy=policy_document(*statements),
        )
        self.outputs = OperatorPolicyOutputs(arn=policy.arn)
