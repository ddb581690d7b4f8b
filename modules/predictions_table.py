"""``PredictionsTable``: what a pipeline's Glue table of predictions is, in one place for the
catalog layer that creates it (modules/catalog.py) and the workflow step that adds each run's
partition with the same storage descriptor (modules/workflow/delivery_table.py).

The table is EXTERNAL over ``s3://<output bucket>/<output prefix>``, partitioned by ``run_date``
and ``run_id`` (modules/config/table.py); a run's partition is its output folder
``<output prefix><run id>/``, whose ``<key>.out`` files Batch Transform wrote (text, one record a
line). Athena skips the run's ``_manifest.json`` there: it reads no file whose name starts with
``_`` or ``.``.

csv is read by LazySimpleSerDe: it reads each declared type (OpenCSVSerde would need every column
declared string) and a model's CSV output is unquoted; json (one object a line) by the OpenX JSON
SerDe, matched to the columns by key. Needs the pipeline's config and names (modules/naming.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.config import PipelineConfig
from modules.config.table import PARTITION_KEYS, TableConfig, table_format
from modules.naming import Names

TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
SERDES = {
    "csv": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    "json": "org.openx.data.jsonserde.JsonSerDe",
}
PARTITION_KEY_TYPE = "string"


@dataclass(frozen=True)
class PredictionsTable:
    """A pipeline's table: where it is in the catalog and how its files are read."""

    database: str
    name: str
    format: str
    columns: tuple[tuple[str, str], ...]  # name, type
    pipeline: str
    in_environment_database: bool  # the environment's own database, not a configured one

    @classmethod
    def of(cls, pipeline: PipelineConfig, names: Names) -> PredictionsTable | None:
        """The pipeline's table, or None without ``delivery.table``."""
        table = table_config(pipeline)
        if table is None:
            return None
        fmt = table_format(table, pipeline.transform.accept)
        assert fmt is not None  # the config refuses a format accept cannot give
        return cls(
            database=table.database or names.catalog_database,
            name=names.of_pipeline(pipeline.name).predictions_table,
            format=fmt,
            columns=tuple((column.name, column.type) for column in table.columns),
            pipeline=pipeline.name,
            in_environment_database=table.database is None,
        )

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return PARTITION_KEYS

    @property
    def description(self) -> str:
        """The table's description: what a partition is, and how to read a date's latest run."""
        return (
            f"Predictions of the {self.pipeline} pipeline: one partition per complete run "
            "(run_date: its scheduled or start date, UTC; run_id: its execution's name). A "
            "re-run of a date adds its own partition and overwrites none: the latest run of a "
            'date is the run_id whose files were written last, max_by(run_id, "$file_modified_'
            'time") grouped by run_date (docs/runs-and-alerts.md has the query).'
        )

    @property
    def parameters(self) -> dict[str, str]:
        return {"EXTERNAL": "TRUE", "classification": self.format}

    def storage_descriptor(self, location: str) -> dict[str, Any]:
        """The storage descriptor (Glue's API members) of the table or of a partition at
        ``location``."""
        names = [name for name, _ in self.columns]
        parameters = (
            {"field.delim": ",", "serialization.format": ","}
            if self.format == "csv"
            else {"paths": ",".join(names)}  # the keys the JSON SerDe reads, as Glue's crawler
        )
        return {
            "Columns": [{"Name": name, "Type": kind} for name, kind in self.columns],
            "Location": location,
            "InputFormat": TEXT_INPUT_FORMAT,
            "OutputFormat": TEXT_OUTPUT_FORMAT,
            "SerdeInfo": {"SerializationLibrary": SERDES[self.format], "Parameters": parameters},
        }


def table_config(pipeline: PipelineConfig) -> TableConfig | None:
    return pipeline.delivery.table if pipeline.delivery is not None else None


def uses_default_database(pipelines: list[PipelineConfig]) -> bool:
    """Whether a pipeline's table is in the environment's own database (which is then created)."""
    return any((t := table_config(p)) is not None and t.database is None for p in pipelines)
