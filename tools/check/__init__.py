"""`make check`: the user's config held to every gate the product holds its fixtures to.

- ``__main__``: validate, synthesize, then one pytest session running the product's own gate tests
  (tests/test_security.py's scanners and IAM invariants, tests/test_executions.py's executed run
  paths) on the user's config, and the team's own checks in checks/; then a summary table.
- ``gate_executions``: tests/test_executions.py on the user's config (every run path of every
  pipeline of every environment, on the Step Functions engine, every request checked against
  botocore).
- ``plugin``: records what each gate's tests did (ran, failed, skipped and why, not collected) and
  what they found (``record_property``), for the summary.
- ``stack_check``: the helper the team's checks use (``pipeline_stack``, ``assert_resource``).
"""

# The config `make check` checks, as the pytest session sees it (tests/conftest.py reads it), and
# the directory it has already synthesized that config into (read, not synthesized again).
CHECK_CONFIG_ENV_VAR = "MLBATCH_CHECK_CONFIG"
CHECK_OUTDIR_ENV_VAR = "MLBATCH_CHECK_OUTDIR"
# Where the pytest session writes, for the summary: what each gate did (plugin) and the paths
# executed per pipeline (gate_executions). Here, not in those modules: __main__ reads them
# without importing pytest or the execution tests.
REPORT_ENV_VAR = "MLBATCH_CHECK_REPORT"
PATHS_FILE_ENV_VAR = "MLBATCH_CHECK_PATHS"
# The gates after validate and synth: their `--gates` / GATES= names -> their names in the
# summary (the plugin names each failing test's gate the same way).
GATE_NAMES = {"security": "security", "executions": "executions", "checks": "your checks"}
