"""Architecture diagram of an environment stack, drawn from its synthesized Terraform JSON.

    make diagram        # = .venv/bin/python -m tools.diagram

synthesizes the default config's dev stack (``mlbatch-dev``) in a temporary directory and writes
``docs/architecture.dot`` (the DOT source: deterministic, checked by ``tests/test_diagram.py``)
and, when Graphviz's ``dot`` is installed, ``docs/architecture.svg`` and ``docs/architecture.png``.

What it draws, all derived from ``cdk.tf.json``:

* clusters from the construct paths: storage, alerting, and per pipeline its SageMaker, Step
  Functions, Scheduler and alarm layers;
* one node per main resource, labelled with its kind and name; guard and helper resources (bucket
  versioning, encryption, lifecycle, policies, IAM roles and their policies, KMS alias, ...) are
  folded into the label of the resource they belong to;
* one arrow per reference (``${aws_type.name.attr}``, also inside JSON-encoded strings such as the
  state machine definition): schedule -> state machine -> model -> buckets, failures and alarms ->
  SNS topic, DLQ -> alarm; references to the KMS key become one "encrypts" arrow per cluster.
  References inside IAM/resource policy documents are permissions, not flow: they are not drawn.

The curated knowledge is small and lives in the tables below: which resource types are helpers (and
how they read in their parent's label), display names of resource types and layers, and the labels
of the key flow edges. Anything new (a resource type, a layer) still appears, with generic labels.

Construct paths come from each resource's ``//.metadata.path``; without metadata (``cdktf
Testing.synth`` strips it) they are recovered from the logical ids, which cdktf builds from the same
path, so both give the same diagram.

The package follows the steps: ``rules`` (the curated knowledge), ``graph`` (reading the stacks
into nodes, edges and clusters), ``render`` (DOT) and ``__main__`` (the command line).
"""

from tools.diagram.graph import Model, StackMap, build_model, merge_stacks
from tools.diagram.render import build_diagram, title_for

__all__ = ["Model", "StackMap", "build_diagram", "build_model", "merge_stacks", "title_for"]
