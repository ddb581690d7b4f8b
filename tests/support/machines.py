"""The deployed state machines of a config, read from its synthesized Terraform JSON: each
definition with its Terraform references replaced by the literal names and ARNs they stand for
(in the environment's partition), what starts it (the schedule's input, the event rule's pattern
and input transformer) and its buckets and model.

Needs the config and its stacks (``tools.synth.synthesize``, any layout); tests/support/
executions.py runs them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from modules.aws_context import AwsContext
from modules.config import PipelineConfig, ProjectConfig, partition_of
from modules.naming import Names, PipelineNames
from modules.shard_layout import SHARD_DIGITS
from modules.stack_names import is_environment_stack
from modules.workflow.chain import every_state
from modules.workflow.shard_job import MAX_JOB_NAME
from modules.workflow.state_names import RUN_SHARD_TRANSFORM_JOB, RUN_TRANSFORM_JOB
from tests.support.placeholders import resolve as resolve_placeholder

_ANY_REFERENCE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Machine:
    """One deployed state machine and what starts it."""

    label: str
    project: str
    environment: str
    region: str
    account: str
    pipeline: PipelineConfig
    name: str
    definition: str
    schedule_input: str
    input_bucket: str
    output_bucket: str
    model_name: str | None
    rule_pattern: dict[str, Any] | None
    rule_transformer: dict[str, Any] | None

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = json.loads(self.definition)["States"]
        return states

    @functools.cached_property
    def all_states(self) -> dict[str, dict[str, Any]]:
        """Every state, those a Map runs (a shard's) included (read once a machine: every
        scenario's mocks and checks look states up here)."""
        return every_state(self.states)

    @property
    def sharded(self) -> bool:
        return self.pipeline.transform.shards is not None

    @property
    def job_state(self) -> str:
        """The state that starts the run's transform job, or each shard's."""
        return RUN_SHARD_TRANSFORM_JOB if self.sharded else RUN_TRANSFORM_JOB

    @property
    def names(self) -> PipelineNames:
        """The pipeline's names, as the stacks build them."""
        return Names(self.project, self.environment).of_pipeline(self.pipeline.name)

    @property
    def run_prefix(self) -> str:
        """What the run's per-run names start with."""
        return self.names.run_prefix

    def job_name(self, execution: str) -> str:
        """The run's name (per-run model, failure message); each transform job attempt gets its
        own name (``is_attempt_name``)."""
        return self.run_prefix + hashlib.md5(execution.encode()).hexdigest()

    def is_attempt_name(self, name: str) -> bool:
        """A transform job's name: the run's prefix and a hash; a shard's, the prefix, the shard
        number, a hash cut to fit and the attempt's retry count, at most 63 characters."""
        prefix = re.escape(self.run_prefix)
        if self.sharded:
            shard = rf"{prefix}[0-9]{{{SHARD_DIGITS}}}-[0-9a-f]+[0-9]"
            return len(name) <= MAX_JOB_NAME and re.fullmatch(shard, name) is not None
        return re.fullmatch(rf"{prefix}[0-9a-f]{{32}}", name) is not None

    def output_path(self, execution: str) -> str:
        return f"s3://{self.output_bucket}/{self.pipeline.run_output_prefix}{execution}/"

    @property
    def aws(self) -> AwsContext:
        return AwsContext(self.account, self.region, partition_of(self.region))

    def arn(self, service: str, resource: str) -> str:
        return self.aws.arn(service, resource)


def load_machines(config: ProjectConfig, synthesized: dict[str, dict[str, Any]]) -> list[Machine]:
    """Every state machine of a config, from its synthesized Terraform JSON (any layout): the
    stacks the app writes for that config, by stack name."""
    machines = []
    for env_name, env in config.environments.items():
        stacks = {
            name: document
            for name, document in synthesized.items()
            if is_environment_stack(name, config.project, env_name)
        }
        account = env.account_id or "111122223333"
        resolver = _Resolver(stacks, env.region, account)
        buckets = {
            logical_id: resolver.resolve(stack, bucket["bucket"])
            for stack, document in stacks.items()
            for logical_id, bucket in document.get("resource", {}).get("aws_s3_bucket", {}).items()
        }
        [input_bucket] = [v for k, v in buckets.items() if "input_bucket" in k]
        [output_bucket] = [v for k, v in buckets.items() if "output_bucket" in k]
        for stack, document in stacks.items():
            for machine_id in document.get("resource", {}).get("aws_sfn_state_machine", {}):
                machine = _machine(config.project, env, stack, machine_id, resolver)
                machines.append(
                    replace(machine, input_bucket=input_bucket, output_bucket=output_bucket)
                )
    return machines


def _machine(project: str, env: Any, stack: str, machine_id: str, resolver: _Resolver) -> Machine:
    resources = resolver.stacks[stack]["resource"]
    machine = resources["aws_sfn_state_machine"][machine_id]
    resolve = functools.partial(resolver.resolve, stack)
    arn_reference = f"${{aws_sfn_state_machine.{machine_id}.arn}}"
    [schedule] = [
        s
        for s in resources["aws_scheduler_schedule"].values()
        if s["target"]["arn"] == arn_reference
    ]
    targets = [
        t
        for t in resources.get("aws_cloudwatch_event_target", {}).values()
        if t["arn"] == arn_reference
    ]
    rule_pattern = rule_transformer = None
    if targets:
        [target] = targets
        rule = resources["aws_cloudwatch_event_rule"][target["rule"].split(".")[1]]
        rule_pattern = json.loads(resolve(rule["event_pattern"]))
        rule_transformer = {
            "InputPathsMap": target["input_transformer"]["input_paths"],
            "InputTemplate": target["input_transformer"]["input_template"],
        }
    names = Names(project, env.name)
    [pipeline] = [
        p for p in env.pipelines if machine["name"] == names.of_pipeline(p.name).state_machine
    ]
    definition = resolve(machine["definition"])
    assert "${" not in definition, f"unresolved Terraform reference in {machine['name']}"
    models = resources.get("aws_sagemaker_model", {})
    model_names = [m["name"] for m in models.values() if m["name"] == machine["name"]]
    return Machine(
        label=machine["name"],
        project=project,
        environment=env.name,
        region=env.region,
        account=resolver.account,
        pipeline=pipeline,
        name=machine["name"],
        definition=definition,
        schedule_input=resolve(schedule["target"]["input"]),
        input_bucket="",
        output_bucket="",
        model_name=model_names[0] if model_names else None,
        rule_pattern=rule_pattern,
        rule_transformer=rule_transformer,
    )


class _Resolver:
    """Terraform references -> the literal value they stand for, where the JSON says it: resource
    attributes, locals, and cdktf's cross-stack references (remote state outputs of another stack).
    """

    # Resource type -> (service, resource with {name}, whether the ARN names the region).
    _ARNS: ClassVar[dict[str, tuple[str, str, bool]]] = {
        "aws_iam_role": ("iam", "role/{name}", False),
        "aws_sns_topic": ("sns", "{name}", True),
        "aws_sfn_state_machine": ("states", "stateMachine:{name}", True),
        "aws_sqs_queue": ("sqs", "{name}", True),
    }

    def __init__(self, stacks: dict[str, dict[str, Any]], region: str, account: str) -> None:
        self.stacks, self.account = stacks, account
        self.aws = AwsContext(account, region, partition_of(region))

    def resolve(self, stack: str, text: str) -> str:
        return _ANY_REFERENCE.sub(lambda m: self._value(stack, m.group(1), m.group(0)), text)

    def _value(self, stack: str, reference: str, whole: str) -> str:
        document = self.stacks[stack]
        parts = reference.split(".")
        if reference == "data.aws_caller_identity.current.account_id":
            return self.account
        if parts[0] == "local":
            value: Any = document["locals"]
            for part in parts[1:]:
                value = value[part]
            return self.resolve(stack, value)
        if parts[:2] == ["data", "terraform_remote_state"] and parts[3] == "outputs":
            producer = parts[2].removeprefix("cross-stack-reference-input-")
            output = self.stacks[producer]["output"][parts[4]]["value"]
            return self.resolve(producer, output)
        if len(parts) == 3 and parts[0].startswith("aws_"):
            resource_type, logical_id, attribute = parts
            resource = document.get("resource", {}).get(resource_type, {}).get(logical_id, {})
            literal = resource.get(attribute)
            if isinstance(literal, str):
                return self.resolve(stack, literal)
            if attribute == "arn" and resource_type in self._ARNS and "name" in resource:
                service, path, regional = self._ARNS[resource_type]
                name = self.resolve(stack, resource["name"])
                return self.aws.arn(service, path.format(name=name), region=regional)
        return resolve_placeholder(whole, self.aws)
