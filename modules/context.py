"""What every layer needs to know about where it is deployed, and how things are named.

``AwsContext`` carries the account, region and partition (the account may be a Terraform
reference to ``aws_caller_identity`` when the config does not pin one) and builds ARNs from them.
``Names`` derives every resource name from project, environment and pipeline, so names are
predictable, carry all three, and are checked for length in one place (see ``modules.config``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AwsContext:
    account_id: str
    region: str
    partition: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            [
                "arn",
                self.partition,
                service,
                self.region if region else "",
                self.account_id if account else "",
                resource,
            ]
        )

    def service_principal(self, service: str) -> str:
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{service}.{suffix}"


@dataclass(frozen=True)
class Names:
    project: str
    environment: str

    @property
    def prefix(self) -> str:
        """<project>-<environment>: shared resources of the environment."""
        return f"{self.project}-{self.environment}"

    def pipeline(self, pipeline: str) -> str:
        """<project>-<environment>-<pipeline>: at most 30 characters (checked by the config)."""
        return f"{self.prefix}-{pipeline}"

    def bucket(self, purpose: str, account_id: str, region: str) -> str:
        # S3 names are global: account and region make them unique without random suffixes.
        return f"{self.prefix}-{purpose}-{account_id}-{region}"


def policy_document(*statements: dict[str, Any]) -> str:
    """An IAM policy document as JSON text; Terraform references stay inside string values."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def allow(sid: str, actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    statement.update(extra)
    return statement


def service_trust_policy(principal: str, conditions: dict[str, dict[str, Any]]) -> str:
    """Trust policy letting one AWS service assume a role, guarded against confused deputies."""
    return policy_document(
        {
            "Sid": "TrustedService",
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": "sts:AssumeRole",
            "Condition": conditions,
        }
    )
