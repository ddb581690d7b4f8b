"""What the tests share that is not a test: helpers, clients of the tools the tests run, and the
pytest plugin that marks tests by what they need. (Fixtures stay in tests/conftest.py.)

- ``helpers``: readers for synthesized Terraform JSON (resources, policies, references) and a stack
  for testing one layer on its own;
- ``placeholders``: Terraform references in synthesized JSON turned into plausible literals, for
  tools that know nothing of Terraform (IAM linters, ASL validators, the engine);
- ``aws_shapes``: an API request or response checked against botocore's shape for the operation;
- ``sfn_engine``: the client of LocalStack's Step Functions engine (tools/sfn-engine/driver.py);
- ``executions``: every run path of a generated state machine, as scenarios with mocked AWS
  answers, for the engine (tests/test_executions*.py, tests/test_alert_routing.py,
  tests/test_ops_cli_runs.py, tests/test_ops_docs.py and `make check`'s execution gate);
- ``jsonata``: the definitions' JSONata expressions evaluated by the npm ``jsonata`` library;
- ``ops_stubs``: botocore Stubber-backed AWS clients for the operations tool's tests;
- ``ops_cli``: the operations tool's commands run and read at 80 columns, the AWS answers each
  meets, and the failed run `why` explains (tests/test_ops_cli_*.py, tests/test_ops_docs.py);
- ``workflow``: a pipeline's workflow definition built on fixed names and ARNs, outside a stack
  (tests/test_workflow_*.py);
- ``plan_review``: the plan reviewer run on plans built from two synthesized configs, and its
  review read by section and pipeline (tests/test_plan_review_*.py);
- ``markers``: the pytest plugin (``-p tests.support.markers`` in pyproject.toml) that marks each
  test ``engine``, ``npm``, ``scanners``, ``terraform``, ``go`` or ``eager`` and adds ``--quick``;
- ``environments``: where the tools the tests, `make check` and `make bench` run are installed (the
  engine's virtualenv, checkov, asl-validator, the npm ``jsonata`` module, the cdktf CLI), as the
  Makefile builds them.
"""
