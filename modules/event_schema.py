"""The environment's EventBridge schema registry and the "Batch predictions ready" event's schema
in it (JSON Schema Draft 4, the one modules/workflow/delivery_event.py generates), so consumers can
generate bindings. Created when a pipeline of the environment has ``delivery``.

Inputs: the environment's names. Outputs: the registry's and the schema's names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.aws import SchemasRegistry, SchemasSchema
from modules.naming import Names
from modules.workflow.delivery_event import READY_DETAIL_TYPE, ready_event_schema


@dataclass(frozen=True)
class EventSchemaOutputs:
    registry_name: str
    schema_name: str


class ReadyEventSchema(Construct):
    """The registry and the schema."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names) -> None:
        super().__init__(scope, construct_id)
        registry = SchemasRegistry(
            self,
            "registry",
            name=names.schema_registry,
            description=f"Events of the {names.prefix} batch inference runs",
        )
        schema = SchemasSchema(
            self,
            "ready",
            name=names.ready_event_schema,
            registry_name=registry.name,
            type="JSONSchemaDraft4",
            description=f"{READY_DETAIL_TYPE}: a run's predictions are complete",
            content=json.dumps(ready_event_schema(names.event_source), indent=2),
        )
        self.outputs = EventSchemaOutputs(registry_name=registry.name, schema_name=schema.name)
