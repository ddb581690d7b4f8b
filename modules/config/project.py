"""The whole config after merging: the project and its environments, and the rules across them."""

from __future__ import annotations

from pydantic import Field, model_validator

from modules.config.aws_names import check_name
from modules.config.environment import EnvironmentConfig
from modules.config.fields import PROJECT_NAME, StrictModel, TfStr
from modules.config.state import S3State
from modules.naming import Names


class ProjectConfig(StrictModel):
    """The whole file, after merging: the project and its environments."""

    project: TfStr = Field(
        pattern=PROJECT_NAME.pattern, description="Short project name, in every name."
    )
    environments: dict[TfStr, EnvironmentConfig] = Field(min_length=1)
    source: str = Field(default="", exclude=True, description="The file this came from.")

    @model_validator(mode="after")
    def _names_fit(self) -> ProjectConfig:
        # Every name Names builds, against its request member's limits (botocore's where its
        # models publish them). Account ids are always 12 digits: an unpinned one is measured as
        # zeros.
        for env in self.environments.values():
            names = Names(self.project, env.name)
            checks = [
                (f"environments.{env.name}", limit)
                for limit in names.limits(env.account_id or "0" * 12, env.region)
            ]
            for pipeline in env.pipelines:
                where = f"environments.{env.name}.pipelines[{pipeline.name}].name"
                checks += [(where, limit) for limit in names.of_pipeline(pipeline.name).limits()]
            for where, limit in checks:
                try:
                    check_name(limit)
                except ValueError as error:
                    raise ValueError(f"{where}: {error}") from None
        return self

    @model_validator(mode="after")
    def _state_buckets_agree(self) -> ProjectConfig:
        # One state bucket is one bootstrap resource: environments that share it must agree on
        # where it is. (Lock tables may differ: the bootstrap stack creates every one named.)
        # Nor on its account: a bucket and its key live in one account, each backend names the
        # key by its own environment's account, and each account's bootstrap is applied with a
        # provider pinned to it; an unpinned environment cannot share a pinned one's bucket.
        regions: dict[str, tuple[str, str]] = {}
        accounts: dict[str, tuple[str, str | None]] = {}
        for env, state in self.s3_states:
            region = state.region or env.region
            first = regions.setdefault(state.bucket, (env.name, region))
            if first[1] != region:
                raise ValueError(
                    f"environments.{env.name}.state.region: state bucket {state.bucket} is in "
                    f"{first[1]} for environment {first[0]!r} but {region} here; give it one region"
                )
            owner = accounts.setdefault(state.bucket, (env.name, env.account_id))
            if owner[1] != env.account_id:
                raise ValueError(
                    f"environments.{env.name}.state.bucket: state bucket {state.bucket} is used "
                    f"by environment {owner[0]!r} (account {owner[1] or 'not pinned'}) and here "
                    f"(account {env.account_id or 'not pinned'}); a state bucket belongs to one "
                    "account: give each account its own bucket, and pin account_id on every "
                    "environment that shares one"
                )
        return self

    @property
    def s3_states(self) -> list[tuple[EnvironmentConfig, S3State]]:
        return [(e, e.state) for e in self.environments.values() if isinstance(e.state, S3State)]
