"""``python -m tools.ops``: see tools/ops/cli.py."""

from tools.ops.cli import app

app(prog_name="ops")
