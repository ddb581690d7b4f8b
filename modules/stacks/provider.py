"""The AWS provider and the Terraform backend of every stack.

``configure_stack`` gives an environment's stack its provider (region, allowed account, default
tags on everything) and its backend, and returns the ``AwsContext`` its layers use.
``configure_backend`` writes the backend: a local file, or S3 (``s3_backend``, which a self-hosted
state bootstrap uses too) with KMS encryption, locking and one key per stack.
``require_terraform`` pins the Terraform version the backends need.

Needs: the environment config and the stack's name.
"""

from __future__ import annotations

from imports.aws import AwsProvider, AwsProviderDefaultTags, DataAwsCallerIdentity
from imports.core import LocalBackend, S3Backend, TerraformStack
from modules.aws_context import AwsContext
from modules.config import EnvironmentConfig, LocalState, S3State, partition_of
from modules.naming import Names

MANAGED_BY = "cdktf"
# S3 native state locking (backend use_lockfile) needs Terraform 1.10.
REQUIRED_TERRAFORM = ">= 1.10.0"


def require_terraform(scope: TerraformStack) -> None:
    scope.add_override("terraform.required_version", REQUIRED_TERRAFORM)


# Terraform runs in cdktf.out/stacks/<stack>/; a relative state path is written from there.
STACK_DIR_TO_PROJECT = "../../.."


def local_backend(scope: TerraformStack, name: str, state: LocalState) -> None:
    # The config's path is relative to the project directory: the state file lives outside
    # cdktf.out/ (which every synth replaces), the synthesized JSON has no machine-specific path,
    # and every stack's directory is at the same depth, so a consumer's terraform_remote_state
    # (cdktf copies the producer's backend settings) finds the producer's file.
    path = state.state_path.format(stack=name)
    LocalBackend(scope, path=path if path.startswith("/") else f"{STACK_DIR_TO_PROJECT}/{path}")


def configure_backend(stack: TerraformStack, name: str, env: EnvironmentConfig) -> None:
    """The backend of every stack of an environment: one state (file or S3 key) per stack."""
    state = env.state
    require_terraform(stack)
    if isinstance(state, LocalState):
        local_backend(stack, name, state)
        return
    s3_backend(stack, name, state, state.region or env.region, env.account_id)


def s3_backend(
    stack: TerraformStack, name: str, state: S3State, region: str, account_id: str | None
) -> None:
    """Stack ``name``'s state in ``state.bucket`` (in ``region``, of ``account_id`` when pinned):
    its own key, encrypted with the bucket's bootstrap key, locked as ``state`` says. The
    environments' stacks and a self-hosted state bootstrap use it alike."""
    alias = Names.state_key_alias(state.bucket)
    # Without kms_key_id, encrypt = true sends SSE-S3 headers that override the bucket's KMS
    # default: the bootstrap key would never be used. An alias ARN pins the key's account.
    kms_key_id = (
        AwsContext(account_id, region, partition_of(region)).arn("kms", alias)
        if account_id
        else alias
    )
    S3Backend(
        stack,
        bucket=state.bucket,
        key=Names.state_key(state.key_prefix, name),
        region=region,
        encrypt=True,
        kms_key_id=kms_key_id,
        dynamodb_table=state.dynamodb_table,
    )
    if state.lock == "lockfile":
        # cdktf 0.21's S3Backend has no use_lockfile argument (S3 native locking, TF >= 1.10).
        stack.add_override("terraform.backend.s3.use_lockfile", True)


def aws_provider(
    stack: TerraformStack, region: str, account_id: str | None, tags: dict[str, str]
) -> None:
    """The stack's AWS provider: pinned to ``account_id`` when given, ``tags`` on everything."""
    AwsProvider(
        stack,
        "aws",
        region=region,
        allowed_account_ids=[account_id] if account_id else None,
        default_tags=[AwsProviderDefaultTags(tags=tags)],
    )


def configure_stack(
    stack: TerraformStack, name: str, project: str, env: EnvironmentConfig
) -> AwsContext:
    """Provider (region, allowed account, default tags) and backend of a stack of ``env``; the
    account comes from config or, when not pinned, from the stack's own caller identity (no
    cross-stack reference needed for it)."""
    tags = {"project": project, "environment": env.name, "managed-by": MANAGED_BY, **env.tags}
    aws_provider(stack, env.region, env.account_id, tags)
    configure_backend(stack, name, env)
    account_id = env.account_id or DataAwsCallerIdentity(stack, "current").account_id
    return AwsContext(account_id=account_id, region=env.region, partition=env.partition)
