"""Every Terraform output of the app's stacks, in one table with its description.

``OUTPUTS`` lists each output once: its name (per-pipeline ones carry the pipeline's key, its
name with ``-`` as ``_``) and the description users read with ``terraform output`` and in
docs/outputs.md (generated from the synthesized stacks by tools/outputs_reference.py, which
refuses an output that is not in this table). ``export`` writes one of them into a stack.

Needs: the value of each output, from the layers or stacks that create it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from constructs import Construct

from imports.core import TerraformOutput


@dataclass(frozen=True)
class Output:
    """One output: ``name`` and ``description`` are templates of the fields ``export`` fills
    (``{pipeline}``, ``{key}``, ``{manual_input}``, ``{bucket_key}``)."""

    name: str
    description: str


_OUTPUTS = [
    # The base stack (the single stack in layout single): what the pipelines share.
    Output(
        "kms_key_arn",
        "KMS key of the environment's data, logs and queues; uploads use it automatically "
        "(bucket default encryption)",
    ),
    Output(
        "input_bucket",
        "Put run input under <pipeline>/ (e.g. aws s3 cp data.csv s3://<this>/churn/2026-11-26/)",
    ),
    Output(
        "output_bucket",
        "Predictions land in <pipeline>/<run id>/, with _manifest.json when the run succeeded",
    ),
    Output(
        "model_bucket",
        "Upload model.tar.gz to the pipeline's artifact_key here before the first run",
    ),
    Output(
        "alert_topic_arn",
        "SNS topic of failures and alarms; add subscribers in config, or aws sns subscribe",
    ),
    Output(
        "schedule_group",
        "EventBridge Scheduler group of the schedules (aws scheduler list-schedules "
        "--group-name <this>)",
    ),
    Output(
        "operator_policy_arn",
        "Managed policy of what ./ops needs here; attach it to the people who run it "
        "(docs/operations.md)",
    ),
    # Each pipeline's stack (in layout single: the one stack).
    Output(
        "{key}_state_machine_arn",
        "Backfill or ad-hoc {pipeline} run: aws stepfunctions start-execution "
        "--state-machine-arn <this> --name <run id> --input {manual_input}",
    ),
    Output(
        "{key}_schedule_name",
        "Schedule of {pipeline} (pause: set schedule.enabled false in config)",
    ),
    Output("{key}_model_name", "SageMaker model {pipeline} runs"),
    Output(
        "{key}_dlq_url",
        "Starts of {pipeline} that could not be delivered (aws sqs receive-message "
        "--queue-url <this>); each message is the run input to replay",
    ),
    Output("{key}_input_uri", "Default input location of {pipeline}"),
    Output(
        "{key}_ready_events",
        "Where {pipeline}'s 'Batch predictions ready' events go, and a rule pattern that matches "
        "them (aws events put-rule --event-bus-name <event_bus> --event-pattern <rule_pattern>)",
    ),
    Output(
        "{key}_predictions_table",
        "Glue database and table of {pipeline}'s predictions, a partition per complete run "
        "(Athena: SELECT * FROM <database>.<table> WHERE run_date = '<yyyy-mm-dd>')",
    ),
    Output(
        "ready_event_schema",
        "Schema registry and schema of the 'Batch predictions ready' event (aws schemas "
        "get-code-binding-source)",
    ),
    # The dashboard stack.
    Output(
        "dashboard_name",
        "CloudWatch dashboard: runs, duration, transform utilisation, dead letters, alarms",
    ),
    # Each state bootstrap stack.
    Output("{bucket_key}_bucket", "State bucket named by the environments' S3 backends"),
]
OUTPUTS = {output.name: output for output in _OUTPUTS}


def pipeline_key(pipeline: str) -> str:
    """A pipeline's prefix of its outputs (Terraform output names take no ``-``)."""
    return pipeline.replace("-", "_")


def bucket_key(bucket: str) -> str:
    """A state bucket's prefix of its output (bucket names may hold ``.`` and ``-``)."""
    return bucket.replace(".", "_").replace("-", "_")


def manual_input(input_prefix: str) -> str:
    """The ``--input`` of a manual run, quoted for the shell: a prefix may hold an apostrophe."""
    return shlex.quote(
        json.dumps({"trigger": "manual", "input_prefix": f"{input_prefix}<folder>/"})
    )


def export(scope: Construct, name: str, value: str, **fields: str) -> None:
    """The output ``name`` of ``OUTPUTS`` with ``value``, its name and description filled from
    ``fields``."""
    output = OUTPUTS[name]
    TerraformOutput(
        scope,
        output.name.format(**fields),
        value=value,
        description=output.description.format(**fields),
    )


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", template)
    return re.compile(".+".join(re.escape(part) for part in parts), re.DOTALL)


def output_of(name: str, description: str) -> Output | None:
    """The table's row a synthesized output comes from (None: an output not in the table)."""
    for output in _OUTPUTS:
        if _pattern(output.name).fullmatch(name) and _pattern(output.description).fullmatch(
            description
        ):
            return output
    return None
