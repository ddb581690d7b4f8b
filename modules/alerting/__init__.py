"""Alerting layer: the environment's alert topic, and what watches each pipeline.

Alerting has two ends in the stack:
- ``AlertTopic`` (modules/alerting/topic.py) comes first (the state machines publish to it): the
  alert key, the encrypted topic, its policy, its subscriptions and the alarm on its failed
  deliveries;
- ``PipelineAlarms`` (modules/alerting/pipeline_alarms.py) comes last and watches one pipeline:
  its alarms, and the transform-job rule (modules/alerting/job_events.py) with its dead-letter
  queue.

Needs: ``Names``, ``AwsContext``, the environment's subscriptions and key settings, and for a
pipeline the state machine and schedule outputs.
"""

from modules.alerting.pipeline_alarms import EXECUTION_ALARM_MEANINGS, PipelineAlarms
from modules.alerting.topic import AlertTopic, AlertTopicOutputs

__all__ = ["EXECUTION_ALARM_MEANINGS", "AlertTopic", "AlertTopicOutputs", "PipelineAlarms"]
