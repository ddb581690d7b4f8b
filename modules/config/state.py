"""Where an environment keeps its Terraform state: a local file or an S3 bucket (and where the
bucket's state bootstrap keeps its own: ``S3State.bootstrap``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from modules.config.fields import BUCKET_NAME, AwsRegion, StrictModel, TfStr
from modules.config.rules import Rule

KEY_PREFIX = Rule(
    r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
    "a key prefix is folder names of letters, digits and _ . - joined by / (no / at either end)",
    "cdktf/mlbatch",
)
DYNAMODB_TABLE = Rule(
    r"^[A-Za-z0-9_.-]{3,255}$",
    "a DynamoDB table name is 3-255 letters, digits and _ . -",
    "terraform-locks",
)

# Beside cdktf.json, outside cdktf.out/ (which every synth replaces).
DEFAULT_STATE_PATH = "terraform.{stack}.tfstate"


class LocalState(StrictModel):
    """Terraform state in a local file (the default dev environment; no AWS account needed)."""

    backend: Literal["local"] = Field(description="Selects this kind of state.")
    path: TfStr | None = Field(
        default=None,
        description=(
            "State file, relative to the project directory (or absolute); `{stack}` stands for "
            "the stack name and is required with layout per-pipeline, where every stack has its "
            f"own state (default {DEFAULT_STATE_PATH})."
        ),
    )

    @property
    def state_path(self) -> str:
        """The state file of stack ``{stack}``, relative to the project directory."""
        return self.path or DEFAULT_STATE_PATH


class S3State(StrictModel):
    """Remote state in S3: encrypted, locked, one key per stack."""

    backend: Literal["s3"] = Field(description="Selects this kind of state.")
    bucket: TfStr = Field(
        pattern=BUCKET_NAME.pattern, description="State bucket (from the bootstrap stack)."
    )
    region: AwsRegion | None = Field(
        default=None,
        description="Bucket region (default: environment's), in the environment's partition.",
    )
    key_prefix: TfStr = Field(
        default="cdktf",
        pattern=KEY_PREFIX.pattern,
        description="State keys are <key_prefix>/<stack>.tfstate.",
    )
    lock: Literal["lockfile", "dynamodb"] = Field(
        default="lockfile", description="S3 native lock file (Terraform >= 1.10) or DynamoDB."
    )
    dynamodb_table: TfStr | None = Field(
        default=None, pattern=DYNAMODB_TABLE.pattern, description="Lock table (lock: dynamodb)."
    )
    bootstrap: Literal["local", "self-hosted"] = Field(
        default="local",
        description=(
            "Where the state bootstrap stack that creates this bucket keeps its own state: local "
            "= terraform.<stack>.tfstate at the project root; self-hosted = in this bucket, key "
            "<key_prefix>/<stack>.tfstate, encrypted and locked like the other stacks (set it "
            "after the first apply and run `make state-self-host`: docs/deploying.md)."
        ),
    )

    @model_validator(mode="after")
    def _table_for_dynamodb(self) -> S3State:
        if self.lock == "dynamodb" and not self.dynamodb_table:
            raise ValueError("lock: dynamodb needs dynamodb_table")
        if self.lock == "lockfile" and self.dynamodb_table:
            raise ValueError("dynamodb_table is only used with lock: dynamodb")
        return self


StateConfig = Annotated[LocalState | S3State, Field(discriminator="backend")]


def backend_settings(state: S3State) -> tuple[str, str, str | None]:
    """What an S3 backend takes from a state beyond the bucket: key prefix, lock, lock table."""
    return (state.key_prefix, state.lock, state.dynamodb_table)
