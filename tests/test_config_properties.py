"""Hostile config: for any input the loader returns a valid config or one readable ConfigError.

Never another exception, never a multi-line message; and whatever it accepts yields AWS names
within AWS's limits once project, environment and pipeline are combined.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modules.config import ConfigError, ProjectConfig, check_name, parse_config
from modules.naming import Names
from tests.conftest import EXAMPLE_CONFIG, REPO

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _edited(path: tuple[Any, ...], value: Any, action: str) -> dict[str, Any]:
    raw = json.loads(json.dumps(BASE))
    parent: Any = raw
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "add-key" and isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent[last] = value
    return raw


def check_limits(config: ProjectConfig) -> None:
    """Every derived AWS name fits its request member's limits."""
    for env in config.environments.values():
        names = Names(config.project, env.name)
        limits = names.limits("123456789012", env.region)
        for pipeline in env.pipelines:
            limits += names.of_pipeline(pipeline.name).limits()
        for limit in limits:
            check_name(limit)


def outcome(raw: Any) -> str:
    """Parse; return 'ok' or 'error', failing the test on anything else."""
    try:
        config = parse_config(raw, "hostile.yaml")
    except ConfigError as error:
        # Every mistake on a line of its own, each naming the file.
        assert error.lines, error
        for line in error.lines:
            assert line.startswith("hostile.yaml: "), line
            assert "\n" not in line and "Traceback" not in line, line
        assert str(error) == "\n".join(error.lines)
        return "error"
    check_limits(config)
    return "ok"


@SETTINGS
@given(
    path=st.sampled_from(PATHS),
    value=values,
    action=st.sampled_from(["replace", "delete", "add-key"]),
)
def test_any_single_edit_gives_a_config_or_readable_errors(
    path: tuple[Any, ...], value: Any, action: str
) -> None:
    outcome(_edited(path, value, action))


@SETTINGS
@given(document=values)
def test_any_document_shape(document: Any) -> None:
    outcome(document)


def _pipeline_edit(**changes: Any) -> dict[str, Any]:
    raw = json.loads(json.dumps(BASE))
    pipeline = raw["pipelines"][0]
    for dotted, value in changes.items():
        node = pipeline
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return raw


cron_field = st.one_of(
    st.sampled_from(["*", "?", "0", "59", "60", "1-5", "MON-FRI", "L", "1W", "3#2", "*/5", "-1"]),
    st.text(alphabet="0123456789*?-/,LW#", min_size=1, max_size=4),
)


@SETTINGS
@given(fields=st.lists(cron_field, min_size=0, max_size=7))
def test_cron_expressions(fields: list[str]) -> None:
    outcome(_pipeline_edit(schedule__expression=f"cron({' '.join(fields)})"))


@SETTINGS
@given(
    expression=st.one_of(
        st.text(max_size=30),
        st.builds(lambda n, u: f"rate({n} {u})", st.integers(-5, 5000), st.text(max_size=8)),
        st.builds(lambda s: f"at({s})", st.text(max_size=22)),
    ),
    timezone=st.one_of(st.text(max_size=30), st.sampled_from(["UTC", "Europe/Berlin", "Mars/X"])),
)
def test_schedule_expressions_and_timezones(expression: str, timezone: str) -> None:
    outcome(_pipeline_edit(schedule__expression=expression, schedule__timezone=timezone))


@SETTINGS
@given(
    instance_type=st.one_of(
        st.text(max_size=20),
        st.builds(lambda a, b: f"ml.{a}.{b}", st.text(max_size=6), st.text(max_size=8)),
        st.sampled_from(["ml.m5.xlarge", "ml.t2.medium", "ml.p4d.24xlarge", "ML.M5.XLARGE"]),
    )
)
def test_instance_types(instance_type: str) -> None:
    outcome(_pipeline_edit(transform__instance_type=instance_type))


@SETTINGS
@given(
    prefix=st.text(max_size=40),
    image=st.text(max_size=80),
    package=st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda region, account, name, version: (
                f"arn:aws:sagemaker:{region}:{account}:model-package/{name}/{version}"
            ),
            st.text(max_size=12),
            st.text(alphabet="0123456789", max_size=13),
            st.text(max_size=70),
            st.integers(-1, 10**6),
        ),
    ),
)
def test_s3_prefixes_images_and_package_arns(prefix: str, image: str, package: str) -> None:
    outcome(_pipeline_edit(input_prefix=prefix, model__image=image))
    outcome(_pipeline_edit(model={"model_package_arn": package}))


@SETTINGS
@given(
    project=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_A", min_size=0, max_size=20),
    environment=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=0, max_size=12),
    pipeline=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=0, max_size=40),
)
def test_names_that_break_aws_limits_once_prefixed(
    project: str, environment: str, pipeline: str
) -> None:
    raw = json.loads(json.dumps(BASE))
    raw["project"] = project
    raw["pipelines"][0]["name"] = pipeline
    environments = raw["environments"]
    overrides = environments["dev"].get("pipelines", {})
    overrides[pipeline] = overrides.pop("churn", {})
    environments["prod"].get("pipelines", {}).pop("churn", None)
    raw["environments"] = {environment: environments["dev"]}
    outcome(raw)


@SETTINGS
@given(names=st.lists(st.sampled_from(["churn", "ltv", "a", "churn "]), min_size=0, max_size=4))
def test_duplicate_and_empty_pipeline_lists(names: list[str]) -> None:
    raw = json.loads(json.dumps(BASE))
    template = raw["pipelines"][0]
    raw["pipelines"] = [{**json.loads(json.dumps(template)), "name": n} for n in names]
    for env in raw["environments"].values():
        env.pop("pipelines", None)
    result = outcome(raw)
    if not names or len(set(names)) < len(names):
        assert result == "error"


@settings(max_examples=25, deadline=None)
@given(text=st.text(max_size=200))
def test_any_file_text(tmp_path_factory: Any, text: str) -> None:
    from modules.config import load_config

    path = tmp_path_factory.mktemp("yaml") / "c.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as error:
        assert all("\n" not in line and line.startswith(str(path)) for line in error.lines)


@settings(max_examples=4, deadline=None)
@given(
    path=st.sampled_from([p for p in PATHS if p[0] in ("pipelines", "environments")]),
    value=st.sampled_from([None, "x", -1, [], {"bogus": 1}]),
)
def test_the_app_exits_2_and_writes_nothing(
    tmp_path_factory: Any, path: tuple[Any, ...], value: Any
) -> None:
    raw = _edited(path, value, "replace")
    if outcome(raw) == "ok":
        return
    work = tmp_path_factory.mktemp("app")
    config = Path(work) / "bad.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py")],
        cwd=work,
        env={**os.environ, "PIPELINE_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"config error: {config}") for line in lines)
    assert "Traceback" not in result.stderr
    assert not (Path(work) / "cdktf.out").exists()
