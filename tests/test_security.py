"""Secure and valid by construction: policy scan, ASL validation, IAM lint, data safety, stability.

Scanned: every stack of the example config (tests/fixtures/example.yaml) and of
tests/fixtures/all-features.yaml (every optional feature on). Tools: checkov (its own virtualenv,
tools/checkov), asl-validator (npm, pinned in package-lock.json), parliament (PyPI). Accepted
findings live in security/: one reviewed place.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.config import ProjectConfig, S3State, load_config
from tests.conftest import CONFIGS, REPO
from tests.support import invariants
from tests.support.environments import ASL_VALIDATOR, CHECKOV
from tests.support.invariants import policy_documents
from tests.support.placeholders import context_of, resolve, unresolved
from tools.synth import synthesize

SECURITY = REPO / "security"


@pytest.fixture(scope="session")
def stack_dirs(stacks: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan")
    for name, document in stacks.items():
        target = root / name.replace("/", "__")
        target.mkdir()
        # checkov's terraform_json parser (3.3.30) refuses a non-object entry in the terraform
        # block ("this method receives only dicts") and then scans nothing: it gets the stack
        # without required_version, which no checkov check reads.
        scanned = json.loads(json.dumps(document))
        scanned.get("terraform", {}).pop("required_version", None)
        (target / "cdk.tf.json").write_text(json.dumps(scanned, indent=2))
    return root


def test_all_stacks_are_scanned(stacks: dict[str, dict[str, Any]]) -> None:
    per_pipeline = ["", "-churn", "-ltv", "-dashboard"]
    assert set(stacks) == {
        *(f"example/mlbatch-{env}{suffix}" for env in ("dev", "prod") for suffix in per_pipeline),
        "example/mlbatch-state-123456789012-eu-west-1",
        "all-features/full-stage",  # layout: single
        "all-features/full-state-444455556666-us-west-2",
    }


# --------------------------------------------------------------------------------------------
# checkov


def _pipelines() -> list[Any]:
    """Every pipeline of every environment of the configs under test (tests/conftest.py)."""
    return [
        pipeline
        for path in CONFIGS.values()
        for env in load_config(path).environments.values()
        for pipeline in env.pipelines
    ]


def test_checkov_finds_no_failed_check(
    stack_dirs: Path, record_property: Callable[[str, object], None]
) -> None:
    assert CHECKOV.exists(), "checkov is installed by `make test` (tools/checkov)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(SECURITY / "checkov.yaml"),
            "-d",
            str(stack_dirs),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for report in reports
        for f in report["results"]["failed_checks"]
    ]
    passed = sum(report["summary"]["passed"] for report in reports)
    # What `make check`'s summary says of the scan (tools/check/plugin.py), failed or not.
    record_property(
        "checkov",
        f"{passed} passed, {len(failed)} failed, {len(_checkov_skips())} reviewed exceptions in "
        "security/checkov.yaml",
    )
    assert failed == [], "\n".join(failed)
    # The scan really ran over all stacks (each passes more than 25 checks).
    assert passed > 25 * len(list(stack_dirs.iterdir()))


def _checkov_skips() -> list[str]:
    return list(yaml.safe_load((SECURITY / "checkov.yaml").read_text())["skip-check"])


def test_every_checkov_skip_is_justified() -> None:
    text = (SECURITY / "checkov.yaml").read_text()
    for check in _checkov_skips():
        before = text.split(f"  - {check}\n")[0].rstrip().splitlines()
        assert before[-1].lstrip().startswith("#"), f"{check} needs a justification comment"


# --------------------------------------------------------------------------------------------
# Amazon States Language


def test_every_state_machine_definition_is_valid_asl(
    stacks: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    assert ASL_VALIDATOR.exists(), "asl-validator is installed by `make test` (npm ci)"
    paths = []
    for stack, document in stacks.items():
        for logical_id, machine in (
            document.get("resource", {}).get("aws_sfn_state_machine", {}).items()
        ):
            assert unresolved(machine["definition"]) == []
            path = tmp_path / f"{stack.replace('/', '__')}__{logical_id}.json"
            path.write_text(resolve(machine["definition"], context_of(document)))
            paths.append(path)
    assert len(paths) == len(_pipelines())
    arguments = [arg for path in paths for arg in ("--json-path", str(path))]
    result = subprocess.run(
        [str(ASL_VALIDATOR), *arguments], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}))
    result = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


# --------------------------------------------------------------------------------------------
# IAM


def _accepted_findings() -> list[dict[str, str]]:
    return list(yaml.safe_load((SECURITY / "iam-findings.yaml").read_text())["accepted"])


def _is_accepted(resource_type: str, issue: str, actions: set[str]) -> bool:
    for accepted in _accepted_findings():
        if accepted["issue"] != issue or accepted["resource_type"] != resource_type:
            continue
        allowed = set(accepted.get("actions", []))
        if not allowed or actions <= allowed:
            return True
    return False


def test_parliament_lints_every_policy_document(stacks: dict[str, dict[str, Any]]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # parliament imports pkg_resources
        from parliament import analyze_policy_string

    documents = policy_documents(stacks)
    problems = []
    for where, resource_type, document in documents:
        stack = stacks[where.split(":")[0]]
        policy = analyze_policy_string(
            resolve(json.dumps(document), context_of(stack)), include_community_auditors=True
        )
        for finding in policy.findings:
            detail = finding.detail
            actions = set()
            if isinstance(finding.location, dict):
                actions = {a.lower() for a in finding.location.get("actions", [])}
            if isinstance(detail, list):
                actions |= {a.lower() for a in detail if isinstance(a, str)}
                actions |= {
                    d["action"].lower() for d in detail if isinstance(d, dict) and "action" in d
                }
            if not _is_accepted(resource_type, finding.issue, actions):
                problems.append(f"{where}: {finding.issue} {detail} {finding.location}")
    assert problems == [], "\n".join(problems)
    print(f"parliament: {len(documents)} policy documents linted")


def test_accepted_iam_findings_are_justified() -> None:
    for accepted in _accepted_findings():
        assert len(accepted.get("why", "")) > 20, accepted


def test_no_wildcard_actions_and_star_resources_only_where_unavoidable(
    stacks: dict[str, dict[str, Any]],
) -> None:
    assert policy_documents(stacks)
    problems = invariants.iam_problems(stacks)
    assert problems == [], "\n".join(problems)


def test_no_key_policy_lets_a_service_use_a_key_without_a_condition(
    stacks: dict[str, dict[str, Any]],
) -> None:
    """A service principal in a key policy acts for every account's resources unless a condition
    holds it to ours (confused deputy). CloudWatch sends no aws:SourceAccount with alarm actions,
    so the alert topic has a key of its own, held to the topic by its encryption context."""
    services = [
        (where, stmt)
        for where, resource_type, document in policy_documents(stacks)
        if resource_type == "aws_kms_key"
        for stmt in document["Statement"]
        if "Service" in stmt.get("Principal", {})
    ]
    assert {stmt["Principal"]["Service"] for _, stmt in services} >= {
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    unconditioned = [
        f"{where} {stmt['Sid']}" for where, stmt in services if not stmt.get("Condition")
    ]
    assert unconditioned == []


EXPECTED_TRUST = {
    "-sagemaker": ("sagemaker.amazonaws.com", {"aws:SourceAccount"}),
    "-sfn": ("states.amazonaws.com", {"aws:SourceAccount", "aws:SourceArn"}),
    "-scheduler": ("scheduler.amazonaws.com", {"aws:SourceAccount", "aws:SourceArn"}),
    "-trigger": ("events.amazonaws.com", {"aws:SourceAccount", "aws:SourceArn"}),
}


def test_trust_policies_name_one_service_and_guard_against_confused_deputies(
    stacks: dict[str, dict[str, Any]],
) -> None:
    roles = 0
    for document in stacks.values():
        for role in document.get("resource", {}).get("aws_iam_role", {}).values():
            suffix = next(s for s in EXPECTED_TRUST if role["name"].endswith(s))
            principal, keys = EXPECTED_TRUST[suffix]
            [stmt] = json.loads(role["assume_role_policy"])["Statement"]
            assert stmt["Principal"] == {"Service": principal}
            assert stmt["Action"] == "sts:AssumeRole"
            condition_keys = {key for block in stmt["Condition"].values() for key in block}
            assert condition_keys == keys, role["name"]
            roles += 1
    # Three per pipeline, plus one per event-triggered pipeline.
    pipelines = _pipelines()
    assert roles == 3 * len(pipelines) + sum(p.trigger is not None for p in pipelines)


# --------------------------------------------------------------------------------------------
# Data safety


def _protected_environments() -> list[tuple[str, str]]:
    found = []
    for label, path in CONFIGS.items():
        config = load_config(path)
        for env in config.environments.values():
            if not env.allow_destroy:
                found.append((label, f"{config.project}-{env.name}"))
    return found


@pytest.mark.parametrize(("label", "stack"), _protected_environments())
def test_data_outlives_a_mistaken_destroy(
    label: str, stack: str, stacks: dict[str, dict[str, Any]]
) -> None:
    resources = stacks[f"{label}/{stack}"]["resource"]
    for bucket in resources["aws_s3_bucket"].values():
        assert bucket["lifecycle"] == {"prevent_destroy": True}, bucket["bucket"]
        assert bucket["force_destroy"] is False, bucket["bucket"]
    for key in resources["aws_kms_key"].values():
        assert key["lifecycle"] == {"prevent_destroy": True}
        assert 7 <= key["deletion_window_in_days"] <= 30


def test_state_stores_are_always_protected(stacks: dict[str, dict[str, Any]]) -> None:
    for name in (
        "example/mlbatch-state-123456789012-eu-west-1",
        "all-features/full-state-444455556666-us-west-2",
    ):
        resources = stacks[name]["resource"]
        for resource_type in ("aws_s3_bucket", "aws_kms_key"):
            for resource in resources[resource_type].values():
                assert resource["lifecycle"] == {"prevent_destroy": True}
        for table in resources.get("aws_dynamodb_table", {}).values():
            assert table["deletion_protection_enabled"] is True
    config = load_config(CONFIGS["all-features"])
    assert any(
        isinstance(e.state, S3State) and e.state.lock == "dynamodb"
        for e in config.environments.values()
    )


# --------------------------------------------------------------------------------------------
# Determinism


def test_two_synths_are_byte_identical(default_config: ProjectConfig, tmp_path: Path) -> None:
    synthesize(default_config, tmp_path / "a")
    synthesize(default_config, tmp_path / "b")
    for file in sorted((tmp_path / "a").rglob("*.json")):
        other = tmp_path / "b" / file.relative_to(tmp_path / "a")
        assert file.read_bytes() == other.read_bytes(), file.name


def _pipeline_resources(document: dict[str, Any], pipeline: str) -> dict[str, Any]:
    prefix = f"pipeline-{pipeline}_"
    return {
        f"{t}.{i}": r
        for t, resources in document["resource"].items()
        for i, r in resources.items()
        if i.startswith(prefix)
    }


def test_changing_one_pipeline_leaves_the_others_untouched(make_config: Any) -> None:
    from imports.core import Testing
    from modules.stacks.environment import EnvironmentStack

    def synth(config: ProjectConfig) -> dict[str, Any]:
        env = config.environments["prod"]
        return json.loads(Testing.synth(EnvironmentStack(Testing.app(), config.project, env)))

    def bigger_churn(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["transform"]["instance_type"] = "ml.c5.4xlarge"
        raw["pipelines"][0]["schedule"]["expression"] = "rate(2 hours)"

    before, after = synth(make_config()), synth(make_config(bigger_churn))
    assert _pipeline_resources(before, "churn") != _pipeline_resources(after, "churn")
    assert _pipeline_resources(before, "ltv") == _pipeline_resources(after, "ltv")
    assert _pipeline_resources(before, "ltv")


# --------------------------------------------------------------------------------------------
# terraform validate on every stack (where the AWS provider can be installed)


def test_terraform_validate_every_stack(stack_dirs: Path) -> None:
    from tests.test_terraform import terraform_unavailable

    dirs = sorted(p for p in stack_dirs.iterdir() if p.is_dir())
    reason = terraform_unavailable(dirs[0])
    if reason:
        pytest.skip(reason)
    for stack_dir in dirs:
        shutil.rmtree(stack_dir / ".terraform", ignore_errors=True)
        subprocess.run(
            ["terraform", "init", "-backend=false", "-input=false"],
            cwd=stack_dir,
            check=True,
            capture_output=True,
            timeout=300,
        )
        result = subprocess.run(
            ["terraform", "validate", "-no-color"],
            cwd=stack_dir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{stack_dir.name}: {result.stdout}{result.stderr}"
