"""The runbook (docs/operations.md) held to the operations tool: every `./ops` command of its
console blocks runs against botocore's Stubber (`why` explaining a real failed execution on the
Step Functions engine), its commands in prose are ones the blocks run, its config changes are
valid config, and the README links it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modules.config import ProjectConfig, load_config
from modules.naming import Names
from tests.support.machines import Machine
from tests.support.ops_cli import (
    FAILED_RUN,
    SHARDED_RUN,
    failed_execution,
    invoke,
    scenario_backfill,
    scenario_rerun,
    scenario_run,
    scenario_runs,
    scenario_test_alert,
    scenario_why,
    scenario_why_sharded,
    synthesized_machine,
    using_ops_config,
)
from tests.support.ops_stubs import OPS_CONFIG, StubbedAws, install, target
from tests.support.sfn_engine import Engine, Execution
from tools.ops import cli
from tools.ops.cli import alarm_for_alert_test

# The environment and pipeline of tests/fixtures/ops.yaml whose failed run the runbook explains.
ENVIRONMENT = "prod"
PIPELINE = "churn"


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


@pytest.fixture(scope="module")
def churn(synth_env: Callable[[ProjectConfig, str], str]) -> Machine:
    """The prod churn state machine of the ops config, as synthesized."""
    return synthesized_machine(synth_env, ENVIRONMENT, PIPELINE)


@pytest.fixture(scope="module")
def failed_run(engine: Engine, churn: Machine) -> Execution:
    """A transform job that fails, run on the Step Functions engine (its real history)."""
    return failed_execution(engine, churn)


RUNBOOK = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def runbook_commands() -> list[str]:
    """Every ``./ops`` line of the runbook's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _flags(args: list[str]) -> dict[str, str | bool]:
    """Options of a command line (``--name value`` or ``--switch``), and its run name if any."""
    flags: dict[str, str | bool] = {}
    positional = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            takes_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            flags[args[i]] = args[i + 1] if takes_value else True
            i += 2 if takes_value else 1
        else:
            positional.append(args[i])
            i += 1
    if len(positional) > 4:  # ./ops why ENV PIPELINE RUN
        flags["run"] = positional[4]
    return flags


def _test_alert(aws: StubbedAws, environment: str) -> None:
    config = load_config(OPS_CONFIG)
    env = config.environments[environment]
    scenario_test_alert(
        aws, alarm_for_alert_test(Names(config.project, env.name), env.pipelines[0])
    )


def test_every_command_in_the_runbook_runs(failed_run: Execution) -> None:
    commands = runbook_commands()
    registered = {c.name or c.callback.__name__ for c in cli.app.registered_commands if c.callback}
    assert {shlex.split(c)[1] for c in commands} == registered
    scenarios = {
        "runs": scenario_runs,
        "why": scenario_why(failed_run),
        "backfill": scenario_backfill,
        "run": scenario_run,
    }
    # A sharded pipeline's run is the sharded run whose shards failed.
    sharded = {"why": scenario_why_sharded("FAILED"), "rerun": scenario_rerun}
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "./ops", command
        aws = StubbedAws(args[2])
        install(aws)
        if args[1] == "test-alert":
            _test_alert(aws, args[2])
        else:
            t = target(args[2], args[3])
            of = sharded if t.pipeline.transform.shards is not None else scenarios
            of[args[1]](aws, t, _flags(args))
        code, text = invoke(command)
        aws.assert_done()
        assert code == 0, (command, text)
        if "run" in _flags(args):
            shards = target(args[2], args[3]).pipeline.transform.shards
            named = SHARDED_RUN if shards is not None else FAILED_RUN
            assert _flags(args)["run"] == named, "the runbook names the run the test explains"
    # Commands written in the prose use only the commands the blocks run.
    inline = re.findall(r"`\./ops (\w[\w-]*)", RUNBOOK.read_text())
    assert set(inline) <= {shlex.split(c)[1] for c in commands}


def test_readme_links_the_runbook() -> None:
    readme = (RUNBOOK.parent.parent / "README.md").read_text()
    assert "(docs/operations.md)" in readme


def _merged(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, dict):
        return {k: _merged(base.get(k), v) for k, v in change.items()} | {
            k: v for k, v in base.items() if k not in change
        }
    return change


def test_the_runbooks_config_changes_are_valid_config() -> None:
    import yaml

    from modules.config import parse_config

    blocks = re.findall(r"```yaml\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    assert len(blocks) == 2
    base = yaml.safe_load(OPS_CONFIG.read_text())
    routed = parse_config(_merged(base, yaml.safe_load(blocks[0])), "runbook")
    receives = [s.receives for s in routed.environments["prod"].alerting.subscriptions]
    assert receives == ["page", "notices", "all"]
    off = parse_config(_merged(base, yaml.safe_load(blocks[1])), "runbook")
    churn = next(p for p in off.environments["prod"].pipelines if p.name == "churn")
    assert not churn.schedule.enabled and churn.freshness_window_hours is None
