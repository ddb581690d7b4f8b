"""Write modules/config/aws_facts.json: the part of botocore's data the config reads (see
modules/config/botocore_facts.py), from the installed botocore. ``--check`` exits 1 when stale.

    .venv/bin/python -m tools.aws_facts_cache [--check]     (also part of `make docs`)
"""

from __future__ import annotations

import json
import sys

from modules.config.botocore_facts import CACHE_PATH, facts_from_botocore
from tools.generated import document_main


def render() -> str:
    # One line per shape: small enough to read in review, and a botocore update diffs by shape.
    facts = facts_from_botocore()
    shapes = facts.pop("shapes")
    lines = [json.dumps(facts, sort_keys=True)[:-1] + ', "shapes": {']
    services = []
    for service in sorted(shapes):
        entries = [
            f"  {json.dumps(name)}: {json.dumps(shape, sort_keys=True)}"
            for name, shape in sorted(shapes[service].items())
        ]
        services.append(f" {json.dumps(service)}: {{\n" + ",\n".join(entries) + "\n }")
    return "\n".join(lines) + "\n" + ",\n".join(services) + "\n}}\n"


if __name__ == "__main__":
    sys.exit(document_main(CACHE_PATH, render, __doc__.splitlines()[0]))
