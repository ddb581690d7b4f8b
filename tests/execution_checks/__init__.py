"""The execution tests of tests/test_executions.py, by behaviour: where a run reads and how it
starts (``inputs``), what a successful run leaves (``outcomes``), what a run does when something
fails (``failures``), and the executions they read (``runs``). Not collected by themselves (no
module here is named test_*.py): ExecutionTests combines them for each config."""
