"""The project's single, fast entry point to the prebuilt AWS provider bindings of the selected
engine (imports/engine.py: ``cdktf_cdktf_provider_aws``, or ``cdktn_provider_aws``).

The bindings package (``cdktf-cdktf-provider-aws``; ``cdktn-provider-aws`` alike) imports every
one of its ~1,500 resource modules from its package ``__init__`` as soon as anything is imported
from it (about 14 s of Python on a 2-core machine).
The app needs about thirty of them. This module registers the provider package without running
its ``__init__`` and imports only the submodules of the classes actually asked for:

    from imports.aws import S3Bucket  # the jsii assembly + <provider package>.s3_bucket

What makes that safe: the package ``__init__`` only re-exports submodules and the jsii assembly
handle (``from ._jsii import *``); every submodule loads the assembly itself through
``from .._jsii import *``, and jsii registers classes per submodule. A test synthesizes the app
through this path and through a plain import of the provider package and compares the JSON.

If the provider package is already fully imported in the process, it is used as it is. If a future
provider version moves or renames a class, the import fails with a message naming the class, the
module and the installed provider version.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from types import ModuleType
from typing import Any

from imports.engine import installed_engine

# The selected engine's bindings (imports/engine.py): cdktf-cdktf-provider-aws, or on CDK Terrain
# cdktn-provider-aws, with the same module and class names.
_ENGINE = installed_engine()
PROVIDER_PACKAGE = _ENGINE.provider
PROVIDER_DISTRIBUTION = _ENGINE.provider_distribution

# Every provider class the project uses, and the provider submodule that defines it. Keeping the
# list here (and nowhere else) is what makes a provider upgrade or a move to another binding a
# one-file change. Nested blocks that are *lists* must be passed as these struct classes: jsii
# converts a plain dict only where a single struct is expected, and silently drops the keys of
# dicts inside lists.
CLASS_MODULES: dict[str, str] = {
    "AwsProvider": "provider",
    "AwsProviderDefaultTags": "provider",
    "DataAwsCallerIdentity": "data_aws_caller_identity",
    "KmsKey": "kms_key",
    "KmsAlias": "kms_alias",
    "S3Bucket": "s3_bucket",
    "S3BucketVersioningA": "s3_bucket_versioning",
    "S3BucketServerSideEncryptionConfigurationA": "s3_bucket_server_side_encryption_configuration",
    "S3BucketServerSideEncryptionConfigurationRuleA": (
        "s3_bucket_server_side_encryption_configuration"
    ),
    "S3BucketPublicAccessBlock": "s3_bucket_public_access_block",
    "S3BucketPolicy": "s3_bucket_policy",
    "S3BucketOwnershipControls": "s3_bucket_ownership_controls",
    "S3BucketLifecycleConfiguration": "s3_bucket_lifecycle_configuration",
    "S3BucketLifecycleConfigurationRule": "s3_bucket_lifecycle_configuration",
    "S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload": (
        "s3_bucket_lifecycle_configuration"
    ),
    "S3BucketLifecycleConfigurationRuleExpiration": "s3_bucket_lifecycle_configuration",
    "S3BucketLifecycleConfigurationRuleFilter": "s3_bucket_lifecycle_configuration",
    "S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration": (
        "s3_bucket_lifecycle_configuration"
    ),
    "S3BucketLoggingA": "s3_bucket_logging",
    "S3BucketNotification": "s3_bucket_notification",
    "IamRole": "iam_role",
    "IamRolePolicy": "iam_role_policy",
    "IamPolicy": "iam_policy",
    "SagemakerModel": "sagemaker_model",
    "SfnStateMachine": "sfn_state_machine",
    "CloudwatchLogGroup": "cloudwatch_log_group",
    "SchedulerScheduleGroup": "scheduler_schedule_group",
    "SchedulerSchedule": "scheduler_schedule",
    "SqsQueue": "sqs_queue",
    "SqsQueuePolicy": "sqs_queue_policy",
    "SnsTopic": "sns_topic",
    "SnsTopicPolicy": "sns_topic_policy",
    "SnsTopicSubscription": "sns_topic_subscription",
    "LambdaPermission": "lambda_permission",
    "CloudwatchMetricAlarm": "cloudwatch_metric_alarm",
    "CloudwatchEventRule": "cloudwatch_event_rule",
    "CloudwatchEventTarget": "cloudwatch_event_target",
    "CloudwatchDashboard": "cloudwatch_dashboard",
    "SchemasRegistry": "schemas_registry",
    "SchemasSchema": "schemas_schema",
    "GlueCatalogDatabase": "glue_catalog_database",
    "GlueCatalogTable": "glue_catalog_table",
    "GlueCatalogTablePartitionKeys": "glue_catalog_table",
    "GlueCatalogTableStorageDescriptor": "glue_catalog_table",
    "GlueCatalogTableStorageDescriptorColumns": "glue_catalog_table",
    "GlueCatalogTableStorageDescriptorSerDeInfo": "glue_catalog_table",
    "DynamodbTable": "dynamodb_table",
    "DynamodbTableAttribute": "dynamodb_table",
}

__all__ = sorted(CLASS_MODULES)


class ProviderShapeError(ImportError):
    """The installed provider package is not laid out the way this loader expects."""


def provider_version() -> str:
    try:
        return importlib.metadata.version(PROVIDER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _shape_error(detail: str) -> ProviderShapeError:
    return ProviderShapeError(
        f"{PROVIDER_DISTRIBUTION} {provider_version()} does not have the layout imports/aws.py "
        f"expects: {detail}. Update CLASS_MODULES in imports/aws.py for this provider version "
        "(or pin the version in the Pipfile)."
    )


def _provider_package() -> ModuleType:
    """The provider package module, registered without running its eager ``__init__``."""
    package = sys.modules.get(PROVIDER_PACKAGE)
    if package is not None:
        return package
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _shape_error(f"no importable package named {PROVIDER_PACKAGE}")
    package = importlib.util.module_from_spec(spec)
    # A hollow package: submodules load on first use, also for code that does
    # a plain import of the provider package later in the same process and reads an attribute.
    package.__getattr__ = _lazy_submodule  # type: ignore[method-assign]
    sys.modules[PROVIDER_PACKAGE] = package
    try:
        jsii_module = importlib.import_module(f"{PROVIDER_PACKAGE}._jsii")
    except ImportError as error:
        del sys.modules[PROVIDER_PACKAGE]
        raise _shape_error(f"cannot import {PROVIDER_PACKAGE}._jsii ({error})") from error
    if not hasattr(jsii_module, "__jsii_assembly__"):
        del sys.modules[PROVIDER_PACKAGE]
        raise _shape_error(f"{PROVIDER_PACKAGE}._jsii has no __jsii_assembly__")
    package.__jsii_assembly__ = jsii_module.__jsii_assembly__  # type: ignore[attr-defined]
    return package


def _lazy_submodule(name: str) -> ModuleType:
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{PROVIDER_PACKAGE}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {PROVIDER_PACKAGE!r} has no attribute {name!r}") from None


def provider_module(module_name: str) -> ModuleType:
    """Import one provider submodule (e.g. ``"s3_bucket"``) without the rest of the package."""
    _provider_package()
    qualified = f"{PROVIDER_PACKAGE}.{module_name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name == qualified:
            raise _shape_error(f"module {qualified} does not exist") from error
        raise


def __getattr__(name: str) -> Any:
    """``from imports.aws import X`` loads only X's provider submodule."""
    module_name = CLASS_MODULES.get(name)
    if module_name is None:
        raise AttributeError(
            f"imports.aws has no provider class {name!r}; add it to CLASS_MODULES in imports/aws.py"
        )
    module = provider_module(module_name)
    try:
        cls = getattr(module, name)
    except AttributeError:
        raise _shape_error(f"{PROVIDER_PACKAGE}.{module_name} has no class {name}") from None
    globals()[name] = cls  # later lookups are plain attribute reads
    return cls
