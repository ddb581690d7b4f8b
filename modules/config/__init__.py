"""Typed, validated configuration: the only way settings reach the stacks.

A config file (YAML) describes the project, its pipelines and its environments. Each environment
gets the project ``defaults`` deep-merged under its own settings, and each pipeline gets the
environment's ``pipelines.<name>`` overrides deep-merged over its shared definition. The merged
result is validated by pydantic models that forbid unknown keys and know AWS's naming rules, so a
mistake is reported before the (slow) AWS provider bindings are loaded and before anything is
written.

The package, by concern (each module imports only those above it):

- ``rules``: a pattern's rule in words with an example, what every message about a value that
  does not match a pattern says instead of the regex;
- what the config is checked against: ``aws_facts``, the facts AWS states only in prose (limits
  with their pages, time zones, instance storage); ``botocore_facts``, botocore's service models
  and endpoint data through the ``aws_facts.json`` cache (request shapes, Batch Transform instance
  types, regions, partitions); ``aws_names``, the length and pattern rules of the names Names
  builds and the Java-to-Python pattern converter; ``sagemaker_shapes``, values checked against
  SageMaker's request shapes;
- ``folders``: dated input folder pictures (their check, rendering and longest folder), shared
  with ``./ops`` and the execution tests;
- ``fields``: the base model and reusable ``Annotated`` field types and validators (``TfStr``,
  ``TimeZone``, ``AwsRegion``, the ``sagemaker(...)`` request-shape marker, the name patterns
  and their rules);
- the schema: ``model``, ``schedule`` and ``transform`` (the parts of a pipeline), ``pipeline``
  (those parts, alarms, trigger, run options), ``state`` (local or S3), ``environment`` (account,
  region, tags, storage, alerting, pipelines), ``project`` (the whole);
- ``source``: the YAML as written (lines, duplicate keys; aliases and deep nesting refused);
- ``loading``: the file, the environment merge, and one-line error messages.

The schedule arithmetic the freshness alarm and its validation share is ``modules.schedule_window``.
No cdktf or provider code is imported here on purpose: validation must stay fast.
"""

from modules.config.aws_facts import (
    DATA_PROCESSING_CONTENT_TYPES,
    LOG_RETENTION_DAYS,
    MAX_PAYLOAD_MB,
)
from modules.config.aws_names import check_name, name_rule
from modules.config.botocore_facts import partition_of, sagemaker_shape, transform_instance_types
from modules.config.delivery import DeliveryConfig
from modules.config.environment import (
    RESERVED_ENVIRONMENT_NAME,
    RESERVED_PIPELINE_NAME,
    AlertingSettings,
    EnvironmentConfig,
    StorageSettings,
    Subscription,
)
from modules.config.fields import (
    MODEL,
    NO_TERRAFORM_TEMPLATE,
    S3_KEY_PREFIX,
    TRANSFORM,
    AwsName,
    SageMakerField,
    StrictModel,
    TfStr,
)
from modules.config.loading import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    load_config,
    parse_config,
)
from modules.config.model import ModelConfig, VpcConfig
from modules.config.pipeline import AlarmSettings, EventTrigger, PipelineConfig
from modules.config.project import ProjectConfig
from modules.config.sagemaker_shapes import check_shape, describe_shape
from modules.config.schedule import RetryPolicy, ScheduleConfig
from modules.config.shards import ShardsConfig
from modules.config.state import LocalState, S3State
from modules.config.table import TableColumn, TableConfig
from modules.config.transform import DataProcessing, ModelClient, TransformConfig

__all__ = [
    "DATA_PROCESSING_CONTENT_TYPES",
    "DEFAULT_CONFIG_PATH",
    "LOG_RETENTION_DAYS",
    "MAX_PAYLOAD_MB",
    "MODEL",
    "NO_TERRAFORM_TEMPLATE",
    "RESERVED_ENVIRONMENT_NAME",
    "RESERVED_PIPELINE_NAME",
    "S3_KEY_PREFIX",
    "TRANSFORM",
    "AlarmSettings",
    "AlertingSettings",
    "AwsName",
    "ConfigError",
    "DataProcessing",
    "DeliveryConfig",
    "EnvironmentConfig",
    "EventTrigger",
    "LocalState",
    "ModelClient",
    "ModelConfig",
    "PipelineConfig",
    "ProjectConfig",
    "RetryPolicy",
    "S3State",
    "SageMakerField",
    "ScheduleConfig",
    "ShardsConfig",
    "StorageSettings",
    "StrictModel",
    "Subscription",
    "TableColumn",
    "TableConfig",
    "TfStr",
    "TransformConfig",
    "VpcConfig",
    "check_name",
    "check_shape",
    "describe_shape",
    "load_config",
    "name_rule",
    "parse_config",
    "partition_of",
    "sagemaker_shape",
    "transform_instance_types",
]
