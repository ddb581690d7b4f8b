"""What every layer needs to know about where it is deployed, and how things are named.

``AwsContext`` carries the account, region and partition (the account may be a Terraform
reference to ``aws_caller_identity`` when the config does not pin one) and builds ARNs from them.
``Names`` derives every resource name from project, environment and pipeline, so names are
predictable, carry all three, and are checked for length in one place (see ``modules.config``).
"""

from __future__ import annotations

from dataclasses import dataclass


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
        """The service principal of one of the services this project trusts, looked up per
        partition (never derived by a string rule: in aws-cn most principals keep
        ``amazonaws.com``, some do not)."""
        return SERVICE_PRINCIPALS[self.partition][service].format(region=self.region)


# Service principals of the services this project names in trust, key, topic and queue policies,
# per partition. AWS documents them per service; in the commercial and GovCloud partitions all of
# these are <service>.amazonaws.com (CloudWatch Logs is regional). China regions (aws-cn) are
# refused by the config (modules/config.py, SUPPORTED_PARTITIONS) rather than guessed here.
_COMMERCIAL_PRINCIPALS = {
    "cloudwatch": "cloudwatch.amazonaws.com",
    "events": "events.amazonaws.com",
    "logging.s3": "logging.s3.amazonaws.com",
    "logs": "logs.{region}.amazonaws.com",
    "sagemaker": "sagemaker.amazonaws.com",
    "scheduler": "scheduler.amazonaws.com",
    "sns": "sns.amazonaws.com",
    "states": "states.amazonaws.com",
}
SERVICE_PRINCIPALS: dict[str, dict[str, str]] = {
    "aws": _COMMERCIAL_PRINCIPALS,
    "aws-us-gov": _COMMERCIAL_PRINCIPALS,
}

# The AWS console per partition (links in failure notifications).
_CONSOLE_HOSTS = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


def console_url(partition: str, region: str, path: str) -> str:
    """A console page in the given partition and region."""
    return f"{_CONSOLE_HOSTS[partition].format(region=region)}/{path}?region={region}"


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

    @staticmethod
    def state_key_alias(bucket: str) -> str:
        """KMS alias of the key that encrypts the state in a bootstrap state bucket (bucket names
        are unique; alias names allow no dots)."""
        return f"alias/tfstate/{bucket.replace('.', '-')}"
