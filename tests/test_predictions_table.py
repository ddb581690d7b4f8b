"""What ``delivery.table`` adds to a pipeline's stack: the Glue table over its output prefix (the
SerDe of its format, the run's partition keys), the environment's database in the base stack (only
with a table in it), the IAM of the partition step (that table, its database and the catalog
only), and the config's checks of columns, types and format. Its runs:
tests/execution_checks/table.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import ConfigError, ProjectConfig
from modules.config.athena_types import SIMPLE_TYPES, athena_type
from modules.config.botocore_facts import service_shape
from modules.config.table import PARTITION_KEYS
from modules.naming import Names
from modules.predictions_table import SERDES, TEXT_INPUT_FORMAT
from tests.support.helpers import TEST_AWS, actions, statement
from tests.support.workflow import pipeline_of
from tests.test_layout import _synth_app
from tests.test_sfn import _role_policy

Edit = Callable[[dict[str, Any]], None]


def _with_table(table: dict[str, Any], **transform: str) -> Edit:
    """The example's churn pipeline with delivery.table (and transform settings)."""

    def edit(raw: dict[str, Any]) -> None:
        churn = next(p for p in raw["pipelines"] if p["name"] == "churn")
        churn["delivery"] = {"table": table}
        churn.setdefault("transform", {}).update(transform)

    return edit


COLUMNS = [{"name": "customer_id", "type": "string"}, {"name": "score", "type": "double"}]


