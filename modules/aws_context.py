"""Where a layer is deployed: account, region and partition, and what follows from them.

``AwsContext`` carries the account (a Terraform reference to ``aws_caller_identity`` when the
config pins none), region and partition, and builds ARNs and service principals from them;
``console_url`` builds AWS console links per partition (failure notifications, ops tool).

Needs nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsContext:
    """The account, region and partition a stack deploys to; builds ARNs and principals."""

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

    def service_endpoint(self, service: str) -> str:
        """A service's regional endpoint as ``kms:ViaService`` names it (``s3.<region>.<dns>``)."""
        return f"{service}.{self.region}.{_DNS_SUFFIXES[self.partition]}"


# Service principals of the services this project names in trust, key, topic and queue policies,
# per partition. AWS documents them per service; in the commercial and GovCloud partitions all of
# these are <service>.amazonaws.com (CloudWatch Logs is regional). China regions (aws-cn) are
# refused by the config (modules/config/aws_facts.py, SUPPORTED_PARTITIONS) rather than guessed
# here.
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

# The DNS suffix of service endpoints per partition.
_DNS_SUFFIXES = {"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com"}

# The AWS console per partition (links in failure notifications).
_CONSOLE_HOSTS = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


def console_url(partition: str, region: str, path: str) -> str:
    """A console page in the given partition and region."""
    return f"{_CONSOLE_HOSTS[partition].format(region=region)}/{path}?region={region}"
