"""A config that says everything that is wrong, once, where it is (one test per promise):
duplicate keys name both lines, every mistake in one run, the path as written with its line,
"did you mean", whole lists or a pointer to the reference, sentences, and `make synth` keeping the
last good output."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from modules.config import ConfigError, load_config, transform_instance_types
from tests.conftest import EXAMPLE_CONFIG, REPO, stacks_of
from tools.synth import read_stacks

EXAMPLE = EXAMPLE_CONFIG.read_text()


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return [line.removeprefix(f"{path}") for line in raised.value.lines]


def _line_of(text: str, fragment: str, after: int = 0) -> int:
    lines = text.splitlines()
    return next(i for i in range(after, len(lines)) if fragment in lines[i]) + 1


def _with_prod_override(override: str) -> str:
    """The example with lines added under environments.prod.pipelines.churn."""
    anchor = "      churn:\n        transform:\n          instance_count: 2\n"
    assert anchor in EXAMPLE
    return EXAMPLE.replace(anchor, anchor + override)


def test_a_duplicated_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    # The case from the issue: a second `staging:` block silently replaced the first one.
    staging = "  staging:\n    state:\n      backend: s3\n      bucket: st-123456789012\n"
    text = (
        EXAMPLE
        + staging
        + staging.replace("backend: s3\n      bucket: st-123456789012", "backend: local")
    )
    first = _line_of(text, "  staging:")
    second = _line_of(text, "  staging:", first)
    assert _errors(tmp_path, text) == [
        f":{second}: environments.staging: the key is given twice, on lines {first} and "
        f"{second}; YAML would silently keep only the last one, so remove or merge one of them"
    ]


def test_every_mistake_is_reported_in_one_run(tmp_path: Path) -> None:
    text = (
        _with_prod_override("          instance_typ: ml.m5.large\n")
        .replace(
            "timezone: Europe/Berlin\n      flexible", "timezone: Europe/Pariss\n      flexible"
        )
        .replace("instance_type: ml.m5.2xlarge", "instance_type: ml.c5.3xlarge")
    )
    errors = _errors(tmp_path, text)
    assert len(errors) == 3, errors
    assert [re.sub(r"^:\d+: ([^:]+):.*", r"\1", e) for e in errors] == [
        "pipelines[churn].schedule.timezone",
        "pipelines[ltv].transform.instance_type",
        "environments.prod.pipelines.churn.transform.instance_typ",
    ]


def test_each_mistake_names_the_path_as_written_and_its_line(tmp_path: Path) -> None:
    text = _with_prod_override("          instance_typ: ml.m5.large\n")
    line = _line_of(text, "instance_typ:")
    (error,) = _errors(tmp_path, text)
    assert error.startswith(f":{line}: environments.prod.pipelines.churn.transform.instance_typ: ")
    # A shared setting is named where it is written, once, not once per environment.
    text = EXAMPLE.replace(
        "instance_count: 2\n      max_payload", "instance_count: 0\n      max_payload"
    )
    (error,) = _errors(tmp_path, text)
    line = _line_of(text, "instance_count: 0")
    assert error.startswith(f":{line}: pipelines[ltv].transform.instance_count: instance count ")


@pytest.mark.parametrize(
    ("old", "new", "suggested"),
    [
        (
            "          instance_count: 2\n",
            "          instance_typ: ml.m5.large\n",
            "'instance_type'",
        ),
        ("instance_type: ml.m5.2xlarge", "instance_type: ml.c5.3xlarge", "'ml.c5.xlarge'"),
        (
            "timezone: Europe/Berlin\n      flexible",
            "timezone: Europe/Pariss\n      flexible",
            "'Europe/Paris'",
        ),
        ("split_type: Line", "split_type: Lines", "'Line'"),
    ],
    ids=["key", "instance type", "time zone", "enum"],
)
def test_a_near_miss_gets_a_did_you_mean(
    tmp_path: Path, old: str, new: str, suggested: str
) -> None:
    (error,) = _errors(tmp_path, EXAMPLE.replace(old, new, 1))
    assert f"did you mean {suggested}" in error


def test_allowed_values_are_whole_or_point_to_the_reference(tmp_path: Path) -> None:
    (error,) = _errors(
        tmp_path, EXAMPLE.replace("instance_type: ml.m5.2xlarge", "instance_type: ml.x")
    )
    count = len(transform_instance_types())
    assert f"docs/config-reference.md lists all {count} Batch Transform instance types" in error
    reference = (REPO / "docs" / "config-reference.md").read_text()
    allowed_section = reference.split("## Allowed values", 1)[1]
    assert all(f"`{t}`" in allowed_section for t in transform_instance_types())
    # A short list is given whole.
    (error,) = _errors(tmp_path, EXAMPLE.replace("protocol: email", "protocol: pager"))
    assert "'email', 'email-json', 'https', 'lambda' or 'sms'" in error


@pytest.mark.parametrize(
    ("old", "new", "sentence"),
    [
        ("instance_count: 2\n", "instance_count: 0\n", "instance count must be at least 1"),
        ("max_payload_mb: 10", "max_payload_mb: 1000", "max_payload_mb may be at most 100"),
        ("region: eu-west-1", "region: eu-nowhere-1", "docs/config-reference.md lists all"),
    ],
)
def test_messages_read_as_sentences_not_cut_lists(
    tmp_path: Path, old: str, new: str, sentence: str
) -> None:
    (error,) = _errors(tmp_path, EXAMPLE.replace(old, new, 1))
    assert sentence in error
    assert "..." not in error and "…" not in error


def test_make_synth_keeps_the_last_good_output_on_a_config_error(
    tmp_path: Path, stacks: dict[str, dict[str, Any]]
) -> None:
    out = tmp_path / "out"
    good = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "synth",
            f"OUT={out}",
            f"PIPELINE_CONFIG={EXAMPLE_CONFIG}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert good.returncode == 0, good.stderr
    # The app's process leaves without the interpreter's teardown (main.exit_now): everything it
    # wrote is there, as the in-process synthesis of the same config writes it.
    assert read_stacks(out) == stacks_of(stacks, "example")
    manifest = (out / "manifest.json").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.replace("instance_type: ml.m5.2xlarge", "instance_type: ml.x"))
    failed = subprocess.run(
        ["make", "--no-print-directory", "synth", f"OUT={out}", f"PIPELINE_CONFIG={bad}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode != 0
    assert f"config error: {bad}:" in failed.stderr
    assert (out / "manifest.json").read_text() == manifest
    assert not Path(f"{out}.next").exists()