def _resources(document: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(document).get("resource", {}).get(kind, {})
    return found


def test_partitions_are_granted_on_the_table_its_database_and_the_catalog_only(
    full_config: ProjectConfig,
) -> None:
    names = Names(full_config.project, "stage")
    table = names.of_pipeline("scores").predictions_table
    policy = _role_policy(full_config, "stage", "scores", "model")
    granted = statement(policy, "RegisterRunPartitions")
    assert actions(granted) == {"glue:BatchCreatePartition"}
    assert granted["Resource"] == [
        TEST_AWS.arn("glue", "catalog"),
        TEST_AWS.arn("glue", f"database/{names.catalog_database}"),
        TEST_AWS.arn("glue", f"table/{names.catalog_database}/{table}"),
    ]
    # A pipeline without a table gets none.
    latest = _role_policy(full_config, "stage", "latest", "model")
    assert all("glue:BatchCreatePartition" not in actions(s) for s in latest["Statement"])


def test_the_table_reads_the_output_prefix_in_its_format(
    make_config: Callable[..., ProjectConfig], tmp_path: Path
) -> None:
    for accept, fmt in (("text/csv", "csv"), ("application/jsonlines", "json")):
        config = make_config(_with_table({"columns": COLUMNS}, accept=accept))
        stacks = _synth_app(config, tmp_path / fmt, "dev")
        churn = pipeline_of(config, "dev", "churn")
        [table] = _resources(stacks["mlbatch-dev-churn"], "aws_glue_catalog_table").values()
        assert table["table_type"] == "EXTERNAL_TABLE"
        assert table["name"] == Names("mlbatch", "dev").of_pipeline("churn").predictions_table
        assert [k["name"] for k in table["partition_keys"]] == list(PARTITION_KEYS)
        descriptor = table["storage_descriptor"]
        assert descriptor["location"].endswith(f"}}/{churn.run_output_prefix}")
        assert descriptor["input_format"] == TEXT_INPUT_FORMAT
        assert descriptor["ser_de_info"]["serialization_library"] == SERDES[fmt]
        assert [(c["name"], c["type"]) for c in descriptor["columns"]] == [
            (c["name"], c["type"]) for c in COLUMNS
        ]
        assert "run_id" in table["description"] and "$file_modified_time" in table["description"]


def test_the_environment_database_is_in_the_base_stack_only_with_a_table_in_it(
    make_config: Callable[..., ProjectConfig], tmp_path: Path
) -> None:
    names = Names("mlbatch", "dev")
    stacks = _synth_app(make_config(_with_table({"columns": COLUMNS})), tmp_path / "own", "dev")
    [database] = _resources(stacks["mlbatch-dev"], "aws_glue_catalog_database").values()
    assert database["name"] == names.catalog_database
    [table] = _resources(stacks["mlbatch-dev-churn"], "aws_glue_catalog_table").values()
    # Through the base stack's outputs (local.base), so the database exists first.
    assert table["database_name"] == "${local.base.catalog_database}"
    # A configured database is the user's: not created here, the table and IAM name it.
    config = make_config(_with_table({"columns": COLUMNS, "database": "analytics"}))
    stacks = _synth_app(config, tmp_path / "theirs", "dev")
    assert all(not _resources(doc, "aws_glue_catalog_database") for doc in stacks.values())
    [table] = _resources(stacks["mlbatch-dev-churn"], "aws_glue_catalog_table").values()
    assert table["database_name"] == "analytics"
    role = _resources(stacks["mlbatch-dev-churn"], "aws_iam_role_policy")
    sfn = next(
        json.loads(r["policy"]) for r in role.values() if "RegisterRunPartitions" in r["policy"]
    )
    granted = statement(sfn, "RegisterRunPartitions")
    assert any(arn.endswith(":database/analytics") for arn in granted["Resource"])


def _refusal(edit: Edit, make_config: Callable[..., ProjectConfig]) -> str:
    with pytest.raises(ConfigError) as raised:
        make_config(edit)
    return str(raised.value)


@pytest.mark.parametrize(
    ("table", "transform", "said"),
    [
        ({"columns": [{"name": "x" * 256, "type": "string"}]}, {}, "(Glue's limit), got 256"),
        ({"columns": [{"name": "bad\nname", "type": "string"}]}, {}, "Glue refuses column name"),
        ({"columns": [{"name": "s", "type": "array<string>"}]}, {}, "not an Athena primitive"),
        ({"columns": [{"name": "s", "type": "decimal(39,2)"}]}, {}, "precision is 1 to 38"),
        ({"columns": [{"name": "s", "type": "decimal(5,6)"}]}, {}, "scale is at most"),
        ({"columns": [{"name": "s", "type": "varchar(65536)"}]}, {}, "length is 1 to 65535"),
        ({"columns": [{"name": "Run_Id", "type": "string"}]}, {}, "is a partition key"),
        ({"columns": [*COLUMNS, {"name": "Score", "type": "int"}]}, {}, "a column already"),
        ({"columns": COLUMNS, "format": "json"}, {"accept": "text/csv"}, "format json reads"),
        ({"columns": COLUMNS}, {"accept": "application/x-recordio"}, "a table reads only"),
        ({"columns": COLUMNS, "database": "Analytics"}, {}, "lowercase letters, digits and _"),
    ],
    ids=[
        "name-length",
        "name-pattern",
        "complex-type",
        "precision",
        "scale",
        "varchar",
        "partition-key",
        "case-duplicate",
        "format-accept",
        "no-format",
        "database",
    ],
)
def test_a_table_glue_or_athena_would_refuse_is_refused_in_one_line(
    make_config: Callable[..., ProjectConfig],
    table: dict[str, Any],
    transform: dict[str, str],
    said: str,
) -> None:
    message = _refusal(_with_table(table, **transform), make_config)
    assert said in message
    assert len(message.strip().splitlines()) == 1, message


def test_the_glue_limits_are_botocores() -> None:
    """The column name's and type's lengths are read from Glue's model, not copied."""
    longest = service_shape("glue", "Column.Type")["max"]
    with pytest.raises(ValueError, match="Glue's limit"):
        from modules.config.table import GlueField

        GlueField("Column.Type", "column type")("x" * (longest + 1))


@pytest.mark.parametrize("kind", [*SIMPLE_TYPES, "decimal(38)", "DECIMAL(10, 2)", "char(255)"])
def test_athenas_primitive_types_are_accepted_lowercase(kind: str) -> None:
    assert athena_type(kind) == kind.lower().replace(" ", "")
