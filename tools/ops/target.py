"""The pipeline a command works on: its config, and every name and ARN of its resources, built by
``Names`` / ``PipelineNames`` (modules/naming.py) from the config, never typed by hand. The
account comes from the environment's ``account_id`` or, when the config does not pin one, from
the caller's credentials (STS); the region is the environment's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from modules.aws_context import AwsContext, console_url
from modules.config import EnvironmentConfig, PipelineConfig, ProjectConfig
from modules.naming import TRANSFORM_JOB_LOG_GROUP, Names, PipelineNames
from modules.workflow import MANIFEST_NAME

__all__ = ["TRANSFORM_JOB_LOG_GROUP", "OpsError", "Target", "environment_of", "resolve"]


class OpsError(Exception):
    """A mistake in what was asked (unknown environment, bad option): one line, exit status 2."""


@dataclass(frozen=True)
class Target:
    project: str
    environment: EnvironmentConfig
    pipeline: PipelineConfig
    aws: AwsContext

    @property
    def environment_names(self) -> Names:
        return Names(self.project, self.environment.name)

    @property
    def names(self) -> PipelineNames:
        return self.environment_names.of_pipeline(self.pipeline.name)

    @property
    def label(self) -> str:
        return self.names.base

    @property
    def state_machine_arn(self) -> str:
        return self.aws.arn("states", f"stateMachine:{self.names.state_machine}")

    def execution_arn(self, name: str) -> str:
        return self.aws.arn("states", f"execution:{self.names.state_machine}:{name}")

    def transform_job_arn(self, job: str) -> str:
        # SageMaker's ARNs hold resource names in lower case.
        return self.aws.arn("sagemaker", f"transform-job/{job.lower()}")

    def bucket(self, purpose: str) -> str:
        return self.environment_names.buckets(self.aws.account_id, self.aws.region)[purpose]

    @property
    def output_bucket(self) -> str:
        return self.bucket("output")

    def manifest_key(self, run: str) -> str:
        return f"{self.pipeline.run_output_prefix}{run}/{MANIFEST_NAME}"

    def _console(self, path: str, fragment: str) -> str:
        return console_url(self.aws.partition, self.aws.region, path) + fragment

    def execution_console(self, execution_arn: str) -> str:
        return self._console("states/home", f"#/v2/executions/details/{execution_arn}")

    def transform_job_console(self, job: str) -> str:
        return self._console("sagemaker/home", f"#/transform-jobs/{job}")

    def log_group_console(self, group: str) -> str:
        # The CloudWatch console wants the group name URL-encoded twice, '%' written as '$'.
        encoded = quote(quote(group, safe=""), safe="").replace("%", "$")
        return self._console("cloudwatch/home", f"#logsV2:log-groups/log-group/{encoded}")


def environment_of(config: ProjectConfig, environment: str) -> EnvironmentConfig:
    """The environment named on the command line."""
    env = config.environments.get(environment)
    if env is None:
        known = ", ".join(config.environments)
        raise OpsError(f"no environment {environment!r} in {config.source} (environments: {known})")
    return env


def resolve(
    config: ProjectConfig, environment: str, pipeline: str, caller_account: Callable[[], str]
) -> Target:
    """The target named on the command line; ``caller_account`` is asked only when the config
    pins no account."""
    env = environment_of(config, environment)
    found = [p for p in env.pipelines if p.name == pipeline]
    if not found:
        known = ", ".join(p.name for p in env.pipelines)
        raise OpsError(
            f"no pipeline {pipeline!r} in environment {environment} (pipelines: {known})"
        )
    account = env.account_id or caller_account()
    return Target(config.project, env, found[0], AwsContext(account, env.region, env.partition))
