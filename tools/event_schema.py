"""Generate docs/ready-event.schema.json: the "Batch predictions ready" event's JSON Schema, the
same document the schema registry holds (modules/workflow/delivery_event.py generates both), for
the example fixture's project. tests/test_delivery.py fails when it is stale.
"""

from __future__ import annotations

import json
import sys

from modules.config import load_config
from modules.naming import Names
from modules.workflow.delivery_event import ready_event_schema
from tools.generated import EXAMPLE_CONFIG, REPO, document_main

OUTPUT = REPO / "docs" / "ready-event.schema.json"


def render() -> str:
    config = load_config(EXAMPLE_CONFIG)
    env = next(iter(config.environments))
    return json.dumps(ready_event_schema(Names(config.project, env).event_source), indent=2) + "\n"


if __name__ == "__main__":
    sys.exit(document_main(OUTPUT, render, __doc__ or ""))
