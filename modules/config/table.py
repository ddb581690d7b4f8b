"""``TableConfig``: the Glue Data Catalog table of a pipeline's predictions
(``pipelines[].delivery.table``), opt-in: its columns (each name and Athena type checked against
Glue's request shapes in botocore's model, and the type against Athena's primitive types), its
format (``csv`` or ``json``, matched to the transform's ``accept``) and its database (default: the
environment's, named by ``Names``).

The table is partitioned by ``PARTITION_KEYS``; a column may not take one of their names.

Needs the base model and ``AwsName`` (modules/config/fields.py), the shapes
(modules/config/botocore_facts.py, checked by modules/config/sagemaker_shapes.py) and the type
grammar (modules/config/athena_types.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from modules.config.athena_types import ACCEPTED, athena_type
from modules.config.botocore_facts import REQUEST_SHAPES, service_shape
from modules.config.fields import AwsName, Found, StrictModel, TfStr, raise_each
from modules.config.rules import Rule
from modules.config.sagemaker_shapes import check_shape

# The partition keys, in the order of a partition's values: the run's date (its scheduled time's,
# or its start's, UTC) and its id.
PARTITION_KEYS = ("run_date", "run_id")
# The transform's output types each format reads: Batch Transform writes what ``accept`` asks.
FORMAT_ACCEPT = {"csv": ("text/csv",), "json": ("application/json", "application/jsonlines")}
TableFormat = Literal["csv", "json"]

GLUE_DATABASE = Rule(
    r"^[a-z0-9_]+$",
    "a Glue database name is lowercase letters, digits and _ (Glue stores names in lowercase, "
    "and Athena reads no other characters unquoted)",
    "analytics",
)


@dataclass(frozen=True)
class GlueField:
    """Marks a config value as a member of a Glue request shape (``path`` from a shape of Glue's
    model, e.g. ``Column.Name``) and checks it against that shape."""

    path: str
    what: str

    def __post_init__(self) -> None:
        REQUEST_SHAPES.add(("glue", self.path.split(".")[0]))  # cached in aws_facts.json

    def __call__(self, value: Any) -> Any:
        check_shape(value, service_shape("glue", self.path), self.what, "glue")
        return value


GlueDatabaseName = Annotated[
    TfStr,
    Field(pattern=GLUE_DATABASE.pattern),
    AfterValidator(AwsName("glue:CreateDatabase.DatabaseInput.Name", "Glue database")),
]


class TableColumn(StrictModel):
    """One column of the predictions table."""

    name: Annotated[TfStr, AfterValidator(GlueField("Column.Name", "column name"))] = Field(
        description="Column name: 1-255 characters without control characters (Glue's "
        "Column.Name), unique regardless of case (Athena reads it in lowercase)."
    )
    type: Annotated[
        TfStr,
        AfterValidator(GlueField("Column.Type", "column type")),
        AfterValidator(athena_type),
    ] = Field(description=f"Athena (Hive DDL) primitive type: {ACCEPTED}.")


class TableConfig(StrictModel):
    """A Glue Data Catalog table over the pipeline's output prefix, a partition per run."""

    columns: list[TableColumn] = Field(
        min_length=1,
        description="The columns of one output record, in order (csv) or by key (json). Not "
        f"{' or '.join(PARTITION_KEYS)}: the partition keys.",
    )
    format: TableFormat | None = Field(
        default=None,
        description="How the .out files are read: csv or json (one JSON object a line). "
        "Default: from transform.accept (text/csv: csv; application/json or "
        "application/jsonlines: json); refused when it does not match accept.",
    )
    database: GlueDatabaseName | None = Field(
        default=None,
        description="An existing Glue database for the table (default: the environment's, "
        "<project>_<environment>, created with the first table).",
    )

    @model_validator(mode="after")
    def _column_names(self) -> TableConfig:
        raise_each(self._name_mistakes())
        return self

    def _name_mistakes(self) -> Iterator[Found]:
        # The catalog folds names to lowercase: "Score" and "score" would be one column.
        seen: set[str] = set()
        for index, column in enumerate(self.columns):
            folded = column.name.lower()
            where = ("columns", index, "name")
            if folded in PARTITION_KEYS:
                yield where, f"{column.name!r} is a partition key of the table; rename the column"
            elif folded in seen:
                yield where, f"{column.name!r} is a column already (names are case-insensitive)"
            seen.add(folded)


def table_format(table: TableConfig, accept: str) -> TableFormat | None:
    """The format the table reads the transform's output in: the configured one if ``accept``
    gives it, else the one ``accept`` gives; None when they cannot match."""
    for fmt, accepted in FORMAT_ACCEPT.items():
        if accept in accepted and table.format in (None, fmt):
            return fmt  # type: ignore[return-value]
    return None


def format_mistakes(table: TableConfig, accept: str) -> Iterator[Found]:
    """A table whose format cannot match the transform's output type (one line)."""
    if table_format(table, accept) is not None:
        return
    readable = ", ".join(f"{fmt}: {' or '.join(types)}" for fmt, types in FORMAT_ACCEPT.items())
    wanted = f"format {table.format} reads" if table.format else "a table reads"
    yield (
        ("format",),
        f"transform.accept is {accept}; {wanted} only what it can parse ({readable})",
    )
