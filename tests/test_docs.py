"""The generated documents stay true: they are regenerated here and compared with the committed
ones (run `make docs` after changing the schema or the stacks)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from modules.config import fields as rules
from tests.conftest import REPO, stacks_of
from tools import config_reference, outputs_reference, run_states


def test_config_reference_matches_the_schema() -> None:
    committed = (REPO / "docs" / "config-reference.md").read_text()
    assert committed == config_reference.render(), "docs/config-reference.md is stale: make docs"


def test_every_config_field_is_described() -> None:
    for _, model, hidden, _ in config_reference.SECTIONS:
        for name, field in model.model_fields.items():
            if name not in hidden:
                assert field.description, f"{model.__name__}.{name} has no description"


def test_outputs_reference_matches_the_stacks(stacks: dict[str, dict[str, Any]]) -> None:
    example = stacks_of(stacks, "example")
    committed = (REPO / "docs" / "outputs.md").read_text()
    assert committed == outputs_reference.render(example), "docs/outputs.md is stale: make docs"
    for document in example.values():
        for name, output in document["output"].items():
            if not name.startswith(outputs_reference.CROSS_STACK_OUTPUT):
                assert len(output.get("description", "")) > 15, name


def test_run_states_match_the_workflow() -> None:
    committed = (REPO / "docs" / "run-states.md").read_text()
    assert committed == run_states.render(), "docs/run-states.md is stale: make docs"


def test_changelog_names_the_project_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    changelog = (REPO / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[(?P<version>[^\]]+)\]", changelog, re.MULTILINE)
    assert first is not None and first["version"] == version


def test_readme_links_the_generated_documents() -> None:
    readme = (REPO / "README.md").read_text()
    for document in (
        "docs/config-reference.md",
        "docs/outputs.md",
        "docs/architecture.svg",
        "docs/run-states.md",
    ):
        assert document in readme


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("subnet_ids", rules.SUBNET_ID),
        ("security_group_ids", rules.SECURITY_GROUP_ID),
        ("ecr_repository_arns", rules.ECR_REPOSITORY_ARN),
    ],
)
def test_the_reference_shows_the_rule_of_each_item_of_a_list(field: str, rule: Any) -> None:
    """A list's items carry their own pattern (Field inside Annotated): the row says it."""
    [row] = [
        line for line in config_reference.render().splitlines() if line.startswith(f"| `{field}` |")
    ]
    assert f"each `{rule.pattern}`".replace("|", "\\|") in row
