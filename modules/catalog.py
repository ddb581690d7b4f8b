"""The Glue Data Catalog of the predictions: the environment's database (``CatalogDatabase``, in the
base stack, created when a pipeline's table is in it) and a pipeline's table
(``PredictionsTableLayer``, an EXTERNAL_TABLE over the pipeline's output prefix, partitioned by
``run_date`` and ``run_id``; each complete run adds its partition:
modules/workflow/delivery_table.py).

Inputs: the environment's names; the table (modules/predictions_table.py), the output bucket's
name and the database's name (a reference to the base stack's database, or a configured one).
Outputs: the database's name.
"""

from __future__ import annotations

from constructs import Construct

from imports.aws import (
    GlueCatalogDatabase,
    GlueCatalogTable,
    GlueCatalogTablePartitionKeys,
    GlueCatalogTableStorageDescriptor,
    GlueCatalogTableStorageDescriptorColumns,
    GlueCatalogTableStorageDescriptorSerDeInfo,
)
from modules.naming import Names
from modules.predictions_table import PARTITION_KEY_TYPE, PredictionsTable


class CatalogDatabase(Construct):
    """The environment's database of predictions tables."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names) -> None:
        super().__init__(scope, construct_id)
        database = GlueCatalogDatabase(
            self,
            "database",
            name=names.catalog_database,
            description=f"Predictions of the {names.prefix} batch inference pipelines",
        )
        self.name: str = database.name


class PredictionsTableLayer(Construct):
    """A pipeline's predictions table over ``s3://<output bucket>/<output prefix>``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: PredictionsTable,
        database_name: str,
        output_bucket_name: str,
        output_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        descriptor = table.storage_descriptor(f"s3://{output_bucket_name}/{output_prefix}")
        serde = descriptor["SerdeInfo"]
        GlueCatalogTable(
            self,
            "table",
            name=table.name,
            database_name=database_name,
            table_type="EXTERNAL_TABLE",
            description=table.description,
            parameters=table.parameters,
            partition_keys=[
                GlueCatalogTablePartitionKeys(name=key, type=PARTITION_KEY_TYPE)
                for key in table.partition_keys
            ],
            storage_descriptor=GlueCatalogTableStorageDescriptor(
                location=descriptor["Location"],
                input_format=descriptor["InputFormat"],
                output_format=descriptor["OutputFormat"],
                columns=[
                    GlueCatalogTableStorageDescriptorColumns(name=c["Name"], type=c["Type"])
                    for c in descriptor["Columns"]
                ],
                ser_de_info=GlueCatalogTableStorageDescriptorSerDeInfo(
                    serialization_library=serde["SerializationLibrary"],
                    parameters=serde["Parameters"],
                ),
            ),
        )
