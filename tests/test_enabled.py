"""`enabled`: a pipeline rolled out, or retired, one environment at a time.

`environments.<env>.pipelines.<name>.enabled: false` (or `enabled: false` on the pipeline, with
`enabled: true` where it runs) keeps the pipeline out of that environment entirely: no stack, no
dashboard widgets, no alarms; the other environments and the environment's other stacks do not
change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import ConfigError, ProjectConfig
from modules.naming import Names
from tools.synth import stack_files, synthesize

Stacks = dict[str, str]


@pytest.fixture
def synth(tmp_path: Path) -> Callable[[ProjectConfig, str], Stacks]:
    """One environment's stacks, as the exact text the app writes."""
    count = iter(range(100))

    def run(config: ProjectConfig, env: str) -> Stacks:
        outdir = tmp_path / f"app-{next(count)}"
        synthesize(config, outdir, [env])
        return {name: path.read_text() for name, path in stack_files(outdir).items()}

    return run


def _override(env: str, pipeline: str, enabled: bool) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        pipelines = raw["environments"][env].setdefault("pipelines", {})
        pipelines.setdefault(pipeline, {})["enabled"] = enabled

    return edit


def _resources_naming(document: str, pipeline: str) -> list[str]:
    """Addresses of the resources whose configuration names the pipeline's stack or resources."""
    resources = json.loads(document).get("resource", {})
    return [
        f"{kind}.{name}"
        for kind, items in resources.items()
        for name, body in items.items()
        if f"-{pipeline}" in json.dumps(body)
    ]


def test_disabled_in_one_environment_removes_only_its_stack_there(
    make_config: Callable[..., ProjectConfig], synth: Callable[[ProjectConfig, str], Stacks]
) -> None:
    before = synth(make_config(), "prod")
    after = synth(make_config(_override("prod", "ltv", False)), "prod")
    assert set(before) - set(after) == {"mlbatch-prod-ltv"}
    assert set(after) <= set(before)
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == ["mlbatch-prod-dashboard"]  # its widgets are gone, nothing else moved
    assert "mlbatch-prod-ltv" not in after["mlbatch-prod-dashboard"]
    assert "mlbatch-prod-ltv" in before["mlbatch-prod-dashboard"]
    for name, document in after.items():
        assert _resources_naming(document, "ltv") == [], name
    # The other environment still runs it.
    assert "mlbatch-dev-ltv" in synth(make_config(_override("prod", "ltv", False)), "dev")


def test_disabled_on_the_pipeline_runs_only_where_an_environment_enables_it(
    make_config: Callable[..., ProjectConfig],
) -> None:
    def dev_first(raw: dict[str, Any]) -> None:
        raw["pipelines"][1]["enabled"] = False
        _override("dev", "ltv", True)(raw)

    config = make_config(dev_first)
    assert [p.name for p in config.environments["dev"].pipelines] == ["churn", "ltv"]
    assert [p.name for p in config.environments["prod"].pipelines] == ["churn"]


def test_single_layout_leaves_out_the_alarms_and_widgets_of_a_disabled_pipeline(
    make_config: Callable[..., ProjectConfig], synth_env: Callable[[ProjectConfig, str], str]
) -> None:
    def single_without_ltv(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["layout"] = "single"
        _override("prod", "ltv", False)(raw)

    config = make_config(single_without_ltv)
    document = synth_env(config, "prod")
    resources = json.loads(document)["resource"]
    alarms = [
        alarm
        for alarm in resources["aws_cloudwatch_metric_alarm"].values()
        if alarm["alarm_name"] != Names(config.project, "prod").alert_delivery_alarm  # the topic's
    ]
    assert alarms and all("-churn" in json.dumps(alarm) for alarm in alarms)
    assert "-ltv" not in json.dumps(resources["aws_cloudwatch_dashboard"])
    assert _resources_naming(document, "ltv") == []


def test_an_environment_with_every_pipeline_disabled_keeps_its_base_stack(
    make_config: Callable[..., ProjectConfig], synth: Callable[[ProjectConfig, str], Stacks]
) -> None:
    def retire_all(raw: dict[str, Any]) -> None:
        _override("dev", "churn", False)(raw)
        _override("dev", "ltv", False)(raw)

    before = synth(make_config(), "dev")
    after = synth(make_config(retire_all), "dev")
    assert list(after) == ["mlbatch-dev"]
    # Buckets, key and topic stay as they were (only cdktf's cross-stack outputs, which no
    # pipeline stack reads any more, go).
    resources = [json.loads(s["mlbatch-dev"])["resource"] for s in (before, after)]
    assert resources[0] == resources[1]


def test_a_disabled_pipeline_is_still_validated(make_config: Callable[..., ProjectConfig]) -> None:
    def broken_but_disabled(raw: dict[str, Any]) -> None:
        _override("prod", "ltv", False)(raw)
        raw["environments"]["prod"]["pipelines"]["ltv"]["transform"] = {"instance_count": 0}

    with pytest.raises(ConfigError, match=r"ltv.*instance_count"):
        make_config(broken_but_disabled)


def test_enabled_must_be_a_boolean(make_config: Callable[..., ProjectConfig]) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["pipelines"]["churn"]["enabled"] = "sometimes"

    with pytest.raises(ConfigError, match=r"churn.*enabled"):
        make_config(edit)
