"""The whole config after merging: the project and its environments, and the rules across them
(the names built from them fit AWS's limits, environments sharing a state bucket agree on it),
each reporting every mistake it finds."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, model_validator

from modules.config.aws_names import check_name, name_rule
from modules.config.environment import EnvironmentConfig
from modules.config.fields import PROJECT_NAME, Found, StrictModel, TfStr, raise_each
from modules.config.state import S3State, backend_settings
from modules.naming import Limit, Names


class ProjectConfig(StrictModel):
    """The whole file, after merging: the project and its environments."""

    project: TfStr = Field(
        pattern=PROJECT_NAME.pattern, description="Short project name, in every name."
    )
    environments: dict[TfStr, EnvironmentConfig] = Field(min_length=1)
    source: str = Field(default="", exclude=True, description="The file this came from.")
    notices: tuple[str, ...] = Field(
        default=(),
        exclude=True,
        description="What the synth changed from the file as written, one line each (for stderr).",
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> ProjectConfig:
        raise_each(
            [
                *self._name_mistakes(),
                *self._state_bucket_mistakes(),
                *self._bootstrap_host_mistakes(),
            ]
        )
        return self

    def _name_mistakes(self) -> Iterator[Found]:
        # Every name Names builds, against its request member's limits (botocore's where its
        # models publish them). Account ids are always 12 digits: an unpinned one is measured as
        # zeros. One line per environment (the names of its own) and one per pipeline: the name
        # that overflows its limit most (shortening by that much fits them all), the same line
        # under every environment where one is refused (the loader names them, merged).
        worst: dict[str, str] = {}
        overflow: dict[str, int] = {}
        refused_in: dict[str, list[str]] = {}
        for key, env in self.environments.items():
            names = Names(self.project, env.name)
            refused = _worst_refusal(names.limits(env.account_id or "0" * 12, env.region))
            if refused is not None:
                yield ("environments", key), refused[1]
            for pipeline in env.pipelines:
                refused = _worst_refusal(names.of_pipeline(pipeline.name).limits())
                if refused is None:
                    continue
                refused_in.setdefault(pipeline.name, []).append(key)
                if refused[0] > overflow.get(pipeline.name, -1):
                    overflow[pipeline.name], worst[pipeline.name] = refused
        for name, keys in refused_in.items():
            for key in keys:
                yield ("environments", key, "pipelines", name, "name"), worst[name]

    def _state_bucket_mistakes(self) -> Iterator[Found]:
        # One state bucket is one bootstrap resource: environments that share it must agree on
        # where it is. (Lock tables may differ: the bootstrap stack creates every one named.)
        # Nor on its account: a bucket and its key live in one account, each backend names the
        # key by its own environment's account, and each account's bootstrap is applied with a
        # provider pinned to it; an unpinned environment cannot share a pinned one's bucket.
        regions: dict[str, tuple[str, str]] = {}
        accounts: dict[str, tuple[str, str | None]] = {}
        for env, state in self.s3_states:
            here = ("environments", env.name, "state")
            region = state.region or env.region
            first = regions.setdefault(state.bucket, (env.name, region))
            if first[1] != region:
                yield (
                    (*here, "region"),
                    f"state bucket {state.bucket} is in {first[1]} for environment {first[0]!r} "
                    f"but {region} here; give it one region",
                )
            owner = accounts.setdefault(state.bucket, (env.name, env.account_id))
            if owner[1] != env.account_id:
                yield (
                    (*here, "bucket"),
                    f"state bucket {state.bucket} is used by environment {owner[0]!r} (account "
                    f"{owner[1] or 'not pinned'}) and here (account "
                    f"{env.account_id or 'not pinned'}); a state bucket belongs to one account: "
                    "give each account its own bucket, and pin account_id on every environment "
                    "that shares one",
                )

    def _bootstrap_host_mistakes(self) -> Iterator[Found]:
        # A self-hosted bootstrap's backend is taken from the environments that ask for it, so
        # they must agree on it; and a pinned account's bootstrap (one per account and region,
        # holding every bucket there) keeps its one state in one of its buckets.
        hosts: dict[str, S3State] = {}
        host_of_stack: dict[tuple[str, str], str] = {}
        for env, state in self.s3_states:
            if state.bootstrap != "self-hosted":
                continue
            here = ("environments", env.name, "state", "bootstrap")
            first = hosts.setdefault(state.bucket, state)
            if backend_settings(first) != backend_settings(state):
                yield (
                    here,
                    f"state bucket {state.bucket} hosts its bootstrap's state for several "
                    "environments with different key_prefix, lock or dynamodb_table; give them "
                    "the same, the bootstrap's backend is taken from them",
                )
            if env.account_id is None:
                continue
            stack = (env.account_id, state.region or env.region)
            other = host_of_stack.setdefault(stack, state.bucket)
            if other != state.bucket:
                yield (
                    here,
                    f"state buckets {other} and {state.bucket} (account {stack[0]}, "
                    f"{stack[1]}) are created by one bootstrap stack, which keeps its state in "
                    "one bucket: set bootstrap: self-hosted on one of them only",
                )

    @property
    def s3_states(self) -> list[tuple[EnvironmentConfig, S3State]]:
        return [(e, e.state) for e in self.environments.values() if isinstance(e.state, S3State)]


def _worst_refusal(limits: list[Limit]) -> tuple[int, str] | None:
    """The refused name that is longest over its limit (its overflow and message), if any."""
    refused: list[tuple[int, str]] = []
    for limit in limits:
        try:
            check_name(limit)
        except ValueError as error:
            refused.append((len(limit.name) - name_rule(limit.member).max_length, str(error)))
    return max(refused, key=lambda found: found[0]) if refused else None
