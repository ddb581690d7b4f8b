"""Print the commands that rebuild a state bootstrap's lost state from what exists in AWS.

    make state-recover         # = make synth, then: .venv/bin/python -m tools.state_recover

For when a bootstrap's local state file was lost before it moved into its bucket: the bucket,
its KMS key and alias and the lock tables exist, but no state knows them, so an apply would create
a second key and then fail on the alias and the bucket. ``terraform import`` of every resource of
the synthesized stack (addresses read from ``cdk.tf.json``) puts them back. The import id of each
type is the one the AWS provider documents: the bucket's name for the bucket and each of its
settings, the alias name for the alias, the table name for a table, and the key id for the key,
looked up through its alias (``aws kms describe-key``). A resource type without a known id stops
the tool, so a new resource in the bootstrap cannot be left out silently.

Run the printed commands with the bootstrap account's credentials; with ``bootstrap:
self-hosted`` set first, the imports are written straight into the bucket.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from modules.config import load_config
from modules.stack_names import state_bootstraps
from tools.state_arguments import state_tool_arguments

# A bucket setting names its bucket by reference: ${aws_s3_bucket.<name>.id} (or .bucket).
BUCKET_REFERENCE = re.compile(r"^\$\{aws_s3_bucket\.([^.]+)\.(?:id|bucket)\}$")
BUCKET_SETTINGS = {
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
}


def _key_id(document: dict[str, Any], key_name: str, region: str) -> str:
    aliases = document["resource"].get("aws_kms_alias", {}).values()
    target = f"${{aws_kms_key.{key_name}.key_id}}"
    [alias] = [a["name"] for a in aliases if a["target_key_id"] == target]
    query = ["--query", "KeyMetadata.KeyId", "--output", "text"]
    lookup = shlex.join(
        ["aws", "kms", "describe-key", "--region", region, "--key-id", alias, *query]
    )
    return f'"$({lookup})"'


def import_id(document: dict[str, Any], resource_type: str, name: str, region: str) -> str:
    """The shell word that is ``resource_type.name``'s import id."""
    resource = document["resource"][resource_type][name]
    if resource_type == "aws_s3_bucket":
        return shlex.quote(resource["bucket"])
    if resource_type in BUCKET_SETTINGS:
        match = BUCKET_REFERENCE.match(resource["bucket"])
        bucket = document["resource"]["aws_s3_bucket"][match[1]] if match else resource
        return shlex.quote(bucket["bucket"])
    if resource_type in ("aws_kms_alias", "aws_dynamodb_table"):
        return shlex.quote(resource["name"])
    if resource_type == "aws_kms_key":
        return _key_id(document, name, region)
    raise SystemExit(f"state-recover: no import id known for {resource_type}.{name}")


def recovery_commands(stack_dir: Path) -> list[str]:
    """Init, one import per resource of the stack, then the plan that should show no change."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    region = document["provider"]["aws"][0]["region"]
    terraform = f"terraform -chdir={shlex.quote(str(stack_dir))}"
    imports = [
        f"{terraform} import {shlex.quote(f'{resource_type}.{name}')} "
        + import_id(document, resource_type, name, region)
        for resource_type, instances in sorted(document.get("resource", {}).items())
        for name in sorted(instances)
    ]
    return [f"{terraform} init", *imports, f"{terraform} plan   # expect no change"]


def main(argv: list[str] | None = None) -> int:
    args = state_tool_arguments(__doc__.splitlines()[0], argv, project_dir=False)
    boots = state_bootstraps(load_config(args.config))
    if not boots:
        print("state-recover: no environment keeps its state in S3; no bootstrap to recover")
    for boot in boots:
        account = f"account {boot.account_id}" if boot.account_id else "its environment's account"
        print(f"# {boot.name}: with the credentials of {account}")
        print("\n".join(recovery_commands(args.stacks / boot.name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
